import { maxResourceNameLength, nameProblem } from "./Names.ts"
import { isUsableTimeout, numberFrom } from "./Timeout.ts"

export { maxResourceNameLength } from "./Names.ts"

/** Deepest nesting a payload may have (the payload object itself is level 1). */
export const maxPayloadDepth = 32
/** Most keys and list items a payload may hold, counted over all its levels. */
export const maxPayloadEntries = 1000

/** Free-form sender data: a JSON object, within the bounds above. */
export type Payload = Readonly<Record<string, unknown>>

/**
 * One heartbeat as the receiver takes it from the wire (SPEC 1), after `interpretHeartbeat` has
 * read it the way the deployed receiver does. `null` counts as absent for every optional field.
 */
export interface WireHeartbeat {
  /** The token's text: a token sent as a JSON number is its digits as sent (`12345`). */
  readonly token: string
  /** The token came as a JSON number (what the deployed sender sends for an unquoted all-digit YAML token). */
  readonly tokenIsNumber?: boolean
  readonly resource: string
  /** Minutes, when the heartbeat carries a usable one; else the client's default applies. */
  readonly timeout?: number | null
  readonly payload?: Payload | null
  readonly deregister?: boolean | null
}

/** What the monitor needs of a heartbeat once its token has named the client. */
export interface HeartbeatFacts {
  readonly resource: string
  readonly timeoutMinutes: number | undefined
  readonly payload: Payload | undefined
}

export const factsOf = (heartbeat: WireHeartbeat): HeartbeatFacts => ({
  resource: heartbeat.resource,
  timeoutMinutes: heartbeat.timeout ?? undefined,
  payload: heartbeat.payload ?? undefined
})

/** Why a frame's content cannot be a heartbeat; each is counted separately. */
export type HeartbeatProblem =
  | "invalid_field"
  | "lone_surrogate"
  | "forbidden_character"
  | "payload_too_deep"
  | "payload_too_large"

/** Something in an accepted heartbeat the receiver could not use as sent; counted and logged, never a drop. */
export const heartbeatRepairs = ["timeout_not_numeric", "timeout_out_of_range", "deregister_unrecognised"] as const
export type HeartbeatRepair = (typeof heartbeatRepairs)[number]

export type Interpreted =
  | { readonly ok: true; readonly heartbeat: WireHeartbeat; readonly repairs: ReadonlyArray<HeartbeatRepair> }
  | { readonly ok: false; readonly problem: HeartbeatProblem; readonly detail: string }

const yesWords = new Set(["yes", "true", "1"])
const noWords = new Set(["no", "false", "0", ""])

/**
 * `deregister` as the deployed senders send it: `true`, `1`, "yes", "true" (any case) deregister;
 * absent, `null`, `false`, `0`, "no", "false", "" do not. Anything else ("maybe", 2, a list) is not
 * taken as a deregistration either, which forgets a resource for good, but reported.
 */
export const readDeregister = (value: unknown): "yes" | "no" | "unrecognised" => {
  if (value === undefined || value === null || value === false || value === 0) return "no"
  if (value === true || value === 1) return "yes"
  if (typeof value === "string") {
    const word = value.trim().toLowerCase()
    if (yesWords.has(word)) return "yes"
    if (noWords.has(word)) return "no"
  }
  return "unrecognised"
}

/**
 * Checks a payload's size in one pass: at most `maxPayloadDepth` levels and `maxPayloadEntries`
 * keys and list items in all. Within these bounds every later step (JSON text for the store, the
 * API and the files) can serialize it.
 */
export const payloadBoundsProblem = (payload: object): "payload_too_deep" | "payload_too_large" | undefined => {
  let entries = 0
  const walk = (value: object, depth: number): "payload_too_deep" | "payload_too_large" | undefined => {
    if (depth > maxPayloadDepth) return "payload_too_deep"
    if (Array.isArray(value)) {
      entries += value.length
      if (entries > maxPayloadEntries) return "payload_too_large"
      for (const item of value) {
        if (typeof item === "object" && item !== null) {
          const problem = walk(item, depth + 1)
          if (problem !== undefined) return problem
        }
      }
      return undefined
    }
    for (const key in value) {
      if (++entries > maxPayloadEntries) return "payload_too_large"
      const item = (value as Record<string, unknown>)[key]
      if (typeof item === "object" && item !== null) {
        const problem = walk(item, depth + 1)
        if (problem !== undefined) return problem
      }
    }
    return undefined
  }
  return walk(payload, 1)
}

type NumberSources = { token?: string; resource?: string }

/**
 * The text a JSON number had in the frame, for `token` and `resource` sent as numbers. JSON.parse
 * turns `12345678901234567890` into a float that has lost digits; its reviver sees the source text.
 * Slower than a plain parse, so only used when one of them is a number.
 */
const numberSources = (text: string): NumberSources => {
  const found = new Map<unknown, NumberSources>()
  const parse = JSON.parse as (
    text: string,
    reviver: (this: unknown, key: string, value: unknown, context?: { readonly source?: string }) => unknown
  ) => unknown
  const root = parse(text, function(key, value, context) {
    if ((key === "token" || key === "resource") && typeof value === "number" && context?.source !== undefined) {
      const sources = found.get(this) ?? {}
      sources[key] = context.source
      found.set(this, sources)
    }
    return value
  })
  return found.get(root) ?? {}
}

const fail = (problem: HeartbeatProblem, detail: string): Interpreted => ({ ok: false, problem, detail })

/**
 * Reads a JSON-parsed frame the way the deployed receiver does (SPEC 1 and 6), with the bounds of
 * issue 13. `text` is the frame's JSON, read again only when `token` or `resource` is a number.
 * - `token`: a string, or a number compared by its digits as sent;
 * - `resource`: a string (or a number, as its digits), 1-512 characters, valid Unicode without
 *   control or bidi-override characters;
 * - `timeout`: minutes, a number or numeric string; one that is not usable (not numeric, 0,
 *   negative, more than a year) is dropped, so the client's default applies, and reported;
 * - `payload`: an object within the depth and size bounds, or null;
 * - `deregister`: see `readDeregister`.
 * A failure names the field, never its value (the frame may hold a token).
 */
export const interpretHeartbeat = (input: Readonly<Record<string, unknown>>, text: string): Interpreted => {
  let token = input["token"]
  let resource = input["resource"]
  if (typeof token === "number" || typeof resource === "number") {
    const sources = numberSources(text)
    if (typeof token === "number" && sources.token !== undefined) token = sources.token
    if (typeof resource === "number" && sources.resource !== undefined) resource = sources.resource
  }
  if (typeof token !== "string" || token.length === 0) return fail("invalid_field", "token: expected a non-empty string or number")
  if (!token.isWellFormed()) return fail("lone_surrogate", "token: not valid Unicode (a lone surrogate)")
  if (typeof resource !== "string") return fail("invalid_field", "resource: expected a string")
  const nameTrouble = nameProblem(resource)
  if (nameTrouble !== undefined) {
    switch (nameTrouble) {
      case "empty":
        return fail("invalid_field", "resource: must not be empty")
      case "too_long":
        return fail("invalid_field", `resource: longer than ${maxResourceNameLength} characters`)
      case "lone_surrogate":
        return fail("lone_surrogate", "resource: not valid Unicode (a lone surrogate)")
      case "forbidden_character":
        return fail("forbidden_character", "resource: contains a control or bidi-override character")
    }
  }

  const payload = input["payload"]
  if (payload !== undefined && payload !== null) {
    if (typeof payload !== "object" || Array.isArray(payload)) return fail("invalid_field", "payload: expected an object")
    const bounds = payloadBoundsProblem(payload)
    if (bounds !== undefined) {
      return fail(
        bounds,
        bounds === "payload_too_deep"
          ? `payload: nested deeper than ${maxPayloadDepth} levels`
          : `payload: more than ${maxPayloadEntries} keys and items in all`
      )
    }
  }

  let repairs: Array<HeartbeatRepair> | undefined
  const sent = input["timeout"]
  let timeout: number | undefined
  if (sent !== undefined && sent !== null) {
    const minutes = numberFrom(sent)
    if (minutes !== undefined && isUsableTimeout(minutes)) timeout = minutes
    else (repairs ??= []).push(minutes === undefined ? "timeout_not_numeric" : "timeout_out_of_range")
  }

  const deregisterValue = input["deregister"]
  let deregister = false
  if (deregisterValue !== undefined && deregisterValue !== null && deregisterValue !== false) {
    const reading = readDeregister(deregisterValue)
    deregister = reading === "yes"
    if (reading === "unrecognised") (repairs ??= []).push("deregister_unrecognised")
  }

  // One object shape for the common case (a string token), so what reads it stays monomorphic.
  const heartbeat: WireHeartbeat = typeof input["token"] === "number"
    ? { token, resource, timeout: timeout ?? null, payload: (payload ?? null) as Payload | null, deregister, tokenIsNumber: true }
    : { token, resource, timeout: timeout ?? null, payload: (payload ?? null) as Payload | null, deregister }
  return { ok: true, heartbeat, repairs: repairs ?? noRepairs }
}

const noRepairs: ReadonlyArray<HeartbeatRepair> = []
