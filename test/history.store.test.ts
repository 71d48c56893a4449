import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { ActorProbe } from "../src/actors/ResourceActor.ts"
import { ResourceSupervisor } from "../src/actors/ResourceSupervisor.ts"
import { ResourceChanges } from "../src/changes/ResourceChanges.ts"
import { layerCheckAlerts } from "../src/checkAlerts/CheckAlerts.ts"
import { layerCheckHistory } from "../src/history/checkHistory.ts"
import { defaultHistoryOptions, History, type HistoryOptions, layerHistory } from "../src/history/History.ts"
import { type HistoryRow, HistoryStore, layerMemoryHistoryStore, type NotificationRow } from "../src/history/HistoryStore.ts"
import { layerSqliteHistoryStore } from "../src/history/sqliteHistoryStore.ts"
import { layerTest } from "../src/notify/Notifier.ts"
import { layerNotificationJournal, NotificationJournal } from "../src/notify/NotificationJournal.ts"
import { layerReceiverCoreListening } from "../src/routing/ReceiverCore.ts"
import { layerSqliteStateStore } from "../src/store/sqliteStateStore.ts"
import { layerMemoryStateStore } from "../src/store/StateStore.ts"
import { at, configFrom, send, standardYaml } from "./support/receiverHarness.ts"

const dayMs = 24 * 3600_000
const everyone = () => true

const historyOptions = (overrides: Partial<HistoryOptions> = {}): HistoryOptions => ({ ...defaultHistoryOptions, ...overrides })

/** The engine with the history subscribed from the start (as the daemon has it) and check alerts feeding it. */
const engineWithHistory = (yaml: string = standardYaml, repeats = false) => {
  const config = configFrom(yaml)
  return layerCheckHistory.pipe(
    Layer.provideMerge(layerCheckAlerts(config)),
    Layer.provideMerge(
      layerReceiverCoreListening(
        config,
        layerHistory({ retentionMs: 90 * dayMs, repeats }, historyOptions()).pipe(Layer.provide(layerMemoryHistoryStore()))
      )
    ),
    Layer.provideMerge(layerTest),
    Layer.provideMerge(layerMemoryStateStore()),
    Layer.provide(ActorProbe.layerNone)
  )
}

const entriesOf = (client: string, resource: string) =>
  Effect.gen(function*() {
    const page = yield* (yield* History).resourceHistory({ client, resource, sinceMs: undefined, untilMs: undefined, before: undefined, limit: 100 })
    return page.items.map((row) => `${row.kind}:${row.status ?? "-"}@${row.atMs / 1000}`).reverse()
  })

describe("history through the engine (TestClock)", () => {
  it.effect("status changes at their exact times, check levels, pause; uptime from them", () =>
    Effect.gen(function*() {
      // host2 keeps the receiver active; host1 (timeout 60 s + jitter 60 s) goes stale at 220 s.
      yield* at(100)
      yield* send("aaaaaaaa", "host1.example.com")
      for (let t = 100; t <= 300; t += 30) {
        yield* at(t)
        yield* send("aaaaaaaa", "host2.example.com")
      }
      yield* at(300)
      yield* send("aaaaaaaa", "host1.example.com", { payload: { checks: { disk: { level: "warning", value: 91, text: "disk 91%" } } } })
      yield* at(350)
      const supervisor = yield* ResourceSupervisor
      assert.isTrue(supervisor.setPaused("Client1", "host1.example.com", true))
      yield* at(370)
      assert.isTrue(supervisor.setPaused("Client1", "host1.example.com", false))
      yield* at(400)
      assert.deepStrictEqual(yield* entriesOf("Client1", "host1.example.com"), [
        "registered:alive@100",
        "stale:stale@220",
        "alive:alive@300",
        "check:-@300",
        "paused:paused@350",
        "resumed:alive@370"
      ])
      const page = yield* (yield* History).resourceHistory({
        client: "Client1",
        resource: "host1.example.com",
        sinceMs: 300_000,
        untilMs: 301_000,
        before: undefined,
        limit: 100
      })
      assert.deepStrictEqual(page.items.find((row) => row.kind === "check")?.detail, {
        check: "disk",
        from: null,
        level: "warning",
        value: 91,
        text: "disk 91%"
      })
      // host2's last heartbeat was at 280 s: stale at 400 s to the millisecond.
      assert.deepStrictEqual(yield* entriesOf("Client1", "host2.example.com"), ["registered:alive@100", "stale:stale@400"])
      const [day, week] = yield* (yield* History).uptime("Client1", "host1.example.com")
      // up 100..220 and 300..350 and 370..400 = 200 s; down 220..300 = 80 s; paused 20 s.
      assert.deepStrictEqual(day, {
        window: "24h",
        fromMs: 400_000 - dayMs,
        toMs: 400_000,
        upMs: 200_000,
        downMs: 80_000,
        pausedMs: 20_000,
        unmonitoredMs: dayMs - 300_000,
        percent: (200 / 280) * 100
      })
      assert.strictEqual(week!.downMs, 80_000)
    }).pipe(Effect.provide(engineWithHistory())))

  /** host1 stale from 220 s (host2 keeps the receiver active); the stored notifications of Client1 at 400 s matching `filter`. */
  const storedAt400 = (repeats: boolean, filter: { readonly resource?: string; readonly event?: string }) =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("aaaaaaaa", "host1.example.com")
      yield* send("aaaaaaaa", "host2.example.com")
      for (let t = 130; t <= 400; t += 30) {
        yield* at(t)
        yield* send("aaaaaaaa", "host2.example.com")
      }
      yield* at(400)
      const page = yield* (yield* History).events({
        before: undefined,
        limit: 100,
        sinceMs: undefined,
        client: "Client1",
        resource: filter.resource,
        event: filter.event,
        severity: undefined,
        visible: everyone,
        maxScan: 1000
      })
      assert.isNull(page.next)
      return page.items.map((row) => `${row.notification.event}@${row.atMs / 1000}`)
    }).pipe(Effect.provide(engineWithHistory(standardYaml, repeats)))

  it.effect("the notifications sent are stored, newest first, state changes only", () =>
    Effect.map(storedAt400(false, { resource: "host1.example.com" }), (stored) =>
      // The first timeout (220 s) is a state change; the ones every check interval after it
      // (280, 340, 400 s) repeat it and are not kept.
      assert.deepStrictEqual(stored, [
        "heartbeat_mesh_heartbeat_timeout@220",
        "heartbeat_mesh_heartbeat_new@100",
        "heartbeat_mesh_heartbeat_not_registered@70"
      ])))

  it.effect("with history.repeats the repeats are kept too", () =>
    Effect.map(storedAt400(true, { event: "heartbeat_mesh_heartbeat_timeout" }), (stored) =>
      assert.deepStrictEqual(stored, [
        "heartbeat_mesh_heartbeat_timeout@400",
        "heartbeat_mesh_heartbeat_timeout@340",
        "heartbeat_mesh_heartbeat_timeout@280",
        "heartbeat_mesh_heartbeat_timeout@220"
      ])))
})

const freshPath = () => join(mkdtempSync(join(tmpdir(), "hbm-history-")), "state.db")

const historyRow = (id: number, atMs: number): HistoryRow => ({
  id,
  atMs,
  client: "Client1",
  resource: "host1.example.com",
  kind: "stale",
  status: "stale",
  detail: undefined
})
const notificationRow = (id: number, atMs: number): NotificationRow => ({
  id,
  atMs,
  notification: {
    severity: "critical",
    event: "heartbeat_mesh_heartbeat_timeout",
    text: "timed out",
    resource: "host1.example.com",
    service: "heartbeat",
    group: "host1.example.com",
    value: 120,
    origin: "heartbeat_mesh/receiver.py",
    client: "Client1"
  }
})

const counts = (path: string) => {
  const db = new DatabaseSync(path, { readOnly: true })
  try {
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n
    return {
      oldHistory: count(`SELECT count(*) AS n FROM history WHERE at_ms < ${dayMs}`),
      newHistory: count(`SELECT count(*) AS n FROM history WHERE at_ms >= ${dayMs}`),
      oldNotifications: count(`SELECT count(*) AS n FROM notifications WHERE at_ms < ${dayMs}`),
      newNotifications: count(`SELECT count(*) AS n FROM notifications WHERE at_ms >= ${dayMs}`)
    }
  } finally {
    db.close()
  }
}

/** The history on SQLite (state store first: it makes the tables), with its own stream and journal. */
const sqliteHistory = (path: string, options: HistoryOptions, retentionMs = dayMs) =>
  layerHistory({ retentionMs, repeats: false }, options).pipe(
    Layer.provideMerge(layerSqliteHistoryStore(path)),
    Layer.provideMerge(layerSqliteStateStore({ path, resetIfUnreadable: false })),
    Layer.provideMerge(Layer.merge(ResourceChanges.layer, layerNotificationJournal()))
  )

describe("history pruning (TestClock, real SQLite)", () => {
  const path = freshPath()
  it.effect("deletes what is older than the retention in bounded chunks per table (5,000 here), 50 ms apart, then waits an hour", () =>
    Effect.gen(function*() {
      // Two days in; 12,000 status changes and 7,000 notifications from day 0 (past the 1-day
      // retention), 10 of each from day 2 (kept).
      const store = yield* HistoryStore
      const history = yield* History
      const old = Array.from({ length: 12_000 }, (_, i) => historyRow(i + 1, i))
      const recent = Array.from({ length: 10 }, (_, i) => historyRow(20_001 + i, 2 * dayMs - 10 + i))
      yield* store.write([...old, ...recent], [
        ...Array.from({ length: 7000 }, (_, i) => notificationRow(i + 1, i)),
        ...Array.from({ length: 10 }, (_, i) => notificationRow(10_001 + i, 2 * dayMs - 10 + i))
      ])
      assert.deepStrictEqual(counts(path), { oldHistory: 12_000, newHistory: 10, oldNotifications: 7000, newNotifications: 10 })
      yield* TestClock.adjust(59_999)
      assert.strictEqual(counts(path).oldHistory, 12_000)
      // First pruning one minute after start: one chunk per table.
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(counts(path), { oldHistory: 7000, newHistory: 10, oldNotifications: 2000, newNotifications: 10 })
      yield* TestClock.adjust(49)
      assert.strictEqual(counts(path).oldHistory, 7000)
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(counts(path), { oldHistory: 2000, newHistory: 10, oldNotifications: 0, newNotifications: 10 })
      yield* TestClock.adjust(50)
      assert.deepStrictEqual(counts(path), { oldHistory: 0, newHistory: 10, oldNotifications: 0, newNotifications: 10 })
      assert.strictEqual(history.counters().rowsPruned, 19_000)
      // What remains was written at 2 days - 10 ms on; a day after that it goes too, at the next hourly pruning.
      yield* TestClock.adjust(dayMs + 3600_000)
      assert.deepStrictEqual(counts(path), { oldHistory: 0, newHistory: 0, oldNotifications: 0, newNotifications: 0 })
      assert.strictEqual(history.counters().rowsPruned, 19_020)
      assert.strictEqual(history.counters().pruneFailures, 0)
    }).pipe(
      Effect.provide(sqliteHistory(path, historyOptions({ flushIntervalMs: 3_600_000, pruneChunk: 5000 }))),
      // The layer is built two days in.
      (effect) => Effect.andThen(TestClock.setTime(2 * dayMs), effect)
    ))
})

describe("a failing history write costs nothing but itself (real SQLite)", () => {
  const path = freshPath()
  it.effect("a locked database fails the batch (kept, served, counted); a row SQLite cannot take is skipped and counted", () =>
    Effect.gen(function*() {
      const history = yield* History
      const journal = yield* NotificationJournal
      history.record("Client1", "host1.example.com", "dyndns", { address: "192.0.2.1", outcome: "updated" })
      journal.record(notificationRow(0, 0).notification)
      const blocker = new DatabaseSync(path)
      blocker.exec("BEGIN IMMEDIATE")
      yield* history.flush
      assert.deepInclude(history.counters(), { writeFailures: 1, pending: 2, historyRowsWritten: 0 })
      // Still answered from memory meanwhile.
      const pending = yield* history.resourceHistory({
        client: "Client1",
        resource: "host1.example.com",
        sinceMs: undefined,
        untilMs: undefined,
        before: undefined,
        limit: 10
      })
      assert.deepStrictEqual(pending.items.map((row) => row.detail), [{ address: "192.0.2.1", outcome: "updated" }])
      blocker.exec("ROLLBACK")
      blocker.close()
      // A detail with no JSON form (a bug anywhere upstream) is that row's problem alone.
      history.record("Client1", "host1.example.com", "dyndns", { serial: 10n })
      history.record("Client1", "host1.example.com", "dyndns", { address: "192.0.2.2", outcome: "updated" })
      yield* history.flush
      assert.deepInclude(history.counters(), {
        writeFailures: 1,
        pending: 0,
        historyRowsWritten: 3,
        notificationRowsWritten: 1,
        rowsSkipped: 1
      })
      const db = new DatabaseSync(path, { readOnly: true })
      const stored = db.prepare("SELECT detail FROM history ORDER BY id").all() as Array<{ detail: string }>
      db.close()
      assert.deepStrictEqual(stored.map((row) => JSON.parse(row.detail).address), ["192.0.2.1", "192.0.2.2"])
    }).pipe(Effect.provide(sqliteHistory(path, historyOptions({ flushIntervalMs: 3_600_000 }), 90 * dayMs))))
})
