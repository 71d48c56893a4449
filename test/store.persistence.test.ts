import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { type ChangeCause, ResourceChanges } from "../src/changes/ResourceChanges.ts"
import { profileFor, resourceKey } from "../src/monitor/ResourceProfile.ts"
import { neverHeard, type ResourceState } from "../src/monitor/resourceRules.ts"
import { layerStatePersistence, StatePersistence } from "../src/store/StatePersistence.ts"
import { layerMemoryStateStore, StateStore } from "../src/store/StateStore.ts"
import { fixtureClient, momentAt } from "./support/changeFixtures.ts"

const heard = (lastSeenMs: number, extra: Partial<ResourceState> = {}): ResourceState => ({
  ...neverHeard,
  firstSeenMs: 1_000,
  lastSeenMs,
  ...extra
})

describe("state persistence, a subscriber of the change stream", () => {
  it.effect("keeps the latest change per resource, writes statusOf, deletes what ended, ignores restores and rare checks", () =>
    Effect.gen(function*() {
      const changes = yield* ResourceChanges
      const persistence = yield* StatePersistence
      const publish = (cause: ChangeCause, resource: string, before: ResourceState | undefined, after: ResourceState | undefined, nowMs: number) =>
        changes.publish({
          cause,
          key: resourceKey(fixtureClient.name, resource),
          profile: profileFor(fixtureClient, resource),
          before,
          after,
          notifications: [],
          moment: momentAt(nowMs)
        })
      const rows = () => StateStore.use((store) => store.loadAll).pipe(Effect.map((all) => new Map(all.map((row) => [row.resource, row]))))

      // A restore is what the store holds already; a rare check changes no state: neither is written.
      publish("restore", "restored.example.com", undefined, heard(5_000), 10_000)
      const same = heard(5_000)
      publish("rare_check", "restored.example.com", same, same, 10_000)
      assert.strictEqual(persistence.counters().pending, 0)

      // Two heartbeats and a wake of one resource: only the latest is written, with its status.
      publish("heartbeat", "a.example.com", neverHeard, heard(10_000), 10_000)
      publish("heartbeat", "a.example.com", heard(10_000), heard(20_000), 20_000)
      publish("wake", "a.example.com", heard(20_000), heard(20_000, { nextTimeoutAlertMs: 200_000 }), 140_000)
      // Paused without ever being heard: kept. A configured resource that appears: nothing to keep.
      publish("pause", "quiet.example.com", neverHeard, { ...neverHeard, paused: true }, 30_000)
      publish("configure", "new.example.com", undefined, neverHeard, 30_000)
      assert.strictEqual(persistence.counters().pending, 2)
      yield* persistence.flush
      const first = yield* rows()
      assert.deepStrictEqual([...first.keys()].sort(), ["a.example.com", "quiet.example.com", "stale.example.com"])
      assert.deepInclude(first.get("a.example.com"), { lastSeenMs: 20_000, status: "stale", paused: false })
      assert.deepInclude(first.get("quiet.example.com"), { lastSeenMs: undefined, status: "paused", paused: true })

      // An end (after undefined) deletes the row; so does a deregistration back to never heard.
      publish("deregister", "a.example.com", heard(20_000), neverHeard, 150_000)
      publish("configure", "stale.example.com", heard(1_000), undefined, 150_000)
      yield* persistence.flush
      assert.deepStrictEqual([...(yield* rows()).keys()], ["quiet.example.com"])
      assert.deepInclude(persistence.counters(), { flushes: 2, rowsWritten: 2, rowsDeleted: 2, failures: 0, pending: 0 })
    }).pipe(Effect.provide(
      layerStatePersistence({ flushIntervalMs: 3_600_000 }).pipe(
        Layer.provideMerge(ResourceChanges.layer),
        Layer.provideMerge(layerMemoryStateStore([{
          client: fixtureClient.name,
          resource: "stale.example.com",
          firstSeenMs: 1_000,
          lastSeenMs: 1_000,
          timeoutOverrideMinutes: undefined,
          payload: undefined,
          status: "stale",
          paused: false
        }]))
      )
    )))
})
