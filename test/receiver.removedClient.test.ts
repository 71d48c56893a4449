import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { ResourceSupervisor } from "../src/actors/ResourceSupervisor.ts"
import { makePrometheus } from "../src/http/metrics.ts"
import { layerResourceIndex } from "../src/http/ResourceIndex.ts"
import { statusOf } from "../src/monitor/resourceStatus.ts"
import { HeartbeatRouter } from "../src/routing/HeartbeatRouter.ts"
import { StatePersistence } from "../src/store/StatePersistence.ts"
import { StateStore } from "../src/store/StateStore.ts"
import { at, configFrom, receiverLayer, send, standardYaml, takeSent } from "./support/receiverHarness.ts"

// standardYaml with a one-hour retention; Client2 (token bbbbbbbb, timeout 2 min) comes and goes.
const withClient2 = `removed_client_retention: 3600\n${standardYaml}`
const withoutClient2 = withClient2.slice(0, withClient2.indexOf("  Client2:"))

const aboutB = (sent: ReadonlyArray<{ resource: string; event: string }>) =>
  sent.filter((n) => n.resource === "b1.example.com").map((n) => n.event.replace("heartbeat_mesh_heartbeat_", ""))

describe("a client removed by a reload (issue 13.3): kept without alerts, restored when re-added, forgotten after retention", () => {
  it.effect("the whole life of a removed client's resource", () =>
    Effect.gen(function*() {
      const router = yield* HeartbeatRouter
      const supervisor = yield* ResourceSupervisor
      const status = (nowSeconds: number) => {
        const actor = supervisor.find("Client2", "b1.example.com")
        return actor === undefined ? "forgotten" : statusOf(actor.state, actor.profile, supervisor.moment(nowSeconds * 1000))
      }
      const keepHost1 = (from: number, to: number) =>
        Effect.gen(function*() {
          for (let t = from; t <= to; t += 30) {
            yield* at(t)
            yield* send("aaaaaaaa", "host1.example.com")
          }
        })

      yield* at(10)
      assert.strictEqual(yield* send("bbbbbbbb", "b1.example.com", { payload: { uptime: 5 } }), "accepted")
      yield* keepHost1(10, 100)

      // Removed: its token is refused, its resource kept as it was, shown as client_removed.
      router.applyConfig(configFrom(withoutClient2))
      assert.strictEqual(status(100), "client_removed")
      assert.strictEqual(yield* send("bbbbbbbb", "b1.example.com"), "unknown_token")
      yield* takeSent
      // Silent for 2 min + 60 s: it would time out from t = 190; and a rare check comes at t = 1870.
      yield* keepHost1(130, 2000)
      assert.deepStrictEqual(aboutB(yield* takeSent), [])
      assert.strictEqual(status(2000), "client_removed")
      // The resource index (the dashboard's counts) keeps the status gauge.
      assert.include(yield* makePrometheus(), `heartbeat_mesh_resources{status="client_removed"} 1`)

      // Re-added: everything it knew is back; it has been silent since t = 10, so it is stale now.
      router.applyConfig(configFrom(withClient2))
      yield* at(2001)
      const back = supervisor.find("Client2", "b1.example.com")!
      assert.deepInclude(back.state, { firstSeenMs: 10_000, lastSeenMs: 10_000, payload: { uptime: 5 } })
      assert.strictEqual(status(2001), "stale")
      assert.deepStrictEqual(aboutB(yield* takeSent), ["timeout"])
      assert.strictEqual(yield* send("bbbbbbbb", "b1.example.com"), "accepted")

      // Removed again at 2030: after an hour without its client it is forgotten, in the store too.
      yield* at(2030)
      router.applyConfig(configFrom(withoutClient2))
      yield* keepHost1(2040, 2030 + 3600 - 30)
      assert.strictEqual(status(5600), "client_removed")
      yield* keepHost1(5630, 5700)
      assert.strictEqual(status(5700), "forgotten")
      assert.deepStrictEqual(aboutB(yield* takeSent), ["comeback", "ok"])
      yield* StatePersistence.use((persistence) => persistence.flush)
      const rows = yield* StateStore.use((store) => store.loadAll)
      assert.isFalse(rows.some((row) => row.resource === "b1.example.com"))
    }).pipe(Effect.provide(layerResourceIndex.pipe(Layer.provideMerge(receiverLayer(withClient2))))))

  it.effect("kept across a restart: the store records since when its client is removed", () =>
    Effect.gen(function*() {
      const supervisor = yield* ResourceSupervisor
      const removedAt = supervisor.find("Gone", "kept.example.com")?.profile.clientRemovedAtMs
      // Removed 10 min before this start (the stored moment), forgotten one hour after it.
      assert.strictEqual(removedAt, -600_000)
      yield* at(2940)
      assert.isDefined(supervisor.find("Gone", "kept.example.com"))
      yield* at(3060)
      assert.isUndefined(supervisor.find("Gone", "kept.example.com"))
    }).pipe(Effect.provide(receiverLayer(withClient2, [{
      client: "Gone",
      resource: "kept.example.com",
      firstSeenMs: -7_200_000,
      lastSeenMs: -900_000,
      timeoutOverrideMinutes: undefined,
      payload: undefined,
      status: "client_removed",
      paused: false,
      clientRemovedMs: -600_000
    }]))))
})
