// The heartbeat files' writer thread (a worker_threads Worker started by HeartbeatFiles.ts): takes
// one batch at a time, writes it with synchronous file calls, and answers with what failed. File
// system calls cost the receiver's event loop nothing here, and a slow disk delays only the files.
// Plain TypeScript over node: builtins and fileNames.ts, so the worker loads without the app. File
// names are decided here, by fileNames.ts's ResourceFileNames, one resource at a time.
import { closeSync, constants, fstatSync, ftruncateSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs"
import { join } from "node:path"
import { parentPort, workerData } from "node:worker_threads"
import { clientFolderName, ResourceFileNames } from "./fileNames.ts"

/** What the writer is started with (workerData). */
export interface WriterSettings {
  /** Holds `current/` and `history/`. */
  readonly directory: string
  /** A history file is rotated before an append would take it past this many bytes. */
  readonly historyMaxBytes: number
  /** Rotated copies kept (`<file>.1` newest ... `<file>.<keep>` oldest); 0: the history restarts. */
  readonly historyKeep: number
}

/**
 * The lines of one write (a second's heartbeats). The heartbeats' history lines (as `heartbeatLine`
 * makes them, + "\n") lie one after another in `bytes` (its first `used` bytes); line `i` starts at
 * `lines[3i]`, is `lines[3i+1]` bytes long, and `lines[3i+2]` is the index of the same resource's
 * line before it (-1 for its first in this write), so the main thread only appends. Moved here
 * with the write's first slice, held for its other slices, moved back with its last slice's answer.
 */
export interface WriteBuffers {
  readonly bytes: ArrayBuffer
  readonly used: number
  readonly lines: ArrayBuffer
}

/**
 * One slice of a write: at most `maxSliceResources` resources, so neither thread ever holds a whole
 * fleet's names at once. `buffers` on the write's first slice; `final` on its last. Per resource,
 * `names` holds client and resource, `last` the index of its newest line (-1: none), `current` a
 * current-file content (a `heartbeatLine`, no newline) that replaces the newest line's (rare; ""
 * otherwise), and `remove` 1 when the resource's files go first (a deregistration).
 */
export interface WriteBatch {
  readonly id: number
  readonly buffers: WriteBuffers | undefined
  readonly final: boolean
  readonly names: ReadonlyArray<string>
  readonly last: Int32Array
  readonly current: ReadonlyArray<string>
  readonly remove: Uint8Array
}

export interface BatchWritten {
  readonly id: number
  /** Files written (current replaced, history appended). */
  readonly written: number
  /** History files rotated. */
  readonly rotated: number
  /** Failures, each naming its resource and what failed (never a payload or a token). */
  readonly errors: ReadonlyArray<string>
  /** With the last slice: the write's buffers, back for the next one. */
  readonly buffers: { readonly bytes: ArrayBuffer; readonly lines: ArrayBuffer } | undefined
}

/** Resources per slice of a write (the bound on what one message carries between the threads). */
export const maxSliceResources = 10_000

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).split("\n")[0]!

const isMissing = (error: unknown) => (error as { code?: unknown }).code === "ENOENT"

const space = 0x20
const readWriteCreate = constants.O_RDWR | constants.O_CREAT

/** Writes batches into `settings.directory`; `folders` remembers the folders known to exist. */
export const makeBatchWriter = (settings: WriterSettings) => {
  const folders = new Set<string>()
  const fileNames = new ResourceFileNames(join(settings.directory, "current"))
  const ensureFolder = (path: string) => {
    if (folders.has(path)) return
    mkdirSync(path, { recursive: true })
    folders.add(path)
  }
  /** Runs `action` in `folder`, creating it (again: someone may have removed it) when missing. */
  const inFolder = (folder: string, action: () => void) => {
    ensureFolder(folder)
    try {
      action()
    } catch (error) {
      if (!isMissing(error)) throw error
      folders.delete(folder)
      ensureFolder(folder)
      action()
    }
  }

  /**
   * Rewrites a current file in place (as the deployed receiver's open "w" did, but never empty). A
   * reader never finds it empty or cut: a shorter new content is first written padded with spaces
   * to the old length (still one JSON value), then the file is cut to length. Measured on ext4: a temporary file renamed over the old one cost 8x the CPU and
   * 20x the time (ext4 pushes the new file's data to disk on such a rename), truncating to zero
   * first 3x.
   */
  const replace = (path: string, content: Uint8Array) => {
    // Read-write, created when missing, never truncated on open: no thrown ENOENT for a new file
    // (an exception per file cost more than the open itself).
    const fd = openSync(path, readWriteCreate, 0o666)
    try {
      const oldSize = fstatSync(fd).size
      if (oldSize > content.length) {
        const padded = Buffer.alloc(oldSize, space)
        padded.set(content)
        writeSync(fd, padded, 0, oldSize, 0)
        ftruncateSync(fd, content.length)
      } else {
        writeSync(fd, content, 0, content.length, 0)
      }
    } finally {
      closeSync(fd)
    }
  }

  const rotate = (path: string) => {
    for (let copy = settings.historyKeep - 1; copy >= 1; copy--) {
      try {
        renameSync(`${path}.${copy}`, `${path}.${copy + 1}`)
      } catch (error) {
        if (!isMissing(error)) throw error
      }
    }
    if (settings.historyKeep >= 1) renameSync(path, `${path}.1`)
    else rmSync(path, { force: true })
  }

  /** Appends `content`, rotating first when it would take the file past the limit; true if rotated. */
  const append = (path: string, content: Uint8Array): boolean => {
    let fd = openSync(path, "a")
    let rotated = false
    try {
      const size = fstatSync(fd).size
      if (size > 0 && size + content.length > settings.historyMaxBytes) {
        closeSync(fd)
        fd = -1
        rotate(path)
        rotated = true
        fd = openSync(path, "a")
      }
      writeSync(fd, content)
    } finally {
      if (fd >= 0) closeSync(fd)
    }
    return rotated
  }

  const removeAll = (path: string) => {
    rmSync(path, { force: true })
    for (let copy = 1; copy <= settings.historyKeep; copy++) rmSync(`${path}.${copy}`, { force: true })
  }

  return (batch: WriteBatch, buffers: WriteBuffers): Omit<BatchWritten, "buffers"> => {
    let written = 0
    let rotated = 0
    const errors: Array<string> = []
    const bytes = new Uint8Array(buffers.bytes, 0, buffers.used)
    const lines = new Int32Array(buffers.lines)
    const names = batch.names
    const lineBytes = (line: number) => bytes.subarray(lines[3 * line]!, lines[3 * line]! + lines[3 * line + 1]!)
    for (let item = 0; item < batch.last.length; item++) {
      const client = names[2 * item]!
      const resource = names[2 * item + 1]!
      const name = `${client}/${resource.slice(0, 120)}`
      const attempt = (what: string, action: () => void) => {
        try {
          action()
        } catch (error) {
          errors.push(`${name}: ${what}: ${messageOf(error)}`)
        }
      }
      let folder = ""
      let file = ""
      attempt("file name", () => {
        folder = clientFolderName(client)
        file = fileNames.fileForSync(folder, resource)
      })
      if (file === "") continue
      const currentDir = join(settings.directory, "current", folder)
      const historyDir = join(settings.directory, "history", folder)
      if (batch.remove[item] === 1) {
        attempt("remove current", () => rmSync(join(currentDir, file), { force: true }))
        attempt("remove history", () => removeAll(join(historyDir, file)))
        // Its name is free again; lines after the deregistration decide it afresh.
        fileNames.forget(folder, resource)
        if (batch.last[item]! >= 0 || batch.current[item] !== "") {
          file = ""
          attempt("file name", () => {
            file = fileNames.fileForSync(folder, resource)
          })
          if (file === "") continue
        }
      }
      // This resource's lines, oldest first.
      const own: Array<Uint8Array> = []
      for (let line = batch.last[item]!; line >= 0; line = lines[3 * line + 2]!) own.push(lineBytes(line))
      own.reverse()
      // The current file is the newest line without its newline, as json.dump left it.
      const newest = own.at(-1)
      const current = batch.current[item] !== ""
        ? Buffer.from(batch.current[item]!, "latin1")
        : newest?.subarray(0, newest.length - 1)
      if (current !== undefined) {
        attempt("write current", () =>
          inFolder(currentDir, () => {
            replace(join(currentDir, file), current)
            written++
          }))
      }
      if (own.length > 0) {
        attempt("append history", () =>
          inFolder(historyDir, () => {
            if (append(join(historyDir, file), own.length === 1 ? own[0]! : Buffer.concat(own))) rotated++
            written++
          }))
      }
    }
    return { id: batch.id, written, rotated, errors }
  }
}

if (parentPort !== null && workerData !== null && typeof workerData === "object" && "historyMaxBytes" in workerData) {
  const port = parentPort
  const write = makeBatchWriter(workerData as WriterSettings)
  /** The buffers of the write whose slices are coming. */
  let held: WriteBuffers | undefined = undefined
  port.on("message", (batch: WriteBatch) => {
    if (batch.buffers !== undefined) held = batch.buffers
    let answer: Omit<BatchWritten, "buffers">
    try {
      if (held === undefined) throw new Error("a slice without its write's lines")
      answer = write(batch, held)
    } catch (error) {
      answer = { id: batch.id, written: 0, rotated: 0, errors: [`batch: ${messageOf(error)}`] }
    }
    const back = batch.final && held !== undefined ? { bytes: held.bytes, lines: held.lines } : undefined
    if (batch.final) held = undefined
    port.postMessage({ ...answer, buffers: back }, back === undefined ? [] : [back.bytes, back.lines])
  })
}
