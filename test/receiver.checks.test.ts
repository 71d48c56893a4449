import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { CheckAlerts, layerCheckAlerts } from "../src/checkAlerts/CheckAlerts.ts"
import type { Level } from "../src/checks/thresholds.ts"
import type { Notification } from "../src/domain/Notification.ts"
import { at, configFrom, receiverLayer, send, takeSent } from "./support/receiverHarness.ts"

// Client1's resources time out after 1 min + 60 s jitter; grace 70 s; rare checks every 30 min.
const yaml = `
enabled: true
notify_devilry_sleep: 0
threshold_sets:
  strict: { memory.percent: { warning: 70, critical: 90, hysteresis: 5 } }
clients:
  Client1:
    token: aaaaaaaa
    timeout: 1
    resources:
      db1.example.com:
        thresholds: [strict]
`

const layer = layerCheckAlerts(configFrom(yaml)).pipe(Layer.provideMerge(receiverLayer(yaml)))

const checks = (entries: Record<string, [Level, number]>, metrics?: unknown) => ({
  payload: {
    uptime: 1,
    ...(metrics === undefined ? {} : { metrics }),
    checks: Object.fromEntries(Object.entries(entries).map(([key, [level, value]]) => [key, { level, value, text: `${key} is ${value}` }]))
  }
})

const checkEvents = (sent: ReadonlyArray<Notification>) =>
  sent.filter((n) => n.event.startsWith("heartbeat_mesh_check_")).map((n) => `${n.event.slice("heartbeat_mesh_check_".length)} ${n.resource} ${n.value}`)

describe("check alerts on the change stream", () => {
  it.effect("the sender's levels: a change is sent once, with resource <resource>:<check>; ok clears; nothing in grace", () =>
    Effect.gen(function*() {
      yield* at(10)
      yield* send("aaaaaaaa", "web1.example.com", checks({ "disk./.percent": ["warning", 88] }))
      assert.deepStrictEqual(checkEvents(yield* takeSent), []) // grace: recorded, not sent
      yield* at(100)
      yield* send("aaaaaaaa", "web1.example.com", checks({ "disk./.percent": ["critical", 97], "nagios.ntp": ["ok", 0] }))
      const sent = yield* takeSent
      assert.deepStrictEqual(checkEvents(sent), [
        "warning web1.example.com:disk./.percent 88", // the rare check at the end of grace (70 s) repeats what is not ok
        "critical web1.example.com:disk./.percent 97"
      ])
      const critical = sent.find((n) => n.event === "heartbeat_mesh_check_critical")!
      assert.deepStrictEqual(critical, {
        severity: "critical",
        event: "heartbeat_mesh_check_critical",
        text: "web1.example.com disk./.percent: disk./.percent is 97",
        resource: "web1.example.com:disk./.percent",
        service: "heartbeat",
        group: "web1.example.com",
        value: 97,
        origin: "heartbeat_mesh/receiver.py",
        client: "Client1",
        correlate: ["heartbeat_mesh_check_ok", "heartbeat_mesh_check_warning", "heartbeat_mesh_check_unknown"],
        attributes: { receiver: "receiver.test" }
      })
      yield* at(110)
      yield* send("aaaaaaaa", "web1.example.com", checks({ "disk./.percent": ["critical", 98], "nagios.ntp": ["ok", 0] }))
      assert.deepStrictEqual(checkEvents(yield* takeSent), [])
      yield* at(120)
      yield* send("aaaaaaaa", "web1.example.com", checks({ "disk./.percent": ["ok", 40], "nagios.ntp": ["ok", 0] }))
      assert.deepStrictEqual(checkEvents(yield* takeSent), ["ok web1.example.com:disk./.percent 40"])
      const held = (yield* CheckAlerts).checksOf("Client1", "web1.example.com")
      assert.deepStrictEqual(held.map((c) => [c.name, c.level, c.source, c.sinceMs, c.reportedAtMs]), [
        ["disk./.percent", "ok", "sender", 120_000, 120_000],
        ["nagios.ntp", "ok", "sender", 100_000, 120_000]
      ])
    }).pipe(Effect.provide(layer)))

  it.effect("receiver thresholds win (set layered on the resource), with their hysteresis", () =>
    Effect.gen(function*() {
      const beat = (percent: number) => send("aaaaaaaa", "db1.example.com", checks({ "memory.percent": ["ok", percent] }, { memory: { percent } }))
      const steps: Array<[number, number]> = [[100, 50], [110, 75], [120, 92], [130, 86], [140, 84], [150, 66], [160, 64]]
      const seen: Array<Array<string>> = []
      for (const [time, percent] of steps) {
        yield* at(time)
        yield* beat(percent)
        seen.push(checkEvents(yield* takeSent))
      }
      assert.deepStrictEqual(seen, [
        [],
        ["warning db1.example.com:memory.percent 75"],
        ["critical db1.example.com:memory.percent 92"],
        [], // 86 > 90 - 5: still critical
        ["warning db1.example.com:memory.percent 84"],
        [], // 66 > 70 - 5: still warning
        ["ok db1.example.com:memory.percent 64"]
      ])
    }).pipe(Effect.provide(layer)))

  it.effect("a check no longer reported is unknown after the resource's timeout + jitter; rare checks repeat what is not ok", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("aaaaaaaa", "web1.example.com", checks({ a: ["warning", 1], b: ["ok", 1] }))
      assert.deepStrictEqual(checkEvents(yield* takeSent), ["warning web1.example.com:a 1"])
      // b keeps being reported, a does not
      for (let t = 130; t <= 219; t += 10) {
        yield* at(t)
        yield* send("aaaaaaaa", "web1.example.com", checks({ b: ["ok", 1] }))
      }
      assert.deepStrictEqual(checkEvents(yield* takeSent), []) // 210 - 100 = 110 s: not yet 120 s
      yield* at(220)
      yield* send("aaaaaaaa", "web1.example.com", checks({ b: ["ok", 1] }))
      assert.deepStrictEqual(checkEvents(yield* takeSent), ["unknown web1.example.com:a 1"])
      const a = (yield* CheckAlerts).checksOf("Client1", "web1.example.com").find((c) => c.name === "a")!
      assert.strictEqual(a.text, "not reported for 120 s (last: a is 1)")
      // The first rare check after grace ran at 70 s; the next at 1870 s: a (unknown) is repeated, b (ok) is not.
      // Heartbeats keep the receiver active and the resource fresh until then.
      for (let t = 250; t <= 1870; t += 30) {
        yield* at(t)
        yield* send("aaaaaaaa", "web1.example.com", checks({ b: ["ok", 1] }))
      }
      assert.deepStrictEqual(checkEvents(yield* takeSent), ["unknown web1.example.com:a 1"])
    }).pipe(Effect.provide(layer)))

  it.effect("a resource that goes silent: its checks become unknown at its deadline (while others keep the receiver active)", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("aaaaaaaa", "web1.example.com", checks({ a: ["critical", 5] }))
      yield* takeSent
      for (let t = 130; t <= 250; t += 30) {
        yield* at(t)
        yield* send("aaaaaaaa", "other.example.com")
      }
      const sent = yield* takeSent
      assert.deepStrictEqual(checkEvents(sent), ["unknown web1.example.com:a 5"])
      assert.isTrue(sent.some((n) => n.event === "heartbeat_mesh_heartbeat_timeout" && n.resource === "web1.example.com"))
    }).pipe(Effect.provide(layer)))

  it.effect("deregistration forgets the checks", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("aaaaaaaa", "web1.example.com", checks({ a: ["critical", 5] }))
      yield* send("aaaaaaaa", "web1.example.com", { deregister: true })
      assert.deepStrictEqual((yield* CheckAlerts).checksOf("Client1", "web1.example.com"), [])
      assert.deepStrictEqual((yield* CheckAlerts).counters().checks, 0)
    }).pipe(Effect.provide(layer)))
})
