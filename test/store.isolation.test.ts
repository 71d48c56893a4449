import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { ResourceChanges } from "../src/changes/ResourceChanges.ts"
import { HeartbeatFiles, layerHeartbeatFiles } from "../src/files/HeartbeatFiles.ts"
import { fixtureClient, momentAt } from "./support/changeFixtures.ts"
import { profileFor, resourceKey } from "../src/monitor/ResourceProfile.ts"
import { neverHeard, receiveHeartbeat } from "../src/monitor/resourceRules.ts"
import { layerSqliteStateStore } from "../src/store/sqliteStateStore.ts"
import { layerStatePersistence, StatePersistence } from "../src/store/StatePersistence.ts"
import { StateStore, type StoredResource } from "../src/store/StateStore.ts"
import { runWriteBehind } from "../src/support/writeBehind.ts"

// Values JSON has no form for. Decode bounds keep them off the wire (a frame is JSON, at most 32
// deep), so they stand for any bug or path that would hand a writer something it cannot write.
const nestedDeep = (depth: number) => {
  let value: Record<string, unknown> = { leaf: true }
  for (let i = 0; i < depth; i++) value = { d: value }
  return value
}
const cyclic = () => {
  const value: Record<string, unknown> = { name: "loop" }
  value["self"] = value
  return value
}
const unserializable: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  ["bigint.example.com", { uptime: 10n }],
  ["cycle.example.com", cyclic()],
  ["deep.example.com", nestedDeep(100_000)]
]

const row = (resource: string, payload: Record<string, unknown> | undefined, lastSeenMs = 5000): StoredResource => ({
  client: "Client1",
  resource,
  firstSeenMs: 1000,
  lastSeenMs,
  timeoutOverrideMinutes: undefined,
  payload,
  status: "alive",
  paused: false
})

const freshPath = () => join(mkdtempSync(join(tmpdir(), "hbm-isolation-")), "state.db")

const storedResources = (path: string) => {
  const db = new DatabaseSync(path, { readOnly: true })
  try {
    return (db.prepare("SELECT resource, payload FROM resources ORDER BY resource").all() as Array<{ resource: string; payload: string | null }>)
      .map((r) => [r.resource, r.payload])
  } finally {
    db.close()
  }
}

const client = fixtureClient

/** Publishes the change an actor publishes for a heartbeat carrying `payload`. */
const heartbeat = (changes: ResourceChanges["Service"], resource: string, payload: Record<string, unknown>, nowMs: number) => {
  const profile = profileFor(client, resource)
  const moment = momentAt(nowMs)
  const transition = receiveHeartbeat(neverHeard, profile, { resource, timeoutMinutes: undefined, payload }, moment)
  changes.publish({
    cause: "heartbeat",
    key: resourceKey(client.name, resource),
    profile,
    before: neverHeard,
    after: transition.state,
    notifications: transition.notifications,
    moment
  })
}

describe("one resource that cannot be written costs only itself (issue 13.1)", () => {
  it.effect("SQLite store: rows whose payload cannot be serialized are skipped and named; the batch commits the rest", () =>
    Effect.gen(function*() {
      const path = freshPath()
      const report = yield* StateStore.use((store) =>
        store.write([
          row("before.example.com", { uptime: 1 }),
          ...unserializable.map(([resource, payload]) => row(resource, payload)),
          row("after.example.com", { uptime: 2 })
        ], [])
      ).pipe(Effect.provide(layerSqliteStateStore({ path, resetIfUnreadable: false })))
      assert.deepStrictEqual(report.skipped.map((skipped) => skipped.resource), unserializable.map(([resource]) => resource))
      assert.include(report.skipped[0]!.reason, "BigInt")
      assert.deepStrictEqual(storedResources(path), [
        ["after.example.com", "{\"uptime\":2}"],
        ["before.example.com", "{\"uptime\":1}"]
      ])
    }))

  const lockedPath = freshPath()
  it.effect("a failure of the store itself (the database locked by another process) fails the whole batch: nothing is skipped", () =>
    Effect.gen(function*() {
      const store = yield* StateStore
      yield* store.write([row("first.example.com", { uptime: 1 })], [])
      const blocker = new DatabaseSync(lockedPath)
      blocker.exec("BEGIN IMMEDIATE")
      const failed = yield* Effect.flip(store.write([row("a.example.com", { uptime: 2 }), row("b.example.com", { uptime: 3 })], []))
      assert.strictEqual(failed.reason, `cannot write ${lockedPath}: database is locked`)
      blocker.exec("ROLLBACK")
      blocker.close()
      const report = yield* store.write([row("a.example.com", { uptime: 2 }), row("b.example.com", { uptime: 3 })], [])
      assert.deepStrictEqual(report.skipped, [])
      assert.deepStrictEqual(storedResources(lockedPath).map(([resource]) => resource), ["a.example.com", "b.example.com", "first.example.com"])
    }).pipe(Effect.provide(layerSqliteStateStore({ path: lockedPath, resetIfUnreadable: false }))))

  it.effect("state persistence: every flush writes every other resource; the bad rows are counted and not retried", () =>
    Effect.gen(function*() {
      const changes = yield* ResourceChanges
      const persistence = yield* StatePersistence
      // The case: one payload in the batch made every flush fail, for every resource.
      heartbeat(changes, "good1.example.com", { uptime: 1 }, 1000)
      for (const [resource, payload] of unserializable) heartbeat(changes, resource, payload, 1000)
      heartbeat(changes, "good2.example.com", { uptime: 2 }, 1000)
      yield* persistence.flush
      assert.deepInclude(persistence.counters(), { flushes: 1, rowsWritten: 2, rowsSkipped: 3, failures: 0, pending: 0 })
      // The next flush carries only new changes; the bad resource's next good heartbeat is written.
      heartbeat(changes, "good1.example.com", { uptime: 3 }, 2000)
      heartbeat(changes, "bigint.example.com", { uptime: 4 }, 2000)
      yield* persistence.flush
      assert.deepInclude(persistence.counters(), { flushes: 2, rowsWritten: 4, rowsSkipped: 3, failures: 0, pending: 0 })
      const stored = yield* StateStore.use((store) => store.loadAll)
      assert.deepStrictEqual(
        stored.map((r) => [r.resource, r.payload]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
        [["bigint.example.com", { uptime: 4 }], ["good1.example.com", { uptime: 3 }], ["good2.example.com", { uptime: 2 }]]
      )
    }).pipe(Effect.provide(
      layerStatePersistence({ flushIntervalMs: 3_600_000 }).pipe(
        Layer.provideMerge(layerSqliteStateStore({ path: freshPath(), resetIfUnreadable: false })),
        Layer.provideMerge(ResourceChanges.layer)
      )
    )))

  const directory = mkdtempSync(join(tmpdir(), "hbm-isolation-files-"))
  it.live("heartbeat files: a resource whose line cannot be made is counted and named; the others' files are written", () =>
    Effect.gen(function*() {
      const changes = yield* ResourceChanges
      const files = yield* HeartbeatFiles
      const at = Date.UTC(2026, 0, 2, 3, 4, 5)
      heartbeat(changes, "good1.example.com", { uptime: 1 }, at)
      for (const [resource, payload] of unserializable) heartbeat(changes, resource, payload, at)
      heartbeat(changes, "good2.example.com", { uptime: 2 }, at)
      yield* files.flush
      for (const resource of ["good1_example_com", "good2_example_com"]) {
        assert.strictEqual(
          JSON.parse(readFileSync(join(directory, "current/client1", `${resource}.json`), "utf8")).utc,
          "2026-01-02 03:04:05"
        )
      }
      for (const [resource] of unserializable) {
        assert.isFalse(existsSync(join(directory, "current/client1", `${resource.replaceAll(".", "_")}.json`)))
      }
      assert.deepInclude(files.counters(), { filesWritten: 4, writeErrors: 3 })
      // The writer goes on: the next flush writes the next heartbeats.
      heartbeat(changes, "cycle.example.com", { uptime: 5 }, at + 1000)
      yield* files.flush
      assert.deepInclude(files.counters(), { filesWritten: 6, writeErrors: 3 })
      assert.deepStrictEqual(
        JSON.parse(readFileSync(join(directory, "current/client1/cycle_example_com.json"), "utf8")).payload,
        { uptime: 5 }
      )
    }).pipe(Effect.provide(layerHeartbeatFiles({ directory, flushIntervalMs: 3_600_000 }).pipe(Layer.provideMerge(ResourceChanges.layer)))))

  it.effect("a flush that dies does not end the write-behind: the next one runs on time", () =>
    Effect.gen(function*() {
      const calls: Array<number> = []
      const flush = Effect.suspend(() => {
        calls.push(calls.length)
        return calls.length === 2 ? Effect.die(new Error("a bug in one batch")) : Effect.void
      })
      yield* runWriteBehind(1000, flush)
      yield* TestClock.adjust(4000)
      assert.deepStrictEqual(calls, [0, 1, 2, 3])
    }))
})
