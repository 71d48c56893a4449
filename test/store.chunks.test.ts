import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { ResourceChanges } from "../src/changes/ResourceChanges.ts"
import { profileFor, resourceKey } from "../src/monitor/ResourceProfile.ts"
import { neverHeard, receiveHeartbeat } from "../src/monitor/resourceRules.ts"
import { layerSqliteStateStore } from "../src/store/sqliteStateStore.ts"
import { flushChunkRows, layerStatePersistence, StatePersistence } from "../src/store/StatePersistence.ts"
import { StateStore, StateStoreError } from "../src/store/StateStore.ts"
import { fixtureClient, momentAt } from "./support/changeFixtures.ts"

const freshPath = () => join(mkdtempSync(join(tmpdir(), "hbm-chunks-")), "state.db")

/** Publishes the change an actor publishes for a first heartbeat of `resource`. */
const firstHeartbeat = (changes: ResourceChanges["Service"], resource: string, nowMs: number) => {
  const profile = profileFor(fixtureClient, resource)
  const moment = momentAt(nowMs)
  const transition = receiveHeartbeat(neverHeard, profile, { resource, timeoutMinutes: undefined, payload: { n: 1 } }, moment)
  changes.publish({
    cause: "heartbeat",
    key: resourceKey(fixtureClient.name, resource),
    profile,
    before: neverHeard,
    after: transition.state,
    notifications: transition.notifications,
    moment
  })
}

const storedNames = (path: string) => {
  const db = new DatabaseSync(path, { readOnly: true })
  try {
    return (db.prepare("SELECT resource FROM resources").all() as Array<{ resource: string }>).map((r) => r.resource).sort()
  } finally {
    db.close()
  }
}

const names = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `host${String(from + i).padStart(5, "0")}.example.com`)

/**
 * The real SQLite store, seen through a seam that records the resources of each write and can fail
 * the writes numbered in `failing` (1-based) the way a locked or full database does.
 */
const recordingStore = (path: string, failing: ReadonlySet<number>) => {
  const writes: Array<ReadonlyArray<string>> = []
  const layer = Layer.effect(
    StateStore,
    Effect.gen(function*() {
      const real = yield* StateStore
      return StateStore.of({
        ...real,
        write: (upserts, deletes) =>
          Effect.suspend(() => {
            writes.push(upserts.map((row) => row.resource))
            return failing.has(writes.length)
              ? Effect.fail(new StateStoreError({ reason: `cannot write ${path}: database is locked` }))
              : real.write(upserts, deletes)
          })
      })
    })
  ).pipe(Layer.provide(layerSqliteStateStore({ path, resetIfUnreadable: false })))
  return { writes, layer }
}

const persistenceOver = (store: Layer.Layer<StateStore, StateStoreError>) =>
  layerStatePersistence({ flushIntervalMs: 3_600_000 }).pipe(Layer.provideMerge(store), Layer.provideMerge(ResourceChanges.layer))

/** `count` new resources heard at once, then one flush. */
const flushedBurst = (count: number) =>
  Effect.gen(function*() {
    const changes = yield* ResourceChanges
    const persistence = yield* StatePersistence
    const burst = names(0, count)
    for (const name of burst) firstHeartbeat(changes, name, 1000)
    yield* persistence.flush
    return { changes, persistence, burst }
  })

describe("state flushes in chunks (a burst of new resources)", () => {
  const path = freshPath()
  const recorded = recordingStore(path, new Set())
  it.effect(`a burst is written oldest first in transactions of at most ${flushChunkRows} rows`, () =>
    Effect.gen(function*() {
      const { changes, persistence, burst } = yield* flushedBurst(2 * flushChunkRows + 500)
      assert.deepStrictEqual(recorded.writes, [burst.slice(0, 1000), burst.slice(1000, 2000), burst.slice(2000)])
      assert.deepInclude(persistence.counters(), { flushes: 3, rowsWritten: 2500, failures: 0, pending: 0 })
      assert.deepStrictEqual(storedNames(path), burst)
    }).pipe(Effect.provide(persistenceOver(recorded.layer))))

  const failingPath = freshPath()
  const failing = recordingStore(failingPath, new Set([2]))
  it.effect("a store failure between chunks keeps what is left, oldest first, ahead of newer changes; nothing is lost", () =>
    Effect.gen(function*() {
      const { changes, persistence, burst } = yield* flushedBurst(2 * flushChunkRows + 500)
      // The first chunk is committed; the second failed and is kept with the third.
      assert.deepInclude(persistence.counters(), { flushes: 1, rowsWritten: 1000, failures: 1, pending: 1500 })
      assert.deepStrictEqual(storedNames(failingPath), burst.slice(0, 1000))
      const later = names(5000, 5010)
      for (const name of later) firstHeartbeat(changes, name, 2000)
      yield* persistence.flush
      assert.deepStrictEqual(failing.writes.slice(2), [burst.slice(1000, 2000), [...burst.slice(2000), ...later]])
      assert.deepInclude(persistence.counters(), { flushes: 3, rowsWritten: 2510, failures: 1, pending: 0, failingSinceMs: undefined })
      assert.deepStrictEqual(storedNames(failingPath), [...burst, ...later])
    }).pipe(Effect.provide(persistenceOver(failing.layer))))

  const concurrentPath = freshPath()
  const concurrent = recordingStore(concurrentPath, new Set())
  it.effect("a flush asked for while another is between chunks waits for it: each change is written once, none is lost", () =>
    Effect.gen(function*() {
      const changes = yield* ResourceChanges
      const persistence = yield* StatePersistence
      const burst = names(0, 3 * flushChunkRows)
      for (const name of burst) firstHeartbeat(changes, name, 1000)
      const first = yield* Effect.forkChild(persistence.flush)
      // Let the first flush write its first chunk and yield; then a change and a second flush.
      yield* Effect.yieldNow
      firstHeartbeat(changes, "late.example.com", 2000)
      yield* persistence.flush
      yield* Fiber.join(first)
      assert.deepStrictEqual(concurrent.writes.map((write) => write.length), [1000, 1000, 1000, 1])
      assert.deepStrictEqual(storedNames(concurrentPath), [...burst, "late.example.com"].sort())
    }).pipe(Effect.provide(persistenceOver(concurrent.layer))))
})
