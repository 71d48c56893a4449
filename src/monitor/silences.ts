import { parseDurationMs } from "../config/notificationConfig.ts"
import type { Notification } from "../domain/Notification.ts"
import { forbiddenNameCharacters } from "../domain/Names.ts"

/**
 * Silences (issue 18.3, the operator's "silence"): runtime mute windows an operator sets through
 * the API or the dashboard on one resource or a whole client, for a duration or until a time,
 * with a reason. They hold notifications back exactly as `mute:` windows do (the outbox holds
 * state changes and drops repeats, and sends the latest held state when the window closes); what
 * differs is where they come from (a request, kept in state.db) and how they are looked up (by
 * exact name, O(1), however many there are). Pure: the request's rules, the lookup, the expiry.
 */

/** One silence. Times on the wall clock (milliseconds since 1970), like `mute:` windows. */
export interface Silence {
  readonly client: string
  /** Undefined: the whole client. */
  readonly resource: string | undefined
  readonly fromMs: number
  /** Exclusive: from this moment notifications go out again. */
  readonly untilMs: number
  readonly reason: string
  /** Who set it: the user's name, or `admin_token`. */
  readonly by: string
}

export const silenceLimits = {
  /** Silences in force at once, receiver-wide; more are refused (409) and counted. */
  maxActive: 10_000,
  /** The longest silence: a year. Longer is a pause or a mute window, not a silence. */
  maxDurationMs: 366 * 24 * 3600_000,
  /** Characters of a reason, at most. */
  maxReasonLength: 500
} as const

/** The key of a silence: its client and resource ("" for the whole client: no resource is named ""). */
export const silenceKey = (client: string, resource: string | undefined): string => `${client}\u0000${resource ?? ""}`

export interface SilenceRequest {
  readonly untilMs: number
  readonly reason: string
}

const describeBody = "a JSON object {duration | until, reason}: duration as seconds or 30m, 2h, 1d; until as ISO 8601"

/**
 * Reads a silence request's body (already parsed JSON): exactly one of `duration` (seconds, or
 * "30s", "15m", "2h", "1d") and `until` (ISO 8601 with a zone, or milliseconds since 1970), and a
 * `reason`. Answers the request or one sentence saying what is wrong.
 */
export const readSilenceRequest = (body: unknown, nowMs: number): SilenceRequest | { readonly error: string } => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return { error: `expected ${describeBody}` }
  const fields = body as Record<string, unknown>
  const unknown = Object.keys(fields).filter((key) => key !== "duration" && key !== "until" && key !== "reason")
  if (unknown.length > 0) return { error: `unknown field ${JSON.stringify(unknown[0])}: expected ${describeBody}` }
  const { duration, until, reason } = fields
  if ((duration === undefined) === (until === undefined)) return { error: "give either duration or until (one of them)" }
  let untilMs: number
  if (duration !== undefined) {
    const ms = parseDurationMs(duration)
    if (ms === undefined || !(ms > 0)) return { error: "duration must be a positive number of seconds or a duration like 30m, 2h, 1d" }
    untilMs = nowMs + ms
  } else {
    const ms = typeof until === "number"
      ? until
      : typeof until === "string" && /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})$/.test(until)
      ? Date.parse(until)
      : Number.NaN
    if (!Number.isFinite(ms)) return { error: "until must be a date and time with its zone (2026-12-24T18:00:00Z) or milliseconds since 1970" }
    if (ms <= nowMs) return { error: "until must be in the future" }
    untilMs = ms
  }
  if (untilMs - nowMs > silenceLimits.maxDurationMs) return { error: "a silence lasts at most 366 days" }
  if (typeof reason !== "string" || reason.trim().length === 0) return { error: "reason is required: a short text saying why" }
  if (reason.length > silenceLimits.maxReasonLength) return { error: `reason is longer than ${silenceLimits.maxReasonLength} characters` }
  if (forbiddenNameCharacters.test(reason) || !reason.isWellFormed()) {
    return { error: "reason must be one line of text (no control or bidi-override characters)" }
  }
  return { untilMs: Math.round(untilMs), reason: reason.trim() }
}

/** Whether a silence is in force at `nowMs`. */
export const silenceOpenAt = (silence: Silence, nowMs: number): boolean => nowMs >= silence.fromMs && nowMs < silence.untilMs

/**
 * The silence that holds a notification back at `nowMs`: its resource's, else its client's.
 * Receiver-level notifications (no client) are never silenced. Two map lookups.
 */
export const silencing = (
  silences: ReadonlyMap<string, Silence>,
  notification: Notification,
  nowMs: number
): Silence | undefined => {
  if (notification.client === undefined || silences.size === 0) return undefined
  const own = silences.get(silenceKey(notification.client, notification.resource))
  if (own !== undefined && silenceOpenAt(own, nowMs)) return own
  const client = silences.get(silenceKey(notification.client, undefined))
  return client !== undefined && silenceOpenAt(client, nowMs) ? client : undefined
}

/** The silences over at `nowMs`, and the earliest end of those still in force (when to look again). */
export const expiredAt = (
  silences: Iterable<Silence>,
  nowMs: number
): { readonly expired: ReadonlyArray<Silence>; readonly nextMs: number | undefined } => {
  const expired: Array<Silence> = []
  let nextMs: number | undefined
  for (const silence of silences) {
    if (silence.untilMs <= nowMs) expired.push(silence)
    else if (nextMs === undefined || silence.untilMs < nextMs) nextMs = silence.untilMs
  }
  return { expired, nextMs }
}
