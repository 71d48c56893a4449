import { hash } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { join } from "node:path"

/**
 * Heartbeat file names (SPEC 3.3). The deployed receiver names a resource's file after the resource
 * with spaces and dots turned into `_` (`host1.example.com` -> `host1_example_com.json`), in a folder
 * named after the client in lower case (`Acme.Corp` -> `acme.corp/`). Ours does the same, except for
 * the names that would break it, which get the safe name `<readable prefix>~<20 hex digits>.json`:
 * - names that could leave the folder or are no file name at all (`/`, NUL; a folder `.` or `..`);
 * - names whose file name would pass the file-name limit (255 bytes, with room for `.json.tmp`);
 * - names that already look like a safe name (ending in `~` and 20 hex digits);
 * - a resource whose deployed file name is already another resource's (`a.b` and `a_b` and `a b`
 *   all make `a_b.json`): the first one keeps it, the later ones get the safe name (see
 *   `ResourceFileNames`).
 */

/** Longest file name most file systems take, in bytes. */
export const maxFileNameBytes = 255
// The writer writes `<name>.tmp` next to the file before renaming it into place.
const reservedSuffixBytes = ".json.tmp".length

const safeNamePattern = /~[0-9a-f]{20}$/

/** The deployed receiver's file name for a resource, without `.json`. */
export const deployedFileName = (resource: string): string => resource.replaceAll(" ", "_").replaceAll(".", "_")

/** The deployed receiver's folder for a client: its name in lower case. */
export const deployedFolderName = (client: string): string => client.toLowerCase()

const fitsFileName = (name: string) => Buffer.byteLength(name, "utf8") + reservedSuffixBytes <= maxFileNameBytes

/** The deployed file name can be used as it is: it stays in its folder and fits the limit. */
export const deployedFileNameUsable = (resource: string): boolean => {
  const name = deployedFileName(resource)
  return name.length > 0 && !name.includes("/") && !name.includes("\0") && fitsFileName(name) && !safeNamePattern.test(name)
}

/**
 * A name that can never leave its folder, never collides with another name's (80 bits of SHA-256
 * over the full name) and never reads as a deployed name: the deployed name's first 80 characters
 * with anything but letters, digits, `-` and `_` as `_`, then `~` and the digest.
 */
export const safeName = (name: string): string =>
  `${deployedFileName(name).slice(0, 80).replace(/[^A-Za-z0-9_\-]/g, "_")}~${hash("sha256", name, "hex").slice(0, 20)}`

/** The folder for a client: the deployed one, or the safe name when that could leave `current/`. */
export const clientFolderName = (client: string): string => {
  const folder = deployedFolderName(client)
  const usable = folder.length > 0 && folder !== "." && folder !== ".." && !folder.includes("/") &&
    !folder.includes("\0") && Buffer.byteLength(folder, "utf8") <= maxFileNameBytes && !safeNamePattern.test(folder)
  return usable ? folder : safeName(folder)
}

/** "YYYY-MM-DD HH:MM:SS" in UTC, as the deployed heartbeat files have it. */
export const utcStamp = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace("T", " ")

/** Which resource a heartbeat file's text is about, from its first line; undefined when it cannot tell. */
const resourceOf = (text: string | undefined): string | undefined => {
  if (text === undefined) return undefined
  try {
    const first = JSON.parse(text.split("\n", 1)[0]!) as { resource?: unknown }
    return typeof first.resource === "string" ? first.resource : undefined
  } catch {
    return undefined
  }
}

const readOrUndefined = async (path: string): Promise<string | undefined> => {
  try {
    return await readFile(path, "utf8")
  } catch {
    return undefined
  }
}

// existsSync first: most names asked about have no file yet, and a thrown ENOENT (an Error with its
// stack) cost several times the stat on the writer thread (measured after a restart: 137 -> 78 us a resource, both files written).
const readOrUndefinedSync = (path: string): string | undefined => {
  if (!existsSync(path)) return undefined
  try {
    return readFileSync(path, "utf8")
  } catch {
    return undefined
  }
}

/**
 * The decision, as a generator over the current files it needs to read: it yields a path and is
 * given back that file's text (undefined when there is none). `fileFor` reads them asynchronously,
 * `fileForSync` (the heartbeat files' writer thread) synchronously: one decision for both.
 */
type Choice = Generator<string, string, string | undefined>

/**
 * Decides each resource's file name once per run, first come first served, and stable across
 * restarts because the files themselves say whose they are: a resource keeps the deployed name
 * unless a current file of that name holds another resource (or another resource took it earlier
 * in this run); a resource that has a current file under its safe name keeps that one.
 */
export class ResourceFileNames {
  private readonly decided = new Map<string, string>()
  /** folder + "/" + file name -> the resource that has it, for names decided in this run. */
  private readonly owners = new Map<string, string>()
  private readonly currentRoot: string

  /** `currentRoot`: the `current/` folder the files of record live in. */
  constructor(currentRoot: string) {
    this.currentRoot = currentRoot
  }

  /** The file name (with `.json`) for a resource of a client whose folder is `folder`. */
  async fileFor(folder: string, resource: string): Promise<string> {
    const known = this.decided.get(`${folder}/${resource}`)
    if (known !== undefined) return known
    const choice = this.choose(folder, resource)
    let step = choice.next()
    while (!step.done) step = choice.next(await readOrUndefined(step.value))
    // While this one read the disk, the same resource may have been decided, or another resource
    // may have taken the name: checked and claimed in one synchronous step.
    return this.claim(folder, resource, step.value)
  }

  /** `fileFor` with synchronous reads, for a caller that decides one name at a time (the writer thread). */
  fileForSync(folder: string, resource: string): string {
    const known = this.decided.get(`${folder}/${resource}`)
    if (known !== undefined) return known
    const choice = this.choose(folder, resource)
    let step = choice.next()
    while (!step.done) step = choice.next(readOrUndefinedSync(step.value))
    return this.claim(folder, resource, step.value)
  }

  /** Forgets a resource whose files were removed (deregistration): its name is free again. */
  forget(folder: string, resource: string): void {
    const key = `${folder}/${resource}`
    const name = this.decided.get(key)
    if (name === undefined) return
    this.decided.delete(key)
    if (this.owners.get(`${folder}/${name}`) === resource) this.owners.delete(`${folder}/${name}`)
  }

  private claim(folder: string, resource: string, choice: string): string {
    const key = `${folder}/${resource}`
    const raced = this.decided.get(key)
    if (raced !== undefined) return raced
    let chosen = choice
    const owner = this.owners.get(`${folder}/${chosen}`)
    if (owner !== undefined && owner !== resource) chosen = `${safeName(resource)}.json`
    this.decided.set(key, chosen)
    this.owners.set(`${folder}/${chosen}`, resource)
    return chosen
  }

  private *choose(folder: string, resource: string): Choice {
    const safe = `${safeName(resource)}.json`
    if (!deployedFileNameUsable(resource)) return safe
    const plain = `${deployedFileName(resource)}.json`
    if (resourceOf(yield join(this.currentRoot, folder, safe)) === resource) return safe
    const owner = this.owners.get(`${folder}/${plain}`) ?? resourceOf(yield join(this.currentRoot, folder, plain))
    return owner === undefined || owner === resource ? plain : safe
  }
}
