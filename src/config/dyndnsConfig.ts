/**
 * The receiver.yaml key of issue 18.4, dynamic DNS: per resource
 * `dyndns: { zone, name, server, tsig_key_file, ttl }`. Kept apart from ReceiverConfig.ts, which
 * calls `parseDyndnsConfig` (pure: the shape of every value) and, when it loads the file,
 * `loadDyndnsKeys` (reads each `tsig_key_file`: a BIND key file as `tsig-keygen` writes it). The
 * key's secret is held as `Redacted`: it is never logged, echoed in a problem, or written anywhere.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { readFile, stat } from "node:fs/promises"
import { isIP } from "node:net"
import { describeSchemaIssues } from "./configIssues.ts"

/** TSIG algorithms (RFC 8945 section 6) by the name BIND writes in a key file, with their node:crypto hash. */
export const tsigAlgorithms = {
  "hmac-sha256": "sha256",
  "hmac-sha512": "sha512",
  "hmac-sha384": "sha384",
  "hmac-sha224": "sha224",
  "hmac-sha1": "sha1",
  "hmac-md5": "md5"
} as const
export type TsigAlgorithm = keyof typeof tsigAlgorithms

export interface TsigKey {
  /** The key's name, as the server knows it (lower case, no trailing dot). */
  readonly name: string
  readonly algorithm: TsigAlgorithm
  readonly secret: Redacted.Redacted<Uint8Array>
}

export interface DyndnsServer {
  readonly host: string
  readonly port: number
}

export interface DyndnsSettings {
  /** The zone the update is sent for (lower case, no trailing dot). */
  readonly zone: string
  /** The record's full name, in the zone (lower case, no trailing dot). */
  readonly name: string
  /** The primary server that takes updates for the zone. */
  readonly server: DyndnsServer
  readonly tsigKeyFile: string
  /** TTL of the address record written, in seconds. */
  readonly ttl: number
  /** The key read from `tsigKeyFile` (filled in by `loadDyndnsKeys` when the file is loaded). */
  readonly key?: TsigKey | undefined
}

export const defaultDyndnsTtl = 60
export const dyndnsTtlRange = { min: 0, max: 86_400 }
export const defaultDnsPort = 53

const expected = (message: string) => ({ message })

const labelPattern = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/

/** A DNS name as written (trailing dot optional) in its canonical form; undefined when it is not one. */
export const dnsName = (text: string): string | undefined => {
  const name = text.toLowerCase().replace(/\.$/, "")
  if (name === "" || name.length > 253) return undefined
  return name.split(".").every((label) => labelPattern.test(label)) ? name : undefined
}

const dnsNameMessage = "expected a DNS name: labels of letters, digits, - and _ (1-63 characters each) joined by dots, e.g. dyn.example.com"
const DnsName = Schema.String.annotate(expected(dnsNameMessage)).check(
  Schema.makeFilter((text: string) => dnsName(text) === undefined ? dnsNameMessage : undefined)
)

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 literal; the port defaults to 53. */
export const parseDnsServer = (text: string): DyndnsServer | undefined => {
  const port = (digits: string | undefined) => {
    if (digits === undefined) return defaultDnsPort
    const value = Number(digits)
    return value >= 1 && value <= 65535 ? value : undefined
  }
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(text)
  if (bracketed !== null) {
    const p = port(bracketed[2])
    return isIP(bracketed[1]!) === 6 && p !== undefined ? { host: bracketed[1]!, port: p } : undefined
  }
  if (isIP(text) === 6) return { host: text, port: defaultDnsPort }
  const plain = /^([^:\[\]]+)(?::(\d{1,5}))?$/.exec(text)
  if (plain === null) return undefined
  const p = port(plain[2])
  const host = plain[1]!
  if (p === undefined) return undefined
  if (isIP(host) === 4) return { host, port: p }
  const name = dnsName(host)
  return name === undefined ? undefined : { host: name, port: p }
}

const serverMessage = 'expected the DNS server as "host" or "host:port" (port 53 by default), e.g. "ns1.example.com" or "192.0.2.53:53" or "[2001:db8::53]:53"'
const Server = Schema.String.annotate(expected(serverMessage)).check(
  Schema.makeFilter((text: string) => parseDnsServer(text) === undefined ? serverMessage : undefined)
)

const ttlMessage = `expected a whole number of seconds from ${dyndnsTtlRange.min} to ${dyndnsTtlRange.max}`
const Ttl = Schema.Number.annotate(expected(ttlMessage)).check(
  Schema.makeFilter((value: number) => Number.isInteger(value) && value >= dyndnsTtlRange.min && value <= dyndnsTtlRange.max ? undefined : ttlMessage)
)

const DyndnsEntry = Schema.Struct({
  zone: DnsName,
  name: DnsName,
  server: Server,
  tsig_key_file: Schema.String.annotate(expected("expected a file path (a BIND key file, as tsig-keygen writes it)")).check(
    Schema.isMinLength(1, expected("expected a file path (a BIND key file, as tsig-keygen writes it)"))
  ),
  ttl: Schema.optionalKey(Ttl)
}).annotate(expected("expected a mapping with zone, name, server, tsig_key_file (and ttl)"))

const DyndnsYaml = Schema.Struct({
  clients: Schema.Record(Schema.String, Schema.Struct({ resources: Schema.Record(Schema.String, Schema.Struct({ dyndns: DyndnsEntry })) }))
})

const decodeDyndnsYaml = Schema.decodeUnknownResult(DyndnsYaml)

/** The receiver.yaml keys this module reads, for ReceiverConfig's unknown-key warnings. */
export const dyndnsKeys = { resource: ["dyndns"] } as const

/** Where receiver.yaml holds text under `dyndns:` (an unquoted number stays as written). */
export const dyndnsTextPaths = ["zone", "name", "server", "tsig_key_file"].map((key) => ["clients", "*", "resources", "*", "dyndns", key])

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value)

/** Client -> resource -> its dynamic DNS settings. */
export type DyndnsTargets = ReadonlyMap<string, ReadonlyMap<string, DyndnsSettings>>

/** Reads every resource's `dyndns:` of a receiver.yaml document (already parsed YAML); every problem is listed. */
export const parseDyndnsConfig = (raw: unknown): Result.Result<DyndnsTargets, ReadonlyArray<string>> => {
  const clients: Record<string, { resources: Record<string, unknown> }> = {}
  for (const [client, settings] of Object.entries(isRecord(raw) && isRecord(raw["clients"]) ? raw["clients"] : {})) {
    if (!isRecord(settings) || !isRecord(settings["resources"])) continue
    const resources: Record<string, unknown> = {}
    for (const [resource, entry] of Object.entries(settings["resources"])) {
      if (isRecord(entry) && "dyndns" in entry) resources[resource] = { dyndns: entry["dyndns"] }
    }
    if (Object.keys(resources).length > 0) clients[client] = { resources }
  }
  const only = { clients }
  const decoded = decodeDyndnsYaml(only, { errors: "all" })
  if (Result.isFailure(decoded)) return Result.fail(describeSchemaIssues(decoded.failure, only))
  const problems: Array<string> = []
  const targets = new Map<string, Map<string, DyndnsSettings>>()
  const owners = new Map<string, string>()
  for (const [client, { resources }] of Object.entries(decoded.success.clients)) {
    const perClient = new Map<string, DyndnsSettings>()
    for (const [resource, { dyndns }] of Object.entries(resources)) {
      const where = `clients.${client}.resources.${resource}.dyndns`
      const zone = dnsName(dyndns.zone)!
      const name = dnsName(dyndns.name)!
      if (name !== zone && !name.endsWith(`.${zone}`)) {
        problems.push(`${where}.name: "${name}" is not in the zone ${zone}; give the record's full name, e.g. ${name.split(".")[0]}.${zone}`)
        continue
      }
      const owner = owners.get(name)
      if (owner !== undefined) {
        problems.push(`${where}.name: ${name} is already updated for ${owner}; one resource per name (two would overwrite each other's address)`)
        continue
      }
      owners.set(name, `clients.${client}.resources.${resource}`)
      perClient.set(resource, {
        zone,
        name,
        server: parseDnsServer(dyndns.server)!,
        tsigKeyFile: dyndns.tsig_key_file,
        ttl: dyndns.ttl ?? defaultDyndnsTtl
      })
    }
    targets.set(client, perClient)
  }
  return problems.length > 0 ? Result.fail(problems) : Result.succeed(targets)
}

/** The clients with their resources' `dyndns` filled in (ReceiverConfig's hook). */
export const withDyndns = <C extends { readonly name: string; readonly resources: ReadonlyMap<string, object> }>(
  clients: ReadonlyArray<C>,
  targets: DyndnsTargets
): ReadonlyArray<C> =>
  clients.map((client) => {
    const entry = targets.get(client.name)
    if (entry === undefined) return client
    const resources = new Map([...client.resources].map(([resource, settings]) => {
      const dyndns = entry.get(resource)
      return [resource, dyndns === undefined ? settings : { ...settings, dyndns }] as const
    }))
    return { ...client, resources }
  })

/** The text with BIND's comments (hash, double slash, slash-star blocks) blanked out, quoted strings kept as they are (a base64 secret may hold `//`). */
const withoutComments = (text: string): string => {
  let out = ""
  let index = 0
  while (index < text.length) {
    const char = text[index]!
    if (char === '"') {
      const end = text.indexOf('"', index + 1)
      const stop = end === -1 ? text.length : end + 1
      out += text.slice(index, stop)
      index = stop
    } else if (char === "#" || text.startsWith("//", index)) {
      const end = text.indexOf("\n", index)
      index = end === -1 ? text.length : end
      out += " "
    } else if (text.startsWith("/*", index)) {
      const end = text.indexOf("*/", index + 2)
      index = end === -1 ? text.length : end + 2
      out += " "
    } else {
      out += char
      index++
    }
  }
  return out
}

/**
 * Reads a BIND key file (`key "name" { algorithm hmac-sha256; secret "base64"; };`, comments
 * allowed, as `tsig-keygen` and `ddns-confgen` write it). One key per file. A problem names what
 * is wrong and never quotes the secret.
 */
export const parseTsigKeyFile = (text: string): Result.Result<TsigKey, string> => {
  const clean = withoutComments(text)
  const blocks = [...clean.matchAll(/key\s+(?:"([^"]+)"|([A-Za-z0-9_.-]+))\s*\{([^}]*)\}\s*;?/g)]
  if (blocks.length === 0) return Result.fail('expected a BIND key file: key "name" { algorithm hmac-sha256; secret "..."; }; (as tsig-keygen writes it)')
  if (blocks.length > 1) return Result.fail(`holds ${blocks.length} keys; put the one key for this update in its own file`)
  const [, quoted, bare, body] = blocks[0]!
  const name = dnsName((quoted ?? bare)!)
  if (name === undefined) return Result.fail("the key's name is not a DNS name (letters, digits, - and _ joined by dots)")
  const algorithm = /(?:^|[;\s])algorithm\s+"?([A-Za-z0-9.-]+)"?\s*;/.exec(body!)?.[1]?.toLowerCase().replace(/\.sig-alg\.reg\.int\.?$/, "")
  if (algorithm === undefined) return Result.fail("the key has no algorithm (e.g. algorithm hmac-sha256;)")
  if (!(algorithm in tsigAlgorithms)) {
    return Result.fail(`the key's algorithm ${algorithm} is not one of ${Object.keys(tsigAlgorithms).join(", ")}`)
  }
  const secret = /(?:^|[;\s])secret\s+"([^"]*)"\s*;/.exec(body!)?.[1]?.replace(/\s+/g, "")
  if (secret === undefined) return Result.fail('the key has no secret (secret "base64";)')
  if (secret === "" || !/^[A-Za-z0-9+/]+={0,2}$/.test(secret) || secret.length % 4 !== 0) {
    return Result.fail("the key's secret is not base64")
  }
  return Result.succeed({ name, algorithm: algorithm as TsigAlgorithm, secret: Redacted.make(new Uint8Array(Buffer.from(secret, "base64"))) })
}

/**
 * Reads the key file of every resource with `dyndns:` (each file once) and puts its key in the
 * settings. Problems (unreadable file, not a key file) are listed with the resource's path, so a
 * bad key file refuses the start or a reload like any other setting. Warnings: a key file others
 * may read.
 */
export const loadDyndnsKeys = <C extends { readonly name: string; readonly resources: ReadonlyMap<string, { readonly dyndns?: DyndnsSettings | undefined }> }>(
  clients: ReadonlyArray<C>
): Effect.Effect<{ readonly clients: ReadonlyArray<C>; readonly problems: ReadonlyArray<string>; readonly warnings: ReadonlyArray<string> }> =>
  Effect.gen(function*() {
    const files = new Map<string, Result.Result<TsigKey, string>>()
    const warnings: Array<string> = []
    const problems: Array<string> = []
    for (const client of clients) {
      for (const settings of client.resources.values()) {
        const path = settings.dyndns?.tsigKeyFile
        if (path === undefined || files.has(path)) continue
        const read = yield* Effect.promise(async () => {
          try {
            const info = await stat(path)
            return { text: await readFile(path, "utf8"), mode: info.mode }
          } catch (error) {
            return { error: (error as NodeJS.ErrnoException).code ?? (error as Error).message }
          }
        })
        if ("error" in read) {
          files.set(path, Result.fail(`cannot read ${path} (${read.error})`))
          continue
        }
        if ((read.mode & 0o004) !== 0) warnings.push(`${path}: the TSIG key file is readable by every user; chmod o-r it`)
        const parsed = parseTsigKeyFile(read.text)
        files.set(path, Result.isFailure(parsed) ? Result.fail(`${path}: ${parsed.failure}`) : parsed)
      }
    }
    const filled = clients.map((client) => {
      let changed = false
      const resources = new Map([...client.resources].map(([resource, settings]) => {
        const dyndns = settings.dyndns
        if (dyndns === undefined) return [resource, settings] as const
        const key = files.get(dyndns.tsigKeyFile)!
        if (Result.isFailure(key)) {
          problems.push(`clients.${client.name}.resources.${resource}.dyndns.tsig_key_file: ${key.failure}`)
          return [resource, settings] as const
        }
        changed = true
        return [resource, { ...settings, dyndns: { ...dyndns, key: key.success } }] as const
      }))
      return changed ? { ...client, resources } : client
    })
    return { clients: filled, problems, warnings }
  })
