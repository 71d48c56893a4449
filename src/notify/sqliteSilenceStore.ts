import { Effect, Layer } from "effect"
import type { Silence } from "../monitor/silences.ts"
import { openSideTable } from "../store/sideTable.ts"
import { StateStore } from "../store/StateStore.ts"
import { SilenceStore, SilenceStoreError } from "./SilenceStore.ts"

/**
 * Silences in their own table of state.db, on their own connection, as the outbox keeps its
 * deliveries: the state store owns the file and its version; this table is created if missing and
 * versioned by its name. `resource` is "" for a whole client's silence.
 */
const schema = `CREATE TABLE IF NOT EXISTS silences_v1 (
  client TEXT NOT NULL,
  resource TEXT NOT NULL,
  from_ms INTEGER NOT NULL,
  until_ms INTEGER NOT NULL,
  reason TEXT NOT NULL,
  by_name TEXT NOT NULL,
  PRIMARY KEY (client, resource)
) WITHOUT ROWID`

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error))

export const layerSqliteSilenceStore = (path: string) =>
  Layer.effect(
    SilenceStore,
    Effect.gen(function*() {
      yield* StateStore
      const db = yield* openSideTable(path, schema, (reason) => new SilenceStoreError({ reason: `cannot open ${path} for silences: ${reason}` }))
      const upsert = db.prepare(
        `INSERT INTO silences_v1 (client, resource, from_ms, until_ms, reason, by_name) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (client, resource) DO UPDATE SET from_ms = excluded.from_ms, until_ms = excluded.until_ms,
         reason = excluded.reason, by_name = excluded.by_name`
      )
      const remove = db.prepare("DELETE FROM silences_v1 WHERE client = ? AND resource = ?")
      const selectAll = db.prepare("SELECT client, resource, from_ms, until_ms, reason, by_name FROM silences_v1 ORDER BY until_ms")
      const failed = (what: string) => (error: unknown) => new SilenceStoreError({ reason: `cannot ${what} ${path}: ${describe(error)}` })
      return SilenceStore.of({
        location: path,
        loadAll: Effect.try({
          try: () =>
            (selectAll.all() as Array<Record<string, string | number>>).flatMap((row): Array<Silence> => {
              const silence: Silence = {
                client: String(row["client"]),
                resource: row["resource"] === "" ? undefined : String(row["resource"]),
                fromMs: Number(row["from_ms"]),
                untilMs: Number(row["until_ms"]),
                reason: String(row["reason"]),
                by: String(row["by_name"])
              }
              // A row no version of this code wrote (edited by hand) is left out, never trusted.
              return Number.isFinite(silence.fromMs) && Number.isFinite(silence.untilMs) && silence.client !== "" ? [silence] : []
            }),
          catch: failed("read")
        }),
        put: (silence) =>
          Effect.try({
            try: () => void upsert.run(silence.client, silence.resource ?? "", silence.fromMs, silence.untilMs, silence.reason, silence.by),
            catch: failed("write")
          }),
        remove: (client, resource) =>
          Effect.try({ try: () => void remove.run(client, resource ?? ""), catch: failed("write") })
      })
    })
  )
