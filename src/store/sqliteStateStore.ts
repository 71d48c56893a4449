import { Effect, Layer } from "effect"
import { existsSync, renameSync } from "node:fs"
import { DatabaseSync } from "node:sqlite"
import { type ResourceStatus, resourceStatuses } from "../monitor/resourceStatus.ts"
import {
  nothingSkipped,
  type ResourceId,
  type SkippedRow,
  type StoredResource,
  StateStore,
  StateStoreError,
  type WriteReport
} from "./StateStore.ts"

/**
 * Schema migrations, in order; `PRAGMA user_version` records how many have run. Append, never edit:
 * a database written by an older release is brought up to date at start.
 */
export const migrations: ReadonlyArray<string> = [
  `CREATE TABLE resources (
     client TEXT NOT NULL,
     resource TEXT NOT NULL,
     first_seen_ms INTEGER NOT NULL,
     last_seen_ms INTEGER NOT NULL,
     timeout_override_minutes REAL,
     payload TEXT,
     status TEXT NOT NULL,
     PRIMARY KEY (client, resource)
   ) WITHOUT ROWID`,
  // 2: pause/resume. A paused resource may never have sent: first/last seen become nullable,
  // which SQLite can only do by rebuilding the table.
  `CREATE TABLE resources_v2 (
     client TEXT NOT NULL,
     resource TEXT NOT NULL,
     first_seen_ms INTEGER,
     last_seen_ms INTEGER,
     timeout_override_minutes REAL,
     payload TEXT,
     status TEXT NOT NULL,
     paused INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (client, resource)
   ) WITHOUT ROWID;
   INSERT INTO resources_v2 (client, resource, first_seen_ms, last_seen_ms, timeout_override_minutes, payload, status)
     SELECT client, resource, first_seen_ms, last_seen_ms, timeout_override_minutes, payload, status FROM resources;
   DROP TABLE resources;
   ALTER TABLE resources_v2 RENAME TO resources`
]

export interface SqliteStateStoreOptions {
  readonly path: string
  /** Move an unreadable database aside (never delete it) and start from empty. */
  readonly resetIfUnreadable: boolean
}

/** The status column as written; "never" is what releases before the one status vocabulary wrote. */
const statusFromColumn = (value: unknown): ResourceStatus =>
  value === "never" ? "not_registered" : resourceStatuses.find((status) => status === value) ?? "alive"

/** An error's message, first line only: log fields and refusals stay one line. */
const describe = (error: unknown) => (error instanceof Error ? error.message : String(error)).split("\n")[0]!

/** The payload column: JSON text; throws when the value has no JSON form (a cycle, a BigInt, too deep). */
const serializePayload = (payload: Readonly<Record<string, unknown>>): string => {
  const text = JSON.stringify(payload)
  if (typeof text !== "string") throw new Error("the payload has no JSON form")
  return text
}

const openChecked = (path: string): DatabaseSync => {
  const db = new DatabaseSync(path)
  try {
    const check = db.prepare("PRAGMA quick_check").all() as Array<{ quick_check: string }>
    if (check[0]?.quick_check !== "ok") {
      throw new Error(`integrity check failed: ${check.map((row) => row.quick_check).slice(0, 3).join("; ")}`)
    }
    const version = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version
    if (version > migrations.length) {
      throw new Error(`it was written by a newer heartbeat-mesh (schema ${version}, this one knows ${migrations.length})`)
    }
    db.exec("PRAGMA journal_mode = WAL")
    // WAL + NORMAL: a committed batch survives a crash of the process (SIGKILL); only a power loss
    // can cost the last batches.
    db.exec("PRAGMA synchronous = NORMAL")
    for (let step = version; step < migrations.length; step++) {
      db.exec("BEGIN")
      db.exec(migrations[step]!)
      db.exec(`PRAGMA user_version = ${step + 1}`)
      db.exec("COMMIT")
    }
    return db
  } catch (error) {
    db.close()
    throw error
  }
}

const moveAside = (path: string): string => {
  const stamp = new Date().toISOString().replaceAll(":", "-")
  const aside = `${path}.unreadable-${stamp}`
  renameSync(path, aside)
  for (const suffix of ["-wal", "-shm"]) {
    if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix)
  }
  return aside
}

/**
 * The state store on SQLite (Node's built-in node:sqlite, WAL mode). An unreadable or corrupt
 * database refuses to start, unless asked to start from empty: then the bad file is kept aside.
 */
export const layerSqliteStateStore = (options: SqliteStateStoreOptions) =>
  Layer.effect(
    StateStore,
    Effect.gen(function*() {
      const db = yield* Effect.acquireRelease(
        Effect.gen(function*() {
          try {
            return openChecked(options.path)
          } catch (error) {
            if (!options.resetIfUnreadable || !existsSync(options.path)) {
              return yield* new StateStoreError({
                reason: `state database ${options.path} cannot be used: ${describe(error)}. Nothing was changed. ` +
                  "To start from empty, run with --reset-state: the file is then moved aside, not deleted."
              })
            }
            const aside = moveAside(options.path)
            yield* Effect.logWarning("state database was unreadable; moved aside, starting from empty", {
              database: options.path,
              movedTo: aside,
              reason: describe(error)
            })
            return openChecked(options.path)
          }
        }),
        (db) => Effect.sync(() => db.close())
      )
      const upsert = db.prepare(
        `INSERT INTO resources (client, resource, first_seen_ms, last_seen_ms, timeout_override_minutes, payload, status, paused)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (client, resource) DO UPDATE SET
           first_seen_ms = excluded.first_seen_ms, last_seen_ms = excluded.last_seen_ms,
           timeout_override_minutes = excluded.timeout_override_minutes, payload = excluded.payload,
           status = excluded.status, paused = excluded.paused`
      )
      const remove = db.prepare("DELETE FROM resources WHERE client = ? AND resource = ?")
      const selectAll = db.prepare(
        "SELECT client, resource, first_seen_ms, last_seen_ms, timeout_override_minutes, payload, status, paused FROM resources"
      )

      return StateStore.of({
        location: options.path,
        loadAll: Effect.try({
          try: () =>
            (selectAll.all() as Array<Record<string, string | number | null>>).map((row): StoredResource => ({
              client: String(row["client"]),
              resource: String(row["resource"]),
              firstSeenMs: row["first_seen_ms"] === null ? undefined : Number(row["first_seen_ms"]),
              lastSeenMs: row["last_seen_ms"] === null ? undefined : Number(row["last_seen_ms"]),
              timeoutOverrideMinutes: row["timeout_override_minutes"] === null ? undefined : Number(row["timeout_override_minutes"]),
              payload: row["payload"] === null ? undefined : JSON.parse(String(row["payload"])),
              status: statusFromColumn(row["status"]),
              paused: row["paused"] === 1
            })),
          catch: (error) => new StateStoreError({ reason: `cannot read ${options.path}: ${describe(error)}` })
        }),
        write: (upserts, deletes) =>
          Effect.try({
            try: (): WriteReport => {
              const skipped: Array<SkippedRow> = []
              // One row's failure (a payload JSON cannot express, a value SQLite refuses) is that
              // row's alone: SQLite undoes only the failed statement and the transaction goes on.
              const each = (id: ResourceId, write: () => void) => {
                try {
                  write()
                } catch (error) {
                  skipped.push({ client: id.client, resource: id.resource, reason: describe(error) })
                }
              }
              db.exec("BEGIN")
              try {
                for (const id of deletes) each(id, () => remove.run(id.client, id.resource))
                for (const row of upserts) {
                  each(row, () =>
                    upsert.run(
                      row.client,
                      row.resource,
                      row.firstSeenMs ?? null,
                      row.lastSeenMs ?? null,
                      row.timeoutOverrideMinutes ?? null,
                      row.payload === undefined ? null : serializePayload(row.payload),
                      row.status,
                      row.paused ? 1 : 0
                    ))
                }
                db.exec("COMMIT")
              } catch (error) {
                if (db.isTransaction) db.exec("ROLLBACK")
                throw error
              }
              return skipped.length === 0 ? nothingSkipped : { skipped }
            },
            catch: (error) => new StateStoreError({ reason: `cannot write ${options.path}: ${describe(error)}` })
          })
      })
    })
  )
