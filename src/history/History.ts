/**
 * History (issue 18): a feature layer on the change stream and the notification journal. It keeps
 * every status change of every resource (`monitor/historyRules.ts`: registered, stale, alive,
 * paused, resumed, deregistered, removed), check level changes and dynamic DNS results (`record`),
 * and every notification the receiver sent, in the `HistoryStore` (state.db), written behind in
 * batches; pruned in the background in bounded chunks after `retention`. It answers the history,
 * uptime and events API from the store and what is not written yet.
 *
 * The heartbeat path pays one rule call per heartbeat (a few comparisons): only status changes are
 * history. A failing write keeps its rows for the next flush (bounded: past `maxPendingRows` the
 * oldest go, counted) and is logged once a minute; a row that cannot be written is skipped and
 * counted, the others written, as the state store does.
 */
import { Clock, Context, Effect, Layer } from "effect"
import type { ResourceChanged } from "../changes/ResourceChanges.ts"
import { ResourceChanges } from "../changes/ResourceChanges.ts"
import type { HistorySettings } from "../config/receiverRecords.ts"
import { historyOf, type HistoryKind } from "../monitor/historyRules.ts"
import { isRepeat } from "../monitor/repeats.ts"
import { type Uptime, uptimeOf, uptimeWindows } from "../monitor/uptime.ts"
import { type JournalEntry, NotificationJournal } from "../notify/NotificationJournal.ts"
import { liveCounter, liveGauge } from "../support/liveMetrics.ts"
import { wallOffsetMillis } from "../support/monotonicTime.ts"
import { runWriteBehind, throttledLog } from "../support/writeBehind.ts"
import {
  type EventQuery,
  eventsIn,
  historyIn,
  type HistoryRow,
  HistoryStore,
  type HistoryStoreError,
  type NotificationRow,
  type ResourceHistoryQuery,
  statusChangesIn
} from "./HistoryStore.ts"

export interface HistoryCounters {
  readonly historyRowsWritten: number
  readonly notificationRowsWritten: number
  readonly writeFailures: number
  readonly rowsSkipped: number
  readonly rowsDropped: number
  readonly rowsPruned: number
  readonly pruneFailures: number
  readonly pending: number
}

export interface Page<Row> {
  /** Newest first. */
  readonly items: ReadonlyArray<Row>
  /** The `before` of the next page; null when this was the last. */
  readonly next: number | null
}

export interface UptimeWindow extends Uptime {
  readonly window: (typeof uptimeWindows)[number]["name"]
}

export class History extends Context.Service<History, {
  /** Records an entry that is not a status change (a check level, a DNS update) at the current time. */
  readonly record: (client: string, resource: string, kind: HistoryKind, detail: Readonly<Record<string, unknown>>) => void
  readonly resourceHistory: (query: ResourceHistoryQuery) => Effect.Effect<Page<HistoryRow>, HistoryStoreError>
  /** Uptime over the last 24 h, 7 d and 30 d (`uptimeWindows`), up to now. */
  readonly uptime: (client: string, resource: string) => Effect.Effect<ReadonlyArray<UptimeWindow>, HistoryStoreError>
  readonly events: (query: EventQuery) => Effect.Effect<Page<NotificationRow>, HistoryStoreError>
  /** Writes what is pending now (shutdown, tests). */
  readonly flush: Effect.Effect<void>
  readonly counters: () => HistoryCounters
  readonly location: string
}>()("heartbeat-mesh/history/History") {}

export interface HistoryOptions {
  /** Entries reach the store within about this long. */
  readonly flushIntervalMs: number
  /** Pruning runs this long after start, then every `pruneIntervalMs`. */
  readonly firstPruneMs: number
  readonly pruneIntervalMs: number
  /** Rows deleted per table in one transaction, and the pause between two chunks. */
  readonly pruneChunk: number
  readonly prunePauseMs: number
  /** Rows kept in memory while the store cannot write; past this the oldest are dropped (counted). */
  readonly maxPendingRows: number
}

export const defaultHistoryOptions: HistoryOptions = {
  flushIntervalMs: 1000,
  firstPruneMs: 60_000,
  pruneIntervalMs: 3600_000,
  pruneChunk: 1000,
  prunePauseMs: 50,
  maxPendingRows: 100_000
}

/**
 * Rows of two sources (memory, store) once each, newest first. `sameAs` names what makes two rows
 * one: a status change the store already holds is ignored when written again (a stale spell found
 * again after a restart), so its pending copy is not shown either; the older row stays.
 */
const mergeNewestFirst = <R extends { readonly id: number }>(
  first: ReadonlyArray<R>,
  second: ReadonlyArray<R>,
  sameAs: (row: R) => string | number = (row) => row.id
): Array<R> => {
  const seen = new Set<string | number>()
  const merged: Array<R> = []
  for (const row of [...first, ...second].sort((a, b) => a.id - b.id)) {
    const key = sameAs(row)
    if (seen.has(key)) continue
    seen.add(key)
    merged.push(row)
  }
  return merged.reverse()
}

/** A status change is one per resource, time and kind (the store's unique index); other entries are their id. */
const sameEntry = (row: HistoryRow) => row.status === undefined ? row.id : `${row.client}\u0000${row.resource}\u0000${row.atMs}\u0000${row.kind}`

export const layerHistory = (settings: HistorySettings, options: HistoryOptions = defaultHistoryOptions) =>
  Layer.effect(
    History,
    Effect.gen(function*() {
      const store = yield* HistoryStore
      const changes = yield* ResourceChanges
      const journal = yield* NotificationJournal
      const clock = yield* Clock.Clock
      let nextHistoryId = store.lastIds.history + 1
      let nextNotificationId = store.lastIds.notifications + 1
      // Not yet written, oldest first; `inflight` is the batch being written (queries read it too).
      let pendingHistory: Array<HistoryRow> = []
      let pendingNotifications: Array<NotificationRow> = []
      let inflightHistory: ReadonlyArray<HistoryRow> = []
      let inflightNotifications: ReadonlyArray<NotificationRow> = []
      let historyRowsWritten = 0
      let notificationRowsWritten = 0
      let writeFailures = 0
      let rowsSkipped = 0
      let rowsDropped = 0
      let rowsPruned = 0
      let pruneFailures = 0
      const logFailure = throttledLog(60_000)
      const logSkipped = throttledLog(60_000)
      const logPrune = throttledLog(60_000)

      /** Keeps the pending rows in bounds: the oldest go first. */
      const bound = () => {
        const over = pendingHistory.length + pendingNotifications.length - options.maxPendingRows
        if (over <= 0) return
        const fromNotifications = Math.min(over, pendingNotifications.length)
        pendingNotifications.splice(0, fromNotifications)
        pendingHistory.splice(0, over - fromNotifications)
        rowsDropped += over
      }

      const addHistory = (row: Omit<HistoryRow, "id">) => {
        pendingHistory.push({ id: nextHistoryId++, ...row })
        bound()
      }

      // Resources whose client the history last recorded as removed (kept for
      // removed_client_retention): only reloads and restores look at it, never a heartbeat.
      const removedClients = new Set<string>()
      const clientWasRemoved = (change: ResourceChanged): boolean => {
        if (change.cause !== "configure" && change.cause !== "restore") return false
        const was = removedClients.has(change.key)
        if (change.after !== undefined && change.profile.clientRemovedAtMs !== undefined) removedClients.add(change.key)
        else removedClients.delete(change.key)
        return was
      }

      const onChange = (change: ResourceChanged) => {
        const entries = historyOf(change.cause, change.before, change.after, change.profile, change.moment, clientWasRemoved(change))
        if (entries.length === 0) return
        const offset = wallOffsetMillis(clock)
        for (const entry of entries) {
          addHistory({
            atMs: entry.atMs + offset,
            client: change.profile.client,
            resource: change.profile.resource,
            kind: entry.kind,
            status: entry.status,
            detail: undefined
          })
        }
      }

      const onNotification = (entry: JournalEntry) => {
        if (!settings.repeats && isRepeat(entry.notification)) return
        pendingNotifications.push({ id: nextNotificationId++, atMs: entry.atMs, notification: entry.notification })
        bound()
      }

      yield* changes.subscribe(onChange)
      yield* Effect.acquireRelease(
        Effect.sync(() => journal.subscribe(onNotification)),
        (unsubscribe) => Effect.sync(unsubscribe)
      )

      const flush = Effect.gen(function*() {
        if (pendingHistory.length === 0 && pendingNotifications.length === 0) return
        inflightHistory = pendingHistory
        inflightNotifications = pendingNotifications
        pendingHistory = []
        pendingNotifications = []
        const written = yield* Effect.result(store.write(inflightHistory, inflightNotifications))
        const history = inflightHistory
        const notifications = inflightNotifications
        inflightHistory = []
        inflightNotifications = []
        if (written._tag === "Failure") {
          writeFailures++
          // Kept for the next attempt, ahead of what came meanwhile (ids stay in order).
          pendingHistory = [...history, ...pendingHistory]
          pendingNotifications = [...notifications, ...pendingNotifications]
          bound()
          yield* logFailure(Effect.logError("history could not be saved; will retry, monitoring goes on", {
            store: store.location,
            pending: pendingHistory.length + pendingNotifications.length,
            reason: written.failure.reason
          }))
          return
        }
        const { skipped, firstReason } = written.success
        historyRowsWritten += history.length
        notificationRowsWritten += notifications.length
        if (skipped === 0) return
        // Not retried: the same values would fail the same way.
        rowsSkipped += skipped
        yield* logSkipped(Effect.logError("history rows could not be saved and were skipped; the others were saved", {
          store: store.location,
          skipped,
          reason: firstReason ?? ""
        }))
      })

      /** Deletes what is older than the retention, one bounded chunk at a time, pausing between chunks. */
      const prune = Effect.gen(function*() {
        const cutoffMs = clock.currentTimeMillisUnsafe() - settings.retentionMs
        while (true) {
          const removed = yield* Effect.result(store.prune(cutoffMs, options.pruneChunk))
          if (removed._tag === "Failure") {
            pruneFailures++
            yield* logPrune(Effect.logError("history could not be pruned; will retry at the next interval", {
              store: store.location,
              reason: removed.failure.reason
            }))
            return
          }
          rowsPruned += removed.success
          if (removed.success === 0) return
          yield* Effect.sleep(options.prunePauseMs)
        }
      })

      yield* runWriteBehind(options.flushIntervalMs, flush, "history flush")
      yield* Effect.forkScoped(
        Effect.andThen(Effect.sleep(options.firstPruneMs), Effect.forever(Effect.andThen(prune, Effect.sleep(options.pruneIntervalMs))))
      )

      const tableHelp = "History rows written to state.db, by table (history: status changes, checks, DNS; notifications: sent)"
      yield* liveCounter("history_rows_written_total", tableHelp, () => historyRowsWritten, { table: "history" })
      yield* liveCounter("history_rows_written_total", tableHelp, () => notificationRowsWritten, { table: "notifications" })
      yield* liveCounter("history_write_failures_total", "History writes that failed (kept and retried at the next flush)", () => writeFailures)
      yield* liveCounter("history_rows_skipped_total", "History rows that could not be written (logged, not retried; the others were written)", () => rowsSkipped)
      yield* liveCounter("history_rows_dropped_total", `History rows dropped unwritten: more than ${options.maxPendingRows} waited for a failing store`, () => rowsDropped)
      yield* liveCounter("history_rows_pruned_total", "History rows deleted after the retention", () => rowsPruned)
      yield* liveCounter("history_prune_failures_total", "Prunings of the history that failed (retried at the next interval)", () => pruneFailures)
      yield* liveGauge("history_pending", "History rows waiting for the next write", () => pendingHistory.length + pendingNotifications.length)

      const memoryHistory = () => [...inflightHistory, ...pendingHistory]
      const memoryNotifications = () => [...inflightNotifications, ...pendingNotifications]

      const resourceHistory = (query: ResourceHistoryQuery) =>
        Effect.gen(function*() {
          const recent = historyIn(memoryHistory(), query)
          const stored = recent.length >= query.limit ? [] : yield* store.resourceHistory(query)
          const items = mergeNewestFirst(recent, stored, sameEntry).slice(0, query.limit)
          return { items, next: items.length === query.limit ? items[items.length - 1]!.id : null }
        })

      const uptime = (client: string, resource: string) =>
        Effect.gen(function*() {
          const nowMs = clock.currentTimeMillisUnsafe()
          const longest = uptimeWindows[uptimeWindows.length - 1]!.ms
          const stored = yield* store.statusChanges(client, resource, nowMs - longest, nowMs + 1)
          const recent = statusChangesIn(memoryHistory(), client, resource, nowMs - longest, nowMs + 1)
          const points = mergeNewestFirst(stored, recent).reverse()
          return uptimeWindows.map((window) => ({ window: window.name, ...uptimeOf(points, nowMs - window.ms, nowMs) }))
        })

      const events = (query: EventQuery) =>
        Effect.gen(function*() {
          const memory = memoryNotifications()
          const recent = eventsIn(memory, query)
          if (recent.scanStoppedAt !== undefined) return { items: recent.rows, next: recent.scanStoppedAt }
          if (recent.rows.length >= query.limit) return { items: recent.rows, next: recent.rows[recent.rows.length - 1]!.id }
          // Stored rows are all older than the ones in memory.
          const lowest = memory.length === 0 ? undefined : memory[0]!.id
          const before = lowest === undefined ? query.before : Math.min(query.before ?? lowest, lowest)
          const stored = yield* store.events({ ...query, before, limit: query.limit - recent.rows.length })
          const items = [...recent.rows, ...stored.rows]
          return {
            items,
            next: stored.scanStoppedAt ?? (items.length === query.limit ? items[items.length - 1]!.id : null)
          }
        })

      return History.of({
        record: (client, resource, kind, detail) =>
          addHistory({ atMs: clock.currentTimeMillisUnsafe(), client, resource, kind, status: undefined, detail }),
        resourceHistory,
        uptime,
        events,
        flush,
        location: store.location,
        counters: () => ({
          historyRowsWritten,
          notificationRowsWritten,
          writeFailures,
          rowsSkipped,
          rowsDropped,
          rowsPruned,
          pruneFailures,
          pending: pendingHistory.length + pendingNotifications.length
        })
      })
    })
  )
