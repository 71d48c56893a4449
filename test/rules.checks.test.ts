import { describe, expect, it } from "vitest"
import type { Level, ThresholdTable } from "../src/checks/thresholds.ts"
import {
  checkNotification,
  type CheckState,
  expireChecks,
  maxChecksPerResource,
  nextExpiry,
  noChecks,
  receiveChecks,
  repeatChecks,
  type ResourceChecks,
  senderChecksOf
} from "../src/monitor/checkRules.ts"
import type { ResourceProfile } from "../src/monitor/ResourceProfile.ts"

const profile: ResourceProfile = {
  client: "Client1",
  resource: "web1.example.com",
  configured: true,
  clientTimeoutMinutes: 1,
  severity: "critical",
  service: "web",
  environment: "prod",
  location: undefined
}
const receiver = { name: "rx1", origin: "heartbeat_mesh/receiver.py" }

const payload = (checks: Record<string, { level: Level; value: number; text?: string }>, metrics: unknown = undefined) => ({
  uptime: 1,
  ...(metrics === undefined ? {} : { metrics }),
  checks: Object.fromEntries(Object.entries(checks).map(([key, c]) => [key, { text: `${key} text`, ...c }]))
})

const levelsOf = (checks: ResourceChecks) => Object.fromEntries([...checks].map(([key, c]) => [key, c.level]))

describe("receiveChecks: the sender's levels", () => {
  it.each<[string, Record<string, Level> | undefined, Record<string, Level>, Array<[string, Level | undefined, Level]>]>([
    ["first heartbeat, all ok: state kept, nothing to say", undefined, { "memory.percent": "ok", "nagios.ntp": "ok" }, []],
    ["first heartbeat with a warning: said at once", undefined, { "memory.percent": "warning" }, [["memory.percent", undefined, "warning"]]],
    ["same levels again: nothing", { "memory.percent": "warning" }, { "memory.percent": "warning" }, []],
    ["warning -> critical", { "memory.percent": "warning" }, { "memory.percent": "critical" }, [["memory.percent", "warning", "critical"]]],
    ["critical -> ok", { "memory.percent": "critical" }, { "memory.percent": "ok" }, [["memory.percent", "critical", "ok"]]],
    ["unknown -> ok (a check that came back)", { "nagios.ntp": "unknown" }, { "nagios.ntp": "ok" }, [["nagios.ntp", "unknown", "ok"]]],
    ["ok -> unknown (Nagios exit 3)", { "nagios.ntp": "ok" }, { "nagios.ntp": "unknown" }, [["nagios.ntp", "ok", "unknown"]]]
  ])("%s", (_, before, now, expected) => {
    const previous: ResourceChecks = new Map(Object.entries(before ?? {}).map(([key, level]) => [key, state(level, 0)]))
    const step = receiveChecks(previous, payload(Object.fromEntries(Object.entries(now).map(([k, level]) => [k, { level, value: 1 }]))), {}, 60_000)
    expect(step.transitions.map((t) => [t.key, t.from, t.check.level])).toEqual(expected)
    expect(levelsOf(step.checks)).toEqual({ ...before, ...now })
    for (const key of Object.keys(now)) expect(step.checks.get(key)).toMatchObject({ reportedAtMs: 60_000, source: "sender" })
  })

  it("sinceMs moves only when the level changes", () => {
    const first = receiveChecks(noChecks, payload({ a: { level: "warning", value: 1 } }), {}, 1000)
    const same = receiveChecks(first.checks, payload({ a: { level: "warning", value: 2 } }), {}, 2000)
    const changed = receiveChecks(same.checks, payload({ a: { level: "critical", value: 3 } }), {}, 3000)
    expect([first, same, changed].map((s) => s.checks.get("a")!.sinceMs)).toEqual([1000, 1000, 3000])
    expect(same.checks.get("a")).toMatchObject({ value: 2, reportedAtMs: 2000 })
  })

  it("checks missing from a heartbeat keep their state", () => {
    const first = receiveChecks(noChecks, payload({ a: { level: "warning", value: 1 }, b: { level: "ok", value: 1 } }), {}, 1000)
    const second = receiveChecks(first.checks, payload({ b: { level: "ok", value: 1 } }), {}, 2000)
    expect(second.checks.get("a")).toMatchObject({ level: "warning", reportedAtMs: 1000 })
  })
})

describe("receiveChecks: receiver thresholds win", () => {
  const table: ThresholdTable = {
    "memory.percent": { warning: 80, critical: 90, hysteresis: 5 },
    "disk.*.percent": { warning: 50 },
    "nagios.ntp": { enabled: false }
  }

  it("evaluated on the metric, with the receiver's hysteresis; metrics the sender does not check become checks", () => {
    const metrics = (memory: number) => ({ memory: { percent: memory }, disk: { "/": { percent: 60 } }, cpu: { percent: 99 } })
    const sent = (memory: number) => payload({ "memory.percent": { level: "ok", value: memory }, "nagios.ntp": { level: "critical", value: 2 }, "cpu.percent": { level: "critical", value: 99 } }, metrics(memory))
    const first = receiveChecks(noChecks, sent(85), table, 1000)
    expect(levelsOf(first.checks)).toEqual({ "memory.percent": "warning", "disk./.percent": "warning", "cpu.percent": "critical" })
    expect(first.checks.get("memory.percent")).toMatchObject({
      source: "receiver",
      value: 85,
      text: "memory.percent = 85 (WARNING, receiver threshold)"
    })
    expect(first.checks.get("cpu.percent")).toMatchObject({ source: "sender" })
    // 76 is inside the 5-point band below 80: still warning; 75 leaves it
    expect(receiveChecks(first.checks, sent(76), table, 2000).checks.get("memory.percent")?.level).toBe("warning")
    expect(receiveChecks(first.checks, sent(75), table, 2000).checks.get("memory.percent")?.level).toBe("ok")
  })

  it("without the metric, the receiver's threshold is applied to the sender's value", () => {
    const step = receiveChecks(noChecks, payload({ "memory.percent": { level: "ok", value: 95 } }), table, 1000)
    expect(step.checks.get("memory.percent")).toMatchObject({ level: "critical", source: "receiver", value: 95 })
  })

  it("a threshold disabled on the receiver removes the check", () => {
    const first = receiveChecks(noChecks, payload({ "nagios.ntp": { level: "critical", value: 2 } }), {}, 1000)
    expect(receiveChecks(first.checks, payload({ "nagios.ntp": { level: "critical", value: 2 } }), table, 2000).checks.has("nagios.ntp")).toBe(false)
  })
})

describe("bad check entries", () => {
  it("malformed entries are dropped and counted", () => {
    expect(senderChecksOf({
      checks: {
        good: { level: "warning", value: 1, text: "x".repeat(600) },
        badLevel: { level: "WARN", value: 1, text: "" },
        badValue: { level: "ok", value: "1" },
        nan: { level: "ok", value: null },
        "bad\nkey": { level: "ok", value: 1 },
        [("k".repeat(201))]: { level: "ok", value: 1 },
        nothing: null
      }
    })).toEqual({ checks: new Map([["good", { level: "warning", value: 1, text: "x".repeat(500) }]]), dropped: 6 })
    expect(senderChecksOf({ checks: [1, 2] })).toEqual({ checks: new Map(), dropped: 0 })
    expect(senderChecksOf(null)).toEqual({ checks: new Map(), dropped: 0 })
  })

  it(`at most ${maxChecksPerResource} checks per resource`, () => {
    const many = Object.fromEntries(Array.from({ length: maxChecksPerResource + 10 }, (_, i) => [`c${i}`, { level: "ok" as const, value: i }]))
    const step = receiveChecks(noChecks, payload(many), {}, 1000)
    expect(step.checks.size).toBe(maxChecksPerResource)
    expect(step.dropped).toBe(10)
  })
})

describe("expiry and repeats", () => {
  const checks: ResourceChecks = new Map([
    ["a", state("warning", 1000)],
    ["b", state("ok", 50_000)],
    ["c", state("unknown", 0)]
  ])

  it.each<[number, Record<string, Level>, Array<[string, Level | undefined]>]>([
    [120_999, { a: "warning", b: "ok", c: "unknown" }, []],
    [121_000, { a: "unknown", b: "ok", c: "unknown" }, [["a", "warning"]]],
    [170_000, { a: "unknown", b: "unknown", c: "unknown" }, [["a", "warning"], ["b", "ok"]]]
  ])("at %i ms (stale after 120 s)", (now, after, transitions) => {
    const step = expireChecks(checks, 120_000, now)
    expect(levelsOf(step.checks)).toEqual(after)
    expect(step.transitions.map((t) => [t.key, t.from])).toEqual(transitions)
    if (transitions.length > 0) expect(step.checks.get("a")!.text).toBe(`not reported for ${Math.round((now - 1000) / 1000)} s (last: text)`)
  })

  it("the next expiry is the earliest of the checks that can still expire", () => {
    expect(nextExpiry(checks, 120_000)).toBe(121_000)
    expect(nextExpiry(new Map([["c", state("unknown", 0)]]), 120_000)).toBeUndefined()
  })

  it("rare check: every check that is not ok, level unchanged", () => {
    expect(repeatChecks(checks).map((t) => [t.key, t.from, t.check.level])).toEqual([["a", "warning", "warning"], ["c", "unknown", "unknown"]])
  })
})

describe("checkNotification", () => {
  it.each<[Level, string]>([
    ["warning", "heartbeat_mesh_check_warning"],
    ["critical", "heartbeat_mesh_check_critical"],
    ["ok", "heartbeat_mesh_check_ok"],
    ["unknown", "heartbeat_mesh_check_unknown"]
  ])("%s", (level, event) => {
    const notification = checkNotification({ key: "disk./var.percent", from: "ok", check: { ...state(level, 0), value: 91.5, text: "disk./var.percent = 91.5" } }, profile, receiver)
    const all = ["heartbeat_mesh_check_ok", "heartbeat_mesh_check_warning", "heartbeat_mesh_check_critical", "heartbeat_mesh_check_unknown"]
    expect(notification).toEqual({
      severity: level,
      event,
      text: "web1.example.com disk./var.percent: disk./var.percent = 91.5",
      resource: "web1.example.com:disk./var.percent",
      service: "web",
      group: "web1.example.com",
      value: 91.5,
      origin: "heartbeat_mesh/receiver.py",
      client: "Client1",
      environment: "prod",
      correlate: all.filter((e) => e !== event),
      attributes: { receiver: "rx1" }
    })
  })
})

function state(level: Level, reportedAtMs: number): CheckState {
  return { level, value: 1, text: "text", source: "sender", reportedAtMs, sinceMs: reportedAtMs }
}
