import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ResourceSupervisor } from "../src/actors/ResourceSupervisor.ts"
import { StateStore, type StoredResource } from "../src/store/StateStore.ts"
import { at, eventsOf, receiverLayer, send, takeSent } from "./support/receiverHarness.ts"

const stored = (client: string, resource: string, lastSeenSeconds: number, extra: Partial<StoredResource> = {}): StoredResource => ({
  client,
  resource,
  firstSeenMs: -86_400_000 * 3,
  lastSeenMs: lastSeenSeconds * 1000,
  timeoutOverrideMinutes: undefined,
  payload: { uptime: 1 },
  status: "alive",
  paused: false,
  ...extra
})

// What an earlier run knew. The TestClock starts at 0, the new start; negative times are before it.
const earlierRun = [
  stored("Client1", "alive.example.com", -10),
  stored("Client1", "died.example.com", -100), // stopped while the receiver was down: stale from t = 20
  stored("Client1", "host1.example.com", -10), // configured
  stored("Client2", "override.example.com", -20, { timeoutOverrideMinutes: 5 }),
  stored("RemovedClient", "orphan.example.com", -10)
]

describe("restart with durable state (TestClock)", () => {
  it.effect("restores every known resource; the downtime is a blind period, then stale ones are reported", () =>
    Effect.gen(function*() {
      const supervisor = yield* ResourceSupervisor
      assert.strictEqual(supervisor.find("Client1", "died.example.com")?.state.lastSeenMs, -100_000)
      // A client removed while the receiver was down: kept without alerts, its retention counted from now.
      assert.strictEqual(supervisor.find("RemovedClient", "orphan.example.com")?.profile.clientRemovedAtMs, 0)

      yield* at(10)
      assert.strictEqual(yield* send("aaaaaaaa", "alive.example.com"), "accepted")
      yield* at(69)
      // During grace: no timeout for died (stale since t = 20), and no `new` for known resources.
      assert.deepStrictEqual(eventsOf(yield* takeSent), [])
      yield* at(70)
      const sent = yield* takeSent
      const timeouts = sent.filter((n) => n.event === "heartbeat_mesh_heartbeat_timeout")
      assert.deepStrictEqual(timeouts.map((n) => [n.resource, n.value]), [["died.example.com", 170]])
      assert.deepStrictEqual(eventsOf(sent.filter((n) => n.event === "heartbeat_mesh_heartbeat_not_registered")), [
        "heartbeat_mesh_heartbeat_not_registered:host2.example.com"
      ])
      assert.deepStrictEqual(sent.filter((n) => n.event === "heartbeat_mesh_heartbeat_new"), [])
      // config_exist counts days since the first heartbeat the earlier run saw.
      assert.deepStrictEqual(
        sent.filter((n) => n.event === "heartbeat_mesh_heartbeat_config_exist").map((n) => [n.resource, n.value]),
        [["host1.example.com", 3]]
      )
      // The heartbeat's own timeout override survived: override.example.com is stale only from 320 s.
      assert.isFalse(timeouts.some((n) => n.resource === "override.example.com"))

      // A known resource that sends again after grace is not new either.
      yield* send("aaaaaaaa", "host1.example.com")
      yield* at(71)
      assert.deepStrictEqual((yield* takeSent).filter((n) => n.event === "heartbeat_mesh_heartbeat_new"), [])

      // What is written back: the stale status, and the orphan of a removed client with when it was removed.
      yield* at(73)
      const rows = yield* StateStore.use((store) => store.loadAll)
      const byName = new Map(rows.map((row) => [row.resource, row]))
      assert.strictEqual(byName.get("died.example.com")?.status, "stale")
      assert.strictEqual(byName.get("host1.example.com")?.lastSeenMs, 70_000)
      assert.deepInclude(byName.get("orphan.example.com"), { status: "client_removed", clientRemovedMs: 0 })
    }).pipe(Effect.provide(receiverLayer(undefined, earlierRun))))

  it.effect("a deregistered resource is deleted from the store", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("aaaaaaaa", "alive.example.com", { deregister: true })
      yield* at(102)
      const rows = yield* StateStore.use((store) => store.loadAll)
      assert.isFalse(rows.some((row) => row.resource === "alive.example.com"))
    }).pipe(Effect.provide(receiverLayer(undefined, earlierRun))))
})
