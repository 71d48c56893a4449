import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Notification } from "../src/domain/Notification.ts"
import { at, eventsOf, receiverLayer, receiverName, send, settle, takeSent } from "./support/receiverHarness.ts"

const only = (event: string, sent: ReadonlyArray<Notification>) =>
  sent.filter((notification) => notification.event === `heartbeat_mesh_${event}`)

describe("grace period", () => {
  it.effect("records heartbeats but sends no new, comeback or activity event during grace", () =>
    Effect.gen(function*() {
      yield* at(10)
      yield* send("aaaaaaaa", "host1.example.com")
      yield* send("bbbbbbbb", "discovered.example.com")
      yield* at(60) // first activity check: still inside the 70 s grace period
      assert.deepStrictEqual(yield* takeSent, [])
      yield* at(69)
      assert.deepStrictEqual(yield* takeSent, [])
    }).pipe(Effect.provide(receiverLayer())))

  it.effect("after grace: new for a first heartbeat, activity_ok at the next check", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("bbbbbbbb", "db1.example.com:postgres")
      assert.deepStrictEqual(only("heartbeat_new", yield* takeSent), [{
        severity: "informational",
        event: "heartbeat_mesh_heartbeat_new",
        text: "New resource db1.example.com:postgres (client Client2) sent its first heartbeat",
        resource: "db1.example.com:postgres",
        service: "heartbeat",
        group: "db1.example.com:postgres",
        value: "registered",
        origin: "heartbeat_mesh/receiver.py",
        client: "Client2",
        // The deployed receiver's `new` carries no attributes.timeout.
        attributes: { receiver: receiverName }
      }])
      yield* at(120)
      assert.deepStrictEqual(yield* takeSent, [{
        severity: "ok",
        event: "heartbeat_mesh_receiver_activity_ok",
        text: `Receiver ${receiverName} is receiving heartbeats`,
        resource: receiverName,
        service: "heartbeat",
        group: receiverName,
        value: "ok",
        origin: "heartbeat_mesh/receiver.py",
        // Receiver-level events carry no attributes key at all.
        correlate: ["heartbeat_mesh_receiver_activity_lost"]
      }])
    }).pipe(Effect.provide(receiverLayer())))

  it.effect("a second heartbeat of a known resource is not new", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("bbbbbbbb", "x.example.com")
      yield* send("bbbbbbbb", "x.example.com")
      assert.deepStrictEqual(eventsOf(only("heartbeat_new", yield* takeSent)), ["heartbeat_mesh_heartbeat_new:x.example.com"])
    }).pipe(Effect.provide(receiverLayer())))
})

describe("receiver activity and storm suppression", () => {
  it.effect("activity_lost when nobody has sent for check interval + jitter, and no per-resource timeout", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("aaaaaaaa", "host1.example.com")
      yield* send("aaaaaaaa", "host2.example.com")
      yield* takeSent
      yield* at(120)
      assert.deepStrictEqual(eventsOf(yield* takeSent), [`heartbeat_mesh_receiver_activity_ok:${receiverName}`])
      // Both hosts fall silent. Activity window: 60 + 60 s, so active until t < 220; at 240 it is lost.
      yield* at(180)
      yield* at(240)
      const sent = yield* takeSent
      assert.deepStrictEqual(eventsOf(sent), [
        `heartbeat_mesh_receiver_activity_ok:${receiverName}`,
        `heartbeat_mesh_receiver_activity_lost:${receiverName}`
      ])
      assert.deepStrictEqual(sent[1], {
        severity: "warning",
        event: "heartbeat_mesh_receiver_activity_lost",
        text: `Receiver ${receiverName} has received no heartbeat for 120 s; ` +
          "per-resource timeouts are held back until heartbeats arrive again",
        resource: receiverName,
        service: "heartbeat",
        group: receiverName,
        value: "lost",
        origin: "heartbeat_mesh/receiver.py",
        correlate: ["heartbeat_mesh_receiver_activity_ok"]
      })
      // Both resources went stale at t = 220, while the receiver heard nobody: no timeouts at all.
      yield* at(600)
      const later = yield* takeSent
      assert.deepStrictEqual(only("heartbeat_timeout", later), [])
      assert.isTrue(only("receiver_activity_lost", later).length >= 5)
    }).pipe(Effect.provide(receiverLayer())))

  it.effect("held-back timeouts are sent once heartbeats flow again", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("aaaaaaaa", "host1.example.com")
      yield* send("aaaaaaaa", "host2.example.com")
      yield* at(300)
      assert.deepStrictEqual(only("heartbeat_timeout", yield* takeSent), [])
      // host2 comes back at 310: the receiver is active again; host1 is still stale.
      yield* at(310)
      yield* send("aaaaaaaa", "host2.example.com")
      yield* at(340)
      const timeouts = only("heartbeat_timeout", yield* takeSent)
      assert.deepStrictEqual(timeouts.map((n) => [n.resource, n.value]), [["host1.example.com", 240]])
    }).pipe(Effect.provide(receiverLayer())))
})

describe("comeback", () => {
  it.effect("a heartbeat after the deadline sends comeback, then ok with value 0", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("aaaaaaaa", "host1.example.com")
      yield* send("aaaaaaaa", "host2.example.com")
      yield* at(200)
      yield* send("aaaaaaaa", "host2.example.com")
      yield* at(220)
      yield* takeSent
      yield* at(250)
      yield* takeSent
      yield* send("aaaaaaaa", "host1.example.com")
      yield* settle
      assert.deepStrictEqual(yield* takeSent, [
        {
          severity: "informational",
          event: "heartbeat_mesh_heartbeat_comeback",
          text: "Heartbeat from host1.example.com (client Client1) came back after 150 s of silence",
          resource: "host1.example.com",
          service: "database",
          group: "host1.example.com",
          value: "comeback",
          origin: "heartbeat_mesh/receiver.py",
          client: "Client1",
          environment: "infra",
          attributes: { receiver: receiverName, timeout: 60, location: "dc1" }
        },
        {
          severity: "ok",
          event: "heartbeat_mesh_heartbeat_ok",
          text: "Heartbeat from host1.example.com (client Client1) is ok: last one 0 s ago",
          resource: "host1.example.com",
          service: "database",
          group: "host1.example.com",
          value: 0,
          origin: "heartbeat_mesh/receiver.py",
          client: "Client1",
          environment: "infra",
          correlate: ["heartbeat_mesh_heartbeat_timeout"],
          attributes: { receiver: receiverName, timeout: 60, location: "dc1" }
        }
      ])
      // It is alive again: no timeout until its new deadline (250 + 120).
      yield* at(300)
      yield* send("aaaaaaaa", "host2.example.com")
      yield* at(369)
      assert.deepStrictEqual(only("heartbeat_timeout", yield* takeSent), [])
    }).pipe(Effect.provide(receiverLayer())))

  it.effect("no comeback for a heartbeat just before the deadline", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("aaaaaaaa", "host1.example.com")
      yield* at(219)
      yield* send("aaaaaaaa", "host1.example.com")
      assert.deepStrictEqual(only("heartbeat_comeback", yield* takeSent), [])
    }).pipe(Effect.provide(receiverLayer())))

  it.effect("no comeback during the grace period", () =>
    Effect.gen(function*() {
      yield* at(0)
      yield* send("aaaaaaaa", "host1.example.com")
      // A 0.5 min override: stale from 30 + 60 = 90 s... but a heartbeat at 69 is inside grace anyway.
      yield* at(65)
      yield* send("aaaaaaaa", "host1.example.com", { timeout: 0.01 })
      yield* at(69)
      yield* send("aaaaaaaa", "host1.example.com")
      assert.deepStrictEqual(yield* takeSent, [])
    }).pipe(Effect.provide(receiverLayer())))
})

describe("severity resolution", () => {
  const severityOfTimeout = (resource: string, token: string, staleAt: number) =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send(token, resource)
      for (let t = 100; t <= staleAt; t += 30) {
        yield* at(t)
        yield* send("aaaaaaaa", "keepalive.example.com")
      }
      yield* at(staleAt)
      return only("heartbeat_timeout", yield* takeSent).map((n) => n.severity)
    })

  it.effect("resource severity wins", () =>
    severityOfTimeout("host1.example.com", "aaaaaaaa", 220).pipe(
      Effect.map((severities) => assert.deepStrictEqual(severities, ["minor"])),
      Effect.provide(receiverLayer())
    ))

  it.effect("else the client's", () =>
    severityOfTimeout("host2.example.com", "aaaaaaaa", 220).pipe(
      Effect.map((severities) => assert.deepStrictEqual(severities, ["major"])),
      Effect.provide(receiverLayer())
    ))

  it.effect("else critical (client timeout 2 min: stale at 100 + 180)", () =>
    severityOfTimeout("anything.example.com", "bbbbbbbb", 280).pipe(
      Effect.map((severities) => assert.deepStrictEqual(severities, ["critical"])),
      Effect.provide(receiverLayer())
    ))
})

describe("heartbeat timeout override", () => {
  it.effect("a heartbeat's timeout (minutes) replaces the client's, even when shorter", () =>
    Effect.gen(function*() {
      yield* at(100)
      // Client2 default is 2 minutes; this heartbeat asks for 0.5 min: stale at 100 + 30 + 60 = 190.
      yield* send("bbbbbbbb", "short.example.com", { timeout: 0.5 })
      for (let t = 100; t <= 189; t += 30) {
        yield* at(t)
        yield* send("aaaaaaaa", "keepalive.example.com")
      }
      yield* at(189)
      assert.deepStrictEqual(only("heartbeat_timeout", yield* takeSent), [])
      yield* at(190)
      const timeouts = only("heartbeat_timeout", yield* takeSent)
      assert.deepStrictEqual(timeouts.map((n) => [n.resource, n.value, n.attributes?.timeout]), [
        ["short.example.com", 90, 30]
      ])
    }).pipe(Effect.provide(receiverLayer())))
})
