import { Context, Effect, Layer, Schema } from "effect"
import type { Notification } from "../domain/Notification.ts"
import type { HistoryKind } from "../monitor/historyRules.ts"
import type { ResourceStatus } from "../monitor/resourceStatus.ts"

/** One entry of a resource's history, as stored. Times are wall-clock milliseconds. */
export interface HistoryRow {
  /** Given by the writer, increasing: the paging cursor. */
  readonly id: number
  readonly atMs: number
  readonly client: string
  readonly resource: string
  readonly kind: HistoryKind
  /** The status from then on; undefined for entries that do not change it (check, dyndns). */
  readonly status: ResourceStatus | undefined
  readonly detail: Readonly<Record<string, unknown>> | undefined
}

/** One notification the receiver sent (handed to its outbox), as stored. */
export interface NotificationRow {
  readonly id: number
  readonly atMs: number
  readonly notification: Notification
}

export interface ResourceHistoryQuery {
  readonly client: string
  readonly resource: string
  readonly sinceMs: number | undefined
  readonly untilMs: number | undefined
  /** Only ids below this (the previous page's `next`). */
  readonly before: number | undefined
  readonly limit: number
}

export interface EventQuery {
  readonly before: number | undefined
  readonly limit: number
  readonly sinceMs: number | undefined
  readonly client: string | undefined
  readonly resource: string | undefined
  readonly event: string | undefined
  readonly severity: string | undefined
  /** The caller's scope: whether it may see a notification of this client (undefined: receiver-level). */
  readonly visible: (client: string | undefined) => boolean
  /** Rows looked at, at most, for one page (a narrow scope must not scan the whole table). */
  readonly maxScan: number
}

export interface EventPage {
  /** Newest first. */
  readonly rows: ReadonlyArray<NotificationRow>
  /** The smallest id looked at when the scan stopped at `maxScan` (the next page goes on below it). */
  readonly scanStoppedAt: number | undefined
}

/** A status change, for uptime. */
export interface StatusRow {
  readonly id: number
  readonly atMs: number
  readonly status: ResourceStatus
}

export interface HistoryWriteReport {
  /** Rows that could not be written (a value SQLite refuses): skipped, the others written. */
  readonly skipped: number
  readonly firstReason: string | undefined
}

export class HistoryStoreError extends Schema.TaggedError<HistoryStoreError>()("HistoryStoreError", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

/**
 * Where history lives: the `history` and `notifications` tables of state.db (sqliteHistoryStore.ts),
 * or memory (`--no-state`, tests).
 */
export class HistoryStore extends Context.Service<HistoryStore, {
  readonly location: string
  /** The largest ids stored (0 when empty): the writer goes on from there. */
  readonly lastIds: { readonly history: number; readonly notifications: number }
  /** One transaction; a row that cannot be written is skipped and reported, the batch fails only when the store cannot write. */
  readonly write: (
    history: ReadonlyArray<HistoryRow>,
    notifications: ReadonlyArray<NotificationRow>
  ) => Effect.Effect<HistoryWriteReport, HistoryStoreError>
  /** Newest first. */
  readonly resourceHistory: (query: ResourceHistoryQuery) => Effect.Effect<ReadonlyArray<HistoryRow>, HistoryStoreError>
  /** The status changes of a resource in `[fromMs, toMs)`, and the last one before `fromMs` (what the window starts with). */
  readonly statusChanges: (client: string, resource: string, fromMs: number, toMs: number) => Effect.Effect<ReadonlyArray<StatusRow>, HistoryStoreError>
  readonly events: (query: EventQuery) => Effect.Effect<EventPage, HistoryStoreError>
  /** Deletes at most `chunk` rows of each table older than `cutoffMs`; returns how many went. */
  readonly prune: (cutoffMs: number, chunk: number) => Effect.Effect<number, HistoryStoreError>
}>()("heartbeat-mesh/history/HistoryStore") {}

/** Bounds of the memory store: the oldest rows go first. */
export const memoryHistoryRows = 100_000
export const memoryNotificationRows = 10_000

const matchesEvent = (row: NotificationRow, query: EventQuery) => {
  const n = row.notification
  return (query.before === undefined || row.id < query.before) &&
    (query.sinceMs === undefined || row.atMs >= query.sinceMs) &&
    (query.client === undefined || n.client === query.client) &&
    (query.resource === undefined || n.resource === query.resource) &&
    (query.event === undefined || n.event === query.event) &&
    (query.severity === undefined || n.severity === query.severity)
}

/** Filters `rows` (oldest first) for an event page, newest first; shared by the memory store and the writer's pending rows. */
export const eventsIn = (rows: ReadonlyArray<NotificationRow>, query: EventQuery): EventPage => {
  const found: Array<NotificationRow> = []
  let scanned = 0
  for (let index = rows.length - 1; index >= 0 && found.length < query.limit; index--) {
    const row = rows[index]!
    if (!matchesEvent(row, query)) continue
    if (++scanned > query.maxScan) return { rows: found, scanStoppedAt: row.id + 1 }
    if (query.visible(row.notification.client)) found.push(row)
  }
  return { rows: found, scanStoppedAt: undefined }
}

/** Filters `rows` (oldest first) for a resource's history page, newest first. */
/**
 * The resource name of an entry about a whole client (a client's silence): no resource is named ""
 * (domain/Names.ts), and every resource of the client shows it in its history.
 */
export const clientWide = ""

/** A resource's entries, newest first, its client's whole-client entries among them. */
export const historyIn = (rows: ReadonlyArray<HistoryRow>, query: ResourceHistoryQuery): Array<HistoryRow> => {
  const found: Array<HistoryRow> = []
  for (let index = rows.length - 1; index >= 0 && found.length < query.limit; index--) {
    const row = rows[index]!
    if (
      row.client === query.client && (row.resource === query.resource || row.resource === clientWide) &&
      (query.before === undefined || row.id < query.before) &&
      (query.sinceMs === undefined || row.atMs >= query.sinceMs) &&
      (query.untilMs === undefined || row.atMs < query.untilMs)
    ) found.push(row)
  }
  return found
}

/** The status rows of `rows` for one resource in `[fromMs, toMs)`, with the last one before. */
export const statusChangesIn = (rows: ReadonlyArray<HistoryRow>, client: string, resource: string, fromMs: number, toMs: number): Array<StatusRow> => {
  let last: StatusRow | undefined
  const inside: Array<StatusRow> = []
  for (const row of rows) {
    if (row.status === undefined || row.client !== client || row.resource !== resource || row.atMs >= toMs) continue
    const point = { id: row.id, atMs: row.atMs, status: row.status }
    if (row.atMs < fromMs) {
      if (last === undefined || row.atMs > last.atMs || (row.atMs === last.atMs && row.id > last.id)) last = point
    } else inside.push(point)
  }
  return last === undefined ? inside : [last, ...inside]
}

/** History in memory, bounded; shared across receivers built on the same arrays (a restart within a test). */
export const layerMemoryHistoryStore = (
  history: Array<HistoryRow> = [],
  notifications: Array<NotificationRow> = []
) =>
  Layer.sync(HistoryStore, () => {
    const statusKeys = new Set(history.filter((row) => row.status !== undefined).map((row) => statusKey(row)))
    return HistoryStore.of({
      location: "memory",
      lastIds: {
        history: history.reduce((max, row) => Math.max(max, row.id), 0),
        notifications: notifications.reduce((max, row) => Math.max(max, row.id), 0)
      },
      write: (newHistory, newNotifications) =>
        Effect.sync(() => {
          for (const row of newHistory) {
            if (row.status !== undefined) {
              const key = statusKey(row)
              if (statusKeys.has(key)) continue
              statusKeys.add(key)
            }
            history.push(row)
          }
          for (const row of newNotifications) notifications.push(row)
          if (history.length > memoryHistoryRows) {
            for (const row of history.splice(0, history.length - memoryHistoryRows)) statusKeys.delete(statusKey(row))
          }
          if (notifications.length > memoryNotificationRows) notifications.splice(0, notifications.length - memoryNotificationRows)
          return { skipped: 0, firstReason: undefined }
        }),
      resourceHistory: (query) => Effect.sync(() => historyIn(history, query)),
      statusChanges: (client, resource, fromMs, toMs) => Effect.sync(() => statusChangesIn(history, client, resource, fromMs, toMs)),
      events: (query) => Effect.sync(() => eventsIn(notifications, query)),
      prune: (cutoffMs, chunk) =>
        Effect.sync(() => {
          const drop = <R extends { readonly atMs: number }>(rows: Array<R>, forget: (row: R) => void) => {
            let removed = 0
            const kept = rows.filter((row) => {
              if (removed >= chunk || row.atMs >= cutoffMs) return true
              removed++
              forget(row)
              return false
            })
            rows.length = 0
            for (const row of kept) rows.push(row)
            return removed
          }
          return drop(history, (row) => statusKeys.delete(statusKey(row))) + drop(notifications, () => {})
        })
    })
  })

const statusKey = (row: HistoryRow) => `${row.client}\u0000${row.resource}\u0000${row.atMs}\u0000${row.kind}`
