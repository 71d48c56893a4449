/**
 * The sender.yaml keys of issue 19: per receiver, `transport` (zmq, curve, udp, http) and what it
 * needs: `curve_server_key` and optionally `curve_key_file` (curve), `url` (http). Kept apart from
 * SenderConfig.ts, which only calls `parseSenderTransports`.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { isCurveKey } from "../support/z85.ts"
import { describeSchemaIssues } from "./configIssues.ts"

export const transports = ["zmq", "curve", "udp", "http"] as const
export type TransportKind = (typeof transports)[number]

export type SenderTransport =
  | { readonly kind: "zmq" }
  | {
    readonly kind: "curve"
    /** The receiver's public key (its `keygen` .pub file). */
    readonly serverKey: string
    /** This sender's key pair (`keygen` .key file), for receivers that pin client keys; else a fresh pair per run. */
    readonly keyFile: string | undefined
  }
  | { readonly kind: "udp" }
  | {
    readonly kind: "http"
    /** Base URL of the receiver's HTTP ingress; the ping goes to `<url>/ping/<resource>`. */
    readonly url: string
  }

/** Ports used when a receiver entry names a transport but no port (hbd's 50003 for UDP, 50004 for HTTP). */
export const defaultTransportPorts: Readonly<Record<Exclude<TransportKind, "zmq">, number>> = {
  curve: 15988,
  udp: 50003,
  http: 50004
}

const expected = (message: string) => ({ message })

const curveKeyMessage = "expected the receiver's CURVE public key: 40 Z85 characters (its keygen .pub file)"
const CurveKey = Schema.String.annotate(expected(curveKeyMessage)).check(
  Schema.makeFilter((text: string) => isCurveKey(text) ? undefined : curveKeyMessage)
)
const urlMessage = "expected an http:// or https:// URL, e.g. https://rx.example.com:8443"
const Url = Schema.String.annotate(expected(urlMessage)).check(
  Schema.makeFilter((text: string) => /^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(text) && URL.canParse(text) ? undefined : urlMessage)
)

const TransportEntry = Schema.Struct({
  transport: Schema.optionalKey(
    Schema.Literals(transports).annotate(expected(`expected one of ${transports.join(", ")}`))
  ),
  curve_server_key: Schema.optionalKey(CurveKey),
  curve_key_file: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1, expected("expected a file path")))),
  url: Schema.optionalKey(Url)
})

const decodeTransports = Schema.decodeUnknownResult(Schema.Struct({ receivers: Schema.Record(Schema.String, TransportEntry) }))

/** The receiver-entry keys this module reads. */
export const transportKeys = ["transport", "curve_server_key", "curve_key_file", "url"] as const

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value)

export interface TransportChoice {
  readonly transport: SenderTransport
  /** The port when the entry gave none: the transport's default. */
  readonly defaultPort: number | undefined
}

/**
 * Reads the transport keys of every receiver entry (already parsed YAML). A receiver without
 * `transport` uses the plain ZeroMQ wire, as deployed senders do. Every problem is listed.
 */
export const parseSenderTransports = (raw: unknown): Result.Result<ReadonlyMap<string, TransportChoice>, ReadonlyArray<string>> => {
  const receivers: Record<string, unknown> = {}
  if (isRecord(raw) && isRecord(raw["receivers"])) {
    for (const [host, entry] of Object.entries(raw["receivers"])) {
      if (isRecord(entry)) receivers[host] = Object.fromEntries(transportKeys.filter((key) => key in entry).map((key) => [key, entry[key]]))
    }
  }
  const only = { receivers }
  const decoded = decodeTransports(only, { errors: "all" })
  if (Result.isFailure(decoded)) return Result.fail(describeSchemaIssues(decoded.failure, only))
  const problems: Array<string> = []
  const choices = new Map<string, TransportChoice>()
  for (const [host, entry] of Object.entries(decoded.success.receivers)) {
    const kind = entry.transport ?? "zmq"
    if (kind === "curve" && entry.curve_server_key === undefined) {
      problems.push(`receivers.${host}.curve_server_key: is required with transport: curve (the receiver's keygen .pub file)`)
      continue
    }
    for (const key of ["curve_server_key", "curve_key_file"] as const) {
      if (kind !== "curve" && entry[key] !== undefined) problems.push(`receivers.${host}.${key}: only used with transport: curve`)
    }
    if (kind !== "http" && entry.url !== undefined) problems.push(`receivers.${host}.url: only used with transport: http`)
    const transport: SenderTransport = kind === "curve"
      ? { kind, serverKey: entry.curve_server_key!, keyFile: entry.curve_key_file }
      : kind === "http"
      ? { kind, url: (entry.url ?? "").replace(/\/+$/, "") }
      : { kind }
    // No `transport`: nothing recorded, the entry stays exactly what a deployed sender reads.
    if (entry.transport !== undefined) choices.set(host, { transport, defaultPort: kind === "zmq" ? undefined : defaultTransportPorts[kind] })
  }
  return problems.length > 0 ? Result.fail(problems) : Result.succeed(choices)
}
