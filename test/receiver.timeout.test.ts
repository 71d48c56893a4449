import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { at, eventsOf, receiverLayer, receiverName, send, takeSent } from "./support/receiverHarness.ts"

const timeoutOf = (resource: string) => (n: { event: string; resource: string }) =>
  n.event === "heartbeat_mesh_heartbeat_timeout" && n.resource === resource

describe("heartbeat timeout (TestClock)", () => {
  it.effect("fires at exactly timeout + jitter, not one second before, with the exact fields", () =>
    Effect.gen(function*() {
      // host2 keeps the receiver active (storm suppression would otherwise hold timeouts back).
      yield* at(100)
      yield* send("aaaaaaaa", "host1.example.com")
      yield* send("aaaaaaaa", "host2.example.com")
      for (let t = 130; t <= 210; t += 30) {
        yield* at(t)
        yield* send("aaaaaaaa", "host2.example.com")
      }
      yield* takeSent
      // host1: timeout 1 min + jitter 60 s => stale from t = 100 + 120 = 220.
      yield* at(219)
      assert.deepStrictEqual((yield* takeSent).filter(timeoutOf("host1.example.com")), [])
      yield* at(220)
      const sent = yield* takeSent
      assert.deepStrictEqual(sent.filter(timeoutOf("host1.example.com")), [{
        severity: "minor",
        event: "heartbeat_mesh_heartbeat_timeout",
        text: "Heartbeat from host1.example.com (client Client1) timed out: last one 120 s ago, timeout 60 s",
        resource: "host1.example.com",
        service: "database",
        group: "host1.example.com",
        value: 120,
        origin: "heartbeat_mesh/receiver.py",
        client: "Client1",
        environment: "infra",
        correlate: ["heartbeat_mesh_heartbeat_ok"],
        attributes: { receiver: receiverName, timeout: 60, location: "dc1" }
      }])
    }).pipe(Effect.provide(receiverLayer())))

  it.effect("repeats every check interval while the resource stays stale", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("aaaaaaaa", "host1.example.com")
      for (let t = 100; t <= 400; t += 30) {
        yield* at(t)
        yield* send("aaaaaaaa", "host2.example.com")
      }
      const timeouts = (yield* takeSent).filter(timeoutOf("host1.example.com"))
      assert.deepStrictEqual(timeouts.map((n) => n.value), [120, 180, 240, 300])
    }).pipe(Effect.provide(receiverLayer())))

  it.effect("a routine heartbeat pushes the deadline back", () =>
    Effect.gen(function*() {
      for (let t = 100; t <= 500; t += 50) {
        yield* at(t)
        yield* send("aaaaaaaa", "host1.example.com")
        yield* send("aaaaaaaa", "host2.example.com")
      }
      assert.deepStrictEqual(eventsOf((yield* takeSent).filter(timeoutOf("host1.example.com"))), [])
    }).pipe(Effect.provide(receiverLayer())))
})
