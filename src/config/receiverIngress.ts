/**
 * The receiver.yaml keys of issue 19 (more ways in): `udp:`, `curve:`, `http.ingress_listen`,
 * `http.tls_cert` / `http.tls_key`, and per client `curve_public_key` and `max_runtime` (also per
 * resource). Kept apart from ReceiverConfig.ts, which only calls `parseReceiverIngress` and lists
 * these keys as known.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { isCurveKey } from "../support/z85.ts"
import { describeSchemaIssues } from "./configIssues.ts"
import { type ListenAddress, parseListen } from "./listen.ts"

export interface UdpSettings extends ListenAddress {
  /** Datagrams per second one source address may send (a token bucket refilled at this rate). */
  readonly ratePerSource: number
  /** Datagrams a source may send at once before the rate applies. */
  readonly burstPerSource: number
  /** Source addresses remembered for rate limiting; the least recently seen is forgotten first. */
  readonly maxSources: number
}

export interface CurveSettings extends ListenAddress {
  /** A key file from `heartbeat-mesh keygen`: the receiver's secret key. */
  readonly secretKeyFile: string
}

export interface HttpIngressSettings {
  /** Where the ping routes (/ping/...) listen when apart from the API; undefined: on the API's address. */
  readonly ingressListen: ListenAddress | undefined
  /** PEM files: with both, the HTTP server (and the ingress) speak HTTPS. */
  readonly tlsCert: string | undefined
  readonly tlsKey: string | undefined
}

export interface ReceiverIngress {
  readonly udp: UdpSettings | undefined
  readonly curve: CurveSettings | undefined
  readonly http: HttpIngressSettings
  /** Client name -> the only CURVE public key its senders may connect with. */
  readonly curveKeys: ReadonlyMap<string, string>
  /** `max_runtime` (minutes) per client: the client's own and its resources'. */
  readonly maxRuntimes: ReadonlyMap<string, MaxRuntimes>
}

export interface MaxRuntimes {
  readonly client: number | undefined
  readonly resources: ReadonlyMap<string, number>
}

export const defaultUdpRatePerSource = 20
export const defaultUdpBurstPerSource = 40
export const defaultUdpMaxSources = 10_000

const expected = (message: string) => ({ message })

const listenMessage = 'expected "host:port", e.g. "0.0.0.0:50003" or "[::]:50003"'
const Listen = Schema.String.annotate(expected(listenMessage)).check(
  Schema.makeFilter((text: string) => parseListen(text) !== undefined, expected(listenMessage))
)

const positiveInt = (what: string, maximum: number) => {
  const message = `expected a whole number of ${what} from 1 to ${maximum}`
  return Schema.Number.annotate(expected(message)).check(
    Schema.makeFilter((value: number) => Number.isInteger(value) && value >= 1 && value <= maximum ? undefined : message)
  )
}

const Path = Schema.String.annotate(expected("expected a file path")).check(
  Schema.isMinLength(1, expected("expected a file path"))
)

const curveKeyMessage = "expected a CURVE public key: 40 Z85 characters, as heartbeat-mesh keygen writes to its .pub file"
const CurveKey = Schema.String.annotate(expected(curveKeyMessage)).check(
  Schema.makeFilter((text: string) => isCurveKey(text) ? undefined : curveKeyMessage)
)

const maxRuntimeMessage = "expected a positive number of minutes, at most 525600 (one year)"
const MaxRuntime = Schema.Number.annotate(expected(maxRuntimeMessage)).check(
  Schema.makeFilter((minutes: number) => Number.isFinite(minutes) && minutes > 0 && minutes <= 525_600 ? undefined : maxRuntimeMessage)
)

const IngressYaml = Schema.Struct({
  udp: Schema.optionalKey(Schema.Struct({
    listen: Listen,
    rate_per_source: Schema.optionalKey(positiveInt("datagrams per second", 100_000)),
    burst_per_source: Schema.optionalKey(positiveInt("datagrams", 1_000_000)),
    max_sources: Schema.optionalKey(positiveInt("source addresses", 10_000_000))
  }).annotate(expected("expected a mapping with listen (and rate_per_source, burst_per_source, max_sources)"))),
  curve: Schema.optionalKey(Schema.Struct({
    listen: Listen,
    secret_key_file: Path
  }).annotate(expected("expected a mapping with listen and secret_key_file"))),
  http: Schema.optionalKey(Schema.Struct({
    ingress_listen: Schema.optionalKey(Listen),
    tls_cert: Schema.optionalKey(Path),
    tls_key: Schema.optionalKey(Path)
  })),
  clients: Schema.optionalKey(Schema.Record(
    Schema.String,
    Schema.Struct({
      curve_public_key: Schema.optionalKey(CurveKey),
      max_runtime: Schema.optionalKey(MaxRuntime),
      resources: Schema.optionalKey(Schema.Record(Schema.String, Schema.Struct({ max_runtime: Schema.optionalKey(MaxRuntime) })))
    })
  ))
})

const decodeIngressYaml = Schema.decodeUnknownResult(IngressYaml)

/** The receiver.yaml keys this module reads, for ReceiverConfig's unknown-key warnings. */
export const ingressKeys = {
  top: ["udp", "curve"],
  http: ["ingress_listen", "tls_cert", "tls_key"],
  client: ["curve_public_key", "max_runtime"],
  resource: ["max_runtime"]
} as const

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value)

const pick = (value: Record<string, unknown>, keys: ReadonlyArray<string>) =>
  Object.fromEntries(keys.filter((key) => key in value && value[key] !== null).map((key) => [key, value[key]]))

/** Only this module's keys, where the surrounding shape is right (ReceiverConfig reports the rest). */
const ingressKeysOf = (raw: unknown) => {
  if (!isRecord(raw)) return {}
  const clients: Record<string, unknown> = {}
  for (const [name, client] of Object.entries(isRecord(raw["clients"]) ? raw["clients"] : {})) {
    if (!isRecord(client)) continue
    const resources: Record<string, unknown> = {}
    for (const [resource, settings] of Object.entries(isRecord(client["resources"]) ? client["resources"] : {})) {
      if (isRecord(settings) && "max_runtime" in settings) resources[resource] = pick(settings, ingressKeys.resource)
    }
    clients[name] = { ...pick(client, ingressKeys.client), resources }
  }
  return {
    ...pick(raw, ingressKeys.top),
    ...(isRecord(raw["http"]) ? { http: pick(raw["http"], ingressKeys.http) } : {}),
    clients
  }
}

export const noReceiverIngress: ReceiverIngress = {
  udp: undefined,
  curve: undefined,
  http: { ingressListen: undefined, tlsCert: undefined, tlsKey: undefined },
  curveKeys: new Map(),
  maxRuntimes: new Map()
}

/** Reads the ingress keys of a receiver.yaml document (already parsed YAML); every problem is listed. */
export const parseReceiverIngress = (raw: unknown): Result.Result<ReceiverIngress, ReadonlyArray<string>> => {
  const only = ingressKeysOf(raw)
  const decoded = decodeIngressYaml(only, { errors: "all" })
  if (Result.isFailure(decoded)) return Result.fail(describeSchemaIssues(decoded.failure, only))
  const yaml = decoded.success
  const problems: Array<string> = []
  const http = yaml.http ?? {}
  if ((http.tls_cert === undefined) !== (http.tls_key === undefined)) {
    problems.push("http: tls_cert and tls_key go together (a PEM certificate chain and its private key)")
  }
  const owners = new Map<string, string>()
  const curveKeys = new Map<string, string>()
  const maxRuntimes = new Map<string, MaxRuntimes>()
  for (const [name, client] of Object.entries(yaml.clients ?? {})) {
    if (client.curve_public_key !== undefined) {
      const owner = owners.get(client.curve_public_key)
      if (owner !== undefined) problems.push(`clients.${name}.curve_public_key: the same key as client ${owner}; pin one key per client`)
      owners.set(client.curve_public_key, name)
      curveKeys.set(name, client.curve_public_key)
    }
    const resources = new Map(Object.entries(client.resources ?? {}).flatMap(([resource, settings]) =>
      settings.max_runtime === undefined ? [] : [[resource, settings.max_runtime] as const]
    ))
    if (client.max_runtime !== undefined || resources.size > 0) maxRuntimes.set(name, { client: client.max_runtime, resources })
  }
  if (problems.length > 0) return Result.fail(problems)
  const listen = (text: string) => parseListen(text)!
  return Result.succeed({
    udp: yaml.udp === undefined ? undefined : {
      ...listen(yaml.udp.listen),
      ratePerSource: yaml.udp.rate_per_source ?? defaultUdpRatePerSource,
      burstPerSource: yaml.udp.burst_per_source ?? Math.max(yaml.udp.rate_per_source ?? 0, defaultUdpBurstPerSource),
      maxSources: yaml.udp.max_sources ?? defaultUdpMaxSources
    },
    curve: yaml.curve === undefined ? undefined : { ...listen(yaml.curve.listen), secretKeyFile: yaml.curve.secret_key_file },
    http: {
      ingressListen: http.ingress_listen === undefined ? undefined : listen(http.ingress_listen),
      tlsCert: http.tls_cert,
      tlsKey: http.tls_key
    },
    curveKeys,
    maxRuntimes
  })
}

/** The clients with their and their resources' `max_runtime` filled in (ReceiverConfig's hook). */
export const withMaxRuntimes = <C extends { readonly name: string; readonly resources: ReadonlyMap<string, object> }>(
  clients: ReadonlyArray<C>,
  ingress: ReceiverIngress
): ReadonlyArray<C> =>
  clients.map((client) => {
    const entry = ingress.maxRuntimes.get(client.name)
    if (entry === undefined) return client
    const resources = new Map([...client.resources].map(([resource, settings]) => {
      const minutes = entry.resources.get(resource)
      return [resource, minutes === undefined ? settings : { ...settings, maxRuntimeMinutes: minutes }] as const
    }))
    return { ...client, resources, ...(entry.client === undefined ? {} : { maxRuntimeMinutes: entry.client }) }
  })
