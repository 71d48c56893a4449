import { Effect, Layer } from "effect"
import { DatabaseSync, type StatementSync } from "node:sqlite"
import type { Notification } from "../domain/Notification.ts"
import type { HistoryKind } from "../monitor/historyRules.ts"
import { type ResourceStatus, resourceStatuses } from "../monitor/resourceStatus.ts"
import { isRowError, serializePayload as json } from "../store/sqliteStateStore.ts"
import { StateStore } from "../store/StateStore.ts"
import {
  type EventPage,
  type EventQuery,
  type HistoryRow,
  HistoryStore,
  HistoryStoreError,
  type NotificationRow,
  type ResourceHistoryQuery,
  type StatusRow
} from "./HistoryStore.ts"

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error)).split("\n")[0]!

const statusOfColumn = (value: unknown): ResourceStatus | undefined => resourceStatuses.find((status) => status === value)

const objectOf = (text: unknown): Record<string, unknown> | undefined => {
  if (typeof text !== "string") return undefined
  try {
    const parsed: unknown = JSON.parse(text)
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? parsed as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

const historyRowOf = (row: Record<string, unknown>): HistoryRow => ({
  id: Number(row["id"]),
  atMs: Number(row["at_ms"]),
  client: String(row["client"]),
  resource: String(row["resource"]),
  kind: String(row["kind"]) as HistoryKind,
  status: statusOfColumn(row["status"]),
  detail: objectOf(row["detail"])
})

/** A stored notification; one whose JSON is unreadable still shows its columns. */
const notificationRowOf = (row: Record<string, unknown>): NotificationRow => ({
  id: Number(row["id"]),
  atMs: Number(row["at_ms"]),
  notification: (objectOf(row["notification"]) ?? {
    event: String(row["event"]),
    severity: String(row["severity"]),
    resource: String(row["resource"]),
    ...(row["client"] === null ? {} : { client: String(row["client"]) })
  }) as unknown as Notification
})

/**
 * History in state.db: the `history` and `notifications` tables (migration 4 of the state store,
 * which owns the file and its schema version), on a connection of its own. Built after the state
 * store (it asks for it), so the tables exist and an unreadable file was refused or moved aside
 * before this opens it.
 */
export const layerSqliteHistoryStore = (path: string) =>
  Layer.effect(
    HistoryStore,
    Effect.gen(function*() {
      yield* StateStore
      const fail = (what: string) => (error: unknown) => new HistoryStoreError({ reason: `cannot ${what} ${path}: ${describe(error)}` })
      const db = yield* Effect.acquireRelease(
        Effect.try({
          // No busy timeout: a file another process holds locked fails the write at once (kept and
          // retried at the next flush) instead of stalling the event loop, as the state store does.
          try: () => new DatabaseSync(path),
          catch: fail("open the history in")
        }),
        (db) => Effect.sync(() => db.close())
      )
      const statements = yield* Effect.try({
        try: () => ({
          insertHistory: db.prepare(
            "INSERT OR IGNORE INTO history (id, at_ms, client, resource, kind, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?)"
          ),
          insertNotification: db.prepare(
            "INSERT INTO notifications (id, at_ms, client, resource, event, severity, notification) VALUES (?, ?, ?, ?, ?, ?, ?)"
          ),
          lastHistory: db.prepare("SELECT coalesce(max(id), 0) AS id FROM history"),
          lastNotification: db.prepare("SELECT coalesce(max(id), 0) AS id FROM notifications"),
          lastStatusBefore: db.prepare(
            `SELECT id, at_ms, status FROM history
             WHERE client = ? AND resource = ? AND status IS NOT NULL AND at_ms < ?
             ORDER BY at_ms DESC, id DESC LIMIT 1`
          ),
          statusesInside: db.prepare(
            `SELECT id, at_ms, status FROM history
             WHERE client = ? AND resource = ? AND status IS NOT NULL AND at_ms >= ? AND at_ms < ?
             ORDER BY at_ms, id`
          ),
          resourceHistory: db.prepare(
            `SELECT id, at_ms, client, resource, kind, status, detail FROM history
             WHERE client = ? AND resource IN (?, '') AND id < ? AND at_ms >= ? AND at_ms < ?
             ORDER BY id DESC LIMIT ?`
          ),
          pruneHistory: db.prepare(
            "DELETE FROM history WHERE id IN (SELECT id FROM history WHERE at_ms < ? ORDER BY at_ms LIMIT ?)"
          ),
          pruneNotifications: db.prepare(
            "DELETE FROM notifications WHERE id IN (SELECT id FROM notifications WHERE at_ms < ? ORDER BY at_ms LIMIT ?)"
          ),
          firstNotificationSince: db.prepare("SELECT min(id) AS id FROM notifications WHERE at_ms >= ?")
        }),
        catch: fail("prepare the history statements for")
      })
      const lastIds = {
        history: Number((statements.lastHistory.get() as { id: number }).id),
        notifications: Number((statements.lastNotification.get() as { id: number }).id)
      }

      // One prepared statement per combination of event filters, made when first asked for.
      const eventStatements = new Map<string, StatementSync>()
      const eventStatement = (query: EventQuery) => {
        const filters = (["client", "resource", "event", "severity"] as const).filter((key) => query[key] !== undefined)
        const key = filters.join(",")
        let statement = eventStatements.get(key)
        if (statement === undefined) {
          statement = db.prepare(
            `SELECT id, at_ms, client, resource, event, severity, notification FROM notifications
             WHERE id < ? AND id >= ? ${filters.map((column) => `AND ${column} = ?`).join(" ")}
             ORDER BY id DESC`
          )
          eventStatements.set(key, statement)
        }
        return { statement, values: filters.map((column) => query[column]!) }
      }

      const write = (history: ReadonlyArray<HistoryRow>, notifications: ReadonlyArray<NotificationRow>) =>
        Effect.try({
          try: () => {
            let skipped = 0
            let firstReason: string | undefined
            // One row's failure is that row's alone; a failure of the store fails the batch (kept and retried).
            const each = (run: () => void) => {
              try {
                run()
              } catch (error) {
                if (!isRowError(error)) throw error
                skipped++
                firstReason ??= describe(error)
              }
            }
            db.exec("BEGIN")
            try {
              for (const row of history) {
                each(() =>
                  statements.insertHistory.run(
                    row.id,
                    row.atMs,
                    row.client,
                    row.resource,
                    row.kind,
                    row.status ?? null,
                    row.detail === undefined ? null : json(row.detail)
                  ))
              }
              for (const row of notifications) {
                const n = row.notification
                each(() =>
                  statements.insertNotification.run(row.id, row.atMs, n.client ?? null, n.resource, n.event, n.severity, json(n))
                )
              }
              db.exec("COMMIT")
            } catch (error) {
              if (db.isTransaction) db.exec("ROLLBACK")
              throw error
            }
            return { skipped, firstReason }
          },
          catch: fail("write history to")
        })

      const resourceHistory = (query: ResourceHistoryQuery) =>
        Effect.try({
          try: () =>
            (statements.resourceHistory.all(
              query.client,
              query.resource,
              query.before ?? Number.MAX_SAFE_INTEGER,
              query.sinceMs ?? Number.MIN_SAFE_INTEGER,
              query.untilMs ?? Number.MAX_SAFE_INTEGER,
              query.limit
            ) as Array<Record<string, unknown>>).map(historyRowOf),
          catch: fail("read history from")
        })

      const statusChanges = (client: string, resource: string, fromMs: number, toMs: number) =>
        Effect.try({
          try: (): ReadonlyArray<StatusRow> => {
            const point = (row: Record<string, unknown>): StatusRow | undefined => {
              const status = statusOfColumn(row["status"])
              return status === undefined ? undefined : { id: Number(row["id"]), atMs: Number(row["at_ms"]), status }
            }
            const before = statements.lastStatusBefore.get(client, resource, fromMs) as Record<string, unknown> | undefined
            const inside = statements.statusesInside.all(client, resource, fromMs, toMs) as Array<Record<string, unknown>>
            return [...(before === undefined ? [] : [before]), ...inside].map(point).filter((p) => p !== undefined)
          },
          catch: fail("read history from")
        })

      const events = (query: EventQuery) =>
        Effect.try({
          try: (): EventPage => {
            const since = query.sinceMs === undefined
              ? 0
              : (statements.firstNotificationSince.get(query.sinceMs) as { id: number | null }).id
            if (since === null) return { rows: [], scanStoppedAt: undefined }
            const { statement, values } = eventStatement(query)
            const rows: Array<NotificationRow> = []
            let scanned = 0
            const iterator = statement.iterate(query.before ?? Number.MAX_SAFE_INTEGER, since, ...values)
            try {
              for (const raw of iterator as Iterable<Record<string, unknown>>) {
                const client = raw["client"] === null ? undefined : String(raw["client"])
                if (query.sinceMs !== undefined && Number(raw["at_ms"]) < query.sinceMs) continue
                if (++scanned > query.maxScan) return { rows, scanStoppedAt: Number(raw["id"]) + 1 }
                if (!query.visible(client)) continue
                rows.push(notificationRowOf(raw))
                if (rows.length >= query.limit) break
              }
            } finally {
              ;(iterator as { return?: () => unknown }).return?.()
            }
            return { rows, scanStoppedAt: undefined }
          },
          catch: fail("read notifications from")
        })

      const prune = (cutoffMs: number, chunk: number) =>
        Effect.try({
          try: () =>
            Number(statements.pruneHistory.run(cutoffMs, chunk).changes) +
            Number(statements.pruneNotifications.run(cutoffMs, chunk).changes),
          catch: fail("prune history in")
        })

      return HistoryStore.of({ location: path, lastIds, write, resourceHistory, statusChanges, events, prune })
    })
  )
