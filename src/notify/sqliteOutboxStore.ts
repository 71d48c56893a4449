import { Effect, Layer } from "effect"
import type { Notification } from "../domain/Notification.ts"
import { openSideTable } from "../store/sideTable.ts"
import { StateStore } from "../store/StateStore.ts"
import { OutboxStore, OutboxStoreError, type PendingDelivery } from "./OutboxStore.ts"

/**
 * The outbox's own table in state.db, on its own connection: the state store owns the file and its
 * schema version; this table is created if missing and versioned by its name. Built after the state
 * store (it asks for it), so a database the state store refuses or moves aside is never touched
 * here first.
 */
const schema = `CREATE TABLE IF NOT EXISTS outbox_deliveries_v1 (
  channel TEXT NOT NULL,
  id TEXT NOT NULL,
  notification TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (channel, id)
) WITHOUT ROWID`

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error))

export const layerSqliteOutboxStore = (path: string) =>
  Layer.effect(
    OutboxStore,
    Effect.gen(function*() {
      yield* StateStore
      const db = yield* openSideTable(path, schema, (reason) => new OutboxStoreError({ reason: `cannot open ${path} for undelivered notifications: ${reason}` }))
      const insert = db.prepare(
        `INSERT INTO outbox_deliveries_v1 (channel, id, notification, attempts, created_ms) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (channel, id) DO UPDATE SET attempts = excluded.attempts`
      )
      const remove = db.prepare("DELETE FROM outbox_deliveries_v1 WHERE channel = ? AND id = ?")
      const selectAll = db.prepare(
        "SELECT channel, id, notification, attempts, created_ms FROM outbox_deliveries_v1 ORDER BY created_ms, id"
      )
      return OutboxStore.of({
        location: path,
        loadAll: Effect.gen(function*() {
          const rows = yield* Effect.try({
            try: () => selectAll.all() as Array<Record<string, string | number>>,
            catch: (error) => new OutboxStoreError({ reason: `cannot read ${path}: ${describe(error)}` })
          })
          const pending: Array<PendingDelivery> = []
          for (const row of rows) {
            try {
              pending.push({
                channel: String(row["channel"]),
                id: String(row["id"]),
                notification: JSON.parse(String(row["notification"])) as Notification,
                attempts: Number(row["attempts"]),
                createdMs: Number(row["created_ms"])
              })
            } catch (error) {
              yield* Effect.logWarning("undelivered notification unreadable; skipped", {
                channel: String(row["channel"]),
                id: String(row["id"]),
                reason: describe(error)
              })
              remove.run(String(row["channel"]), String(row["id"]))
            }
          }
          return pending
        }),
        write: (inserts, deletes) =>
          Effect.try({
            try: () => {
              db.exec("BEGIN")
              try {
                for (const ref of deletes) remove.run(ref.channel, ref.id)
                for (const row of inserts) {
                  insert.run(row.channel, row.id, JSON.stringify(row.notification), row.attempts, row.createdMs)
                }
                db.exec("COMMIT")
              } catch (error) {
                db.exec("ROLLBACK")
                throw error
              }
            },
            catch: (error) => new OutboxStoreError({ reason: `cannot write ${path}: ${describe(error)}` })
          })
      })
    })
  )
