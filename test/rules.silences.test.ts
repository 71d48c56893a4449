import { describe, expect, it } from "vitest"
import type { Notification } from "../src/domain/Notification.ts"
import { expiredAt, readSilenceRequest, type Silence, silenceKey, silenceLimits, silencing } from "../src/monitor/silences.ts"

const now = Date.parse("2026-12-01T12:00:00Z")
const hour = 3600_000

describe("a silence request's body (monitor/silences.ts)", () => {
  const table: ReadonlyArray<[string, unknown, ReturnType<typeof readSilenceRequest>]> = [
    ["a duration as text", { duration: "2h", reason: "disk swap" }, { untilMs: now + 2 * hour, reason: "disk swap" }],
    ["a duration in seconds", { duration: 90, reason: "r" }, { untilMs: now + 90_000, reason: "r" }],
    ["a day", { duration: "1d", reason: "r" }, { untilMs: now + 24 * hour, reason: "r" }],
    ["until, ISO 8601 with Z", { until: "2026-12-01T18:30:00Z", reason: "r" }, { untilMs: now + 6.5 * hour, reason: "r" }],
    ["until with an offset", { until: "2026-12-01T14:00:00+01:00", reason: "r" }, { untilMs: now + hour, reason: "r" }],
    ["until in milliseconds", { until: now + 5000, reason: "r" }, { untilMs: now + 5000, reason: "r" }],
    ["the reason trimmed", { duration: "1m", reason: "  patching  " }, { untilMs: now + 60_000, reason: "patching" }],
    ["not an object", ["2h"], { error: "expected a JSON object {duration | until, reason}: duration as seconds or 30m, 2h, 1d; until as ISO 8601" }],
    ["null", null, { error: "expected a JSON object {duration | until, reason}: duration as seconds or 30m, 2h, 1d; until as ISO 8601" }],
    ["an unknown field", { duration: "1h", reason: "r", who: "me" }, { error: 'unknown field "who": expected a JSON object {duration | until, reason}: duration as seconds or 30m, 2h, 1d; until as ISO 8601' }],
    ["neither duration nor until", { reason: "r" }, { error: "give either duration or until (one of them)" }],
    ["both", { duration: "1h", until: "2026-12-01T18:30:00Z", reason: "r" }, { error: "give either duration or until (one of them)" }],
    ["a zero duration", { duration: 0, reason: "r" }, { error: "duration must be a positive number of seconds or a duration like 30m, 2h, 1d" }],
    ["a word", { duration: "soon", reason: "r" }, { error: "duration must be a positive number of seconds or a duration like 30m, 2h, 1d" }],
    ["a negative duration", { duration: -5, reason: "r" }, { error: "duration must be a positive number of seconds or a duration like 30m, 2h, 1d" }],
    ["until without a zone", { until: "2026-12-01T18:30:00", reason: "r" }, { error: "until must be a date and time with its zone (2026-12-24T18:00:00Z) or milliseconds since 1970" }],
    ["until a date only", { until: "2026-12-02", reason: "r" }, { error: "until must be a date and time with its zone (2026-12-24T18:00:00Z) or milliseconds since 1970" }],
    ["until in the past", { until: "2026-12-01T11:00:00Z", reason: "r" }, { error: "until must be in the future" }],
    ["until now", { until: now, reason: "r" }, { error: "until must be in the future" }],
    ["longer than 366 days", { duration: "367d", reason: "r" }, { error: "a silence lasts at most 366 days" }],
    ["366 days exactly", { duration: "366d", reason: "r" }, { untilMs: now + silenceLimits.maxDurationMs, reason: "r" }],
    ["no reason", { duration: "1h" }, { error: "reason is required: a short text saying why" }],
    ["a blank reason", { duration: "1h", reason: "   " }, { error: "reason is required: a short text saying why" }],
    ["a reason that is not text", { duration: "1h", reason: 5 }, { error: "reason is required: a short text saying why" }],
    ["a reason too long", { duration: "1h", reason: "x".repeat(501) }, { error: "reason is longer than 500 characters" }],
    ["a reason of 500", { duration: "1h", reason: "x".repeat(500) }, { untilMs: now + hour, reason: "x".repeat(500) }],
    ["a line break in the reason", { duration: "1h", reason: "a\nb" }, { error: "reason must be one line of text (no control or bidi-override characters)" }],
    ["a bidi override", { duration: "1h", reason: "a\u202eb" }, { error: "reason must be one line of text (no control or bidi-override characters)" }],
    ["a lone surrogate", { duration: "1h", reason: "a\ud800" }, { error: "reason must be one line of text (no control or bidi-override characters)" }]
  ]
  it.each(table)("%s", (_name, body, expected) => {
    expect(readSilenceRequest(body, now)).toEqual(expected)
  })
})

const silence = (client: string, resource: string | undefined, untilMs: number, fromMs = now): Silence => ({
  client,
  resource,
  fromMs,
  untilMs,
  reason: "r",
  by: "otto"
})
const notification = (client: string | undefined, resource: string): Notification => ({
  ...(client === undefined ? {} : { client }),
  resource,
  event: "heartbeat_mesh_heartbeat_timeout",
  severity: "major",
  text: "t",
  service: "heartbeat",
  group: "heartbeat",
  value: "stale",
  origin: "receiver.test",
  environment: "Production"
} as Notification)

describe("which silence holds a notification back", () => {
  const own = silence("Client1", "db1", now + hour)
  const whole = silence("Client2", undefined, now + hour)
  const later = silence("Client3", "web*", now + 2 * hour, now + hour)
  const map = new Map([own, whole, later].map((s) => [silenceKey(s.client, s.resource), s]))
  const table: ReadonlyArray<[string, Notification, number, Silence | undefined]> = [
    ["its resource's", notification("Client1", "db1"), now, own],
    ["another resource of the client: none", notification("Client1", "db2"), now, undefined],
    ["the same resource name in another client: none", notification("Client9", "db1"), now, undefined],
    ["a whole client's", notification("Client2", "anything"), now, whole],
    ["the last moment", notification("Client1", "db1"), now + hour - 1, own],
    ["over at until (exclusive)", notification("Client1", "db1"), now + hour, undefined],
    ["before it starts", notification("Client3", "web*"), now, undefined],
    ["names are exact, not globs", notification("Client3", "web1"), now + hour, undefined],
    ["a name with a star, exactly", notification("Client3", "web*"), now + hour, later],
    ["receiver-level notifications: never", notification(undefined, "receiver.test"), now, undefined]
  ]
  it.each(table)("%s", (_name, given, atMs, expected) => {
    expect(silencing(map, given, atMs)).toBe(expected)
  })

  it("a resource's own silence is looked at first, then its client's", () => {
    const both = new Map([
      [silenceKey("C", "r"), silence("C", "r", now + hour)],
      [silenceKey("C", undefined), silence("C", undefined, now + 2 * hour)]
    ])
    expect(silencing(both, notification("C", "r"), now)?.resource).toBe("r")
    // Its own is over: the client's still holds it.
    expect(silencing(both, notification("C", "r"), now + hour)?.resource).toBeUndefined()
    expect(silencing(both, notification("C", "r"), now + 2 * hour)).toBeUndefined()
  })
})

describe("expiry", () => {
  it("finds the silences over and the earliest end of the others", () => {
    const a = silence("A", "a", now + 10)
    const b = silence("B", "b", now + 20)
    const c = silence("C", undefined, now + 30)
    expect(expiredAt([c, a, b], now)).toEqual({ expired: [], nextMs: now + 10 })
    expect(expiredAt([c, a, b], now + 10)).toEqual({ expired: [a], nextMs: now + 20 })
    expect(expiredAt([c, a, b], now + 25)).toEqual({ expired: [a, b], nextMs: now + 30 })
    expect(expiredAt([c, a, b], now + 30)).toEqual({ expired: [c, a, b].filter((s) => s.untilMs <= now + 30), nextMs: undefined })
    expect(expiredAt([], now)).toEqual({ expired: [], nextMs: undefined })
  })
})
