import { Effect, Layer } from "effect"
import { existsSync, renameSync } from "node:fs"
import { DatabaseSync, type StatementSync } from "node:sqlite"
import { liveCounter } from "../support/liveMetrics.ts"
import { describeNameProblem, nameProblem, printableName } from "../domain/Names.ts"
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
   ALTER TABLE resources_v2 RENAME TO resources`,
  // 3: a removed client's resources are kept for removed_client_retention: since when.
  "ALTER TABLE resources ADD COLUMN client_removed_ms INTEGER",
  // 4: history (issue 18, src/history/): status changes per resource and the notifications sent.
  // Ids are given by the writer (they are the API's paging cursors); times are wall-clock ms. A
  // status change is recorded once: a restart that finds the same stale spell again is ignored
  // (the unique index; rows without a status are never equal to another, NULLs being distinct).
  // Two indexes per table only: pruning pays for every index it touches.
  `CREATE TABLE history (
     id INTEGER PRIMARY KEY,
     at_ms INTEGER NOT NULL,
     client TEXT NOT NULL,
     resource TEXT NOT NULL,
     kind TEXT NOT NULL,
     status TEXT,
     detail TEXT
   );
   CREATE UNIQUE INDEX history_by_resource ON history (client, resource, at_ms, kind, status);
   CREATE INDEX history_by_time ON history (at_ms);
   CREATE TABLE notifications (
     id INTEGER PRIMARY KEY,
     at_ms INTEGER NOT NULL,
     client TEXT,
     resource TEXT NOT NULL,
     event TEXT NOT NULL,
     severity TEXT NOT NULL,
     notification TEXT NOT NULL
   );
   CREATE INDEX notifications_by_client ON notifications (client, id);
   CREATE INDEX notifications_by_time ON notifications (at_ms)`
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

/** A value of one row that cannot be stored; anything else thrown while writing is the store's failure. */
export class RowValueError extends Error {}

/** The payload column: JSON text; throws when the value has no JSON form (a cycle, a BigInt, too deep). */
export const serializePayload = (payload: Readonly<Record<string, unknown>>): string => {
  let text: string | undefined
  try {
    text = JSON.stringify(payload)
  } catch (error) {
    throw new RowValueError(describe(error))
  }
  if (typeof text !== "string") throw new RowValueError("the payload has no JSON form")
  return text
}

// SQLite's primary result codes that concern the statement's values, not the database.
const sqliteTooBig = 18
const sqliteConstraint = 19
const sqliteMismatch = 20
const sqliteRange = 25

/** Whether a write failed because of the row (skip it) rather than the store (fail the batch). */
export const isRowError = (error: unknown): boolean => {
  if (error instanceof RowValueError) return true
  const code = (error as { errcode?: unknown } | null)?.errcode
  if (typeof code !== "number") return false
  const primary = code & 0xff
  return primary === sqliteTooBig || primary === sqliteConstraint || primary === sqliteMismatch || primary === sqliteRange
}

/** The columns this release reads and writes; a table without one of them is not ours to guess at. */
const resourceColumns = [
  "client",
  "resource",
  "first_seen_ms",
  "last_seen_ms",
  "timeout_override_minutes",
  "payload",
  "status",
  "paused",
  "client_removed_ms"
] as const

/** The prepared statements of an open database. */
interface Statements {
  readonly upsert: StatementSync
  readonly remove: StatementSync
  readonly selectAll: StatementSync
}

const prepare = (db: DatabaseSync): Statements => {
  const columns = new Set((db.prepare("PRAGMA table_info(resources)").all() as Array<{ name: string }>).map((c) => c.name))
  if (columns.size === 0) throw new Error("it has no table resources (it was made or changed by something else)")
  const missing = resourceColumns.filter((column) => !columns.has(column))
  if (missing.length > 0) {
    throw new Error(`table resources has no column ${missing.join(", ")} (it was changed by something else)`)
  }
  return {
    upsert: db.prepare(
      `INSERT INTO resources (client, resource, first_seen_ms, last_seen_ms, timeout_override_minutes, payload, status, paused, client_removed_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (client, resource) DO UPDATE SET
         first_seen_ms = excluded.first_seen_ms, last_seen_ms = excluded.last_seen_ms,
         timeout_override_minutes = excluded.timeout_override_minutes, payload = excluded.payload,
         status = excluded.status, paused = excluded.paused, client_removed_ms = excluded.client_removed_ms`
    ),
    remove: db.prepare("DELETE FROM resources WHERE client = ? AND resource = ?"),
    selectAll: db.prepare(`SELECT ${resourceColumns.join(", ")} FROM resources`)
  }
}

const openChecked = (path: string): { readonly db: DatabaseSync; readonly statements: Statements } => {
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
    return { db, statements: prepare(db) }
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

/** A stored value as a log line may show it: type and a short, escaped excerpt (bidi and control characters as \uXXXX). */
const excerpt = (value: unknown): string =>
  value === null
    ? "NULL"
    : value instanceof Uint8Array
    ? `a blob of ${value.byteLength} bytes`
    : printableName(JSON.stringify(typeof value === "bigint" ? String(value) : value).slice(0, 80))

/**
 * A name column: text that is a usable name (`nameProblem`, issue 13.8). A row written before names
 * were checked on the wire may hold a control or bidi-override character: such a row is skipped, so
 * it never reaches the dashboard or the files. (A lone surrogate was stored as U+FFFD, a valid
 * character: those rows cannot be told apart and are restored.)
 */
const nameColumn = (row: Record<string, unknown>, column: "client" | "resource"): string => {
  const value = row[column]
  if (typeof value !== "string" || value.length === 0) throw new Error(`${column} is ${excerpt(value)}, expected a name`)
  const problem = nameProblem(value)
  if (problem !== undefined) throw new Error(`${column} ${describeNameProblem(problem)}`)
  return value
}

/** A number column; NULL is absent. Anything else reads as NaN, which the restore repairs. */
const numberColumn = (value: unknown): number | undefined =>
  value === null || value === undefined
    ? undefined
    : typeof value === "number"
    ? value
    : typeof value === "bigint"
    ? Number(value)
    : Number.NaN

const optionalTime = <K extends string>(key: K, value: number | undefined) =>
  (value === undefined ? {} : { [key]: value }) as { readonly [P in K]?: number }

export interface DecodedRow {
  readonly row: StoredResource
  /** What could not be read and was left out (the payload), for the log. */
  readonly notes: ReadonlyArray<string>
}

/**
 * One row of the resources table as the receiver takes it back. Throws, with what is wrong, for a
 * row that cannot name its resource; a payload that is not a JSON object is left out (noted).
 * Values out of range are repaired later, by the restore (`repairStored`).
 */
export const decodeRow = (row: Record<string, unknown>): DecodedRow => {
  const notes: Array<string> = []
  let payload: Record<string, unknown> | undefined = undefined
  const text = row["payload"]
  if (text !== null && text !== undefined) {
    try {
      const parsed: unknown = typeof text === "string" ? JSON.parse(text) : undefined
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) payload = parsed as Record<string, unknown>
      else notes.push(`payload ${excerpt(text)} is not a JSON object: left out`)
    } catch {
      notes.push(`payload ${excerpt(text)} is not JSON: left out`)
    }
  }
  return {
    row: {
      client: nameColumn(row, "client"),
      resource: nameColumn(row, "resource"),
      firstSeenMs: numberColumn(row["first_seen_ms"]),
      lastSeenMs: numberColumn(row["last_seen_ms"]),
      timeoutOverrideMinutes: numberColumn(row["timeout_override_minutes"]),
      payload,
      status: statusFromColumn(row["status"]),
      paused: row["paused"] === 1 || row["paused"] === 1n,
      ...optionalTime("clientRemovedMs", numberColumn(row["client_removed_ms"]))
    },
    notes
  }
}

/** How a row is named in a warning: its key columns, escaped and cut short. */
const rowName = (row: Record<string, unknown>) => `client=${excerpt(row["client"])} resource=${excerpt(row["resource"])}`

/** Rows named one by one in the log at start; past this, one line with the count. */
const namedRowWarnings = 20

/**
 * The state store on SQLite (Node's built-in node:sqlite, WAL mode). An unreadable or corrupt
 * database, or one whose table lacks a column, refuses to start with one line saying so, unless
 * asked to start from empty: then the bad file is kept aside. A single bad row is skipped with a
 * warning naming it, and the rest is restored.
 */
export const layerSqliteStateStore = (options: SqliteStateStoreOptions) =>
  Layer.effect(
    StateStore,
    Effect.gen(function*() {
      const refuse = (error: unknown) =>
        new StateStoreError({
          reason: existsSync(options.path)
            ? `state database ${options.path} cannot be used: ${describe(error)}. Nothing was changed. ` +
              "To start from empty, run with --reset-state: the file is then moved aside, not deleted."
            : `state database ${options.path} cannot be created: ${describe(error)}. ` +
              "Make its folder writable for this user, or choose another with --state-dir."
        })
      const { db, statements } = yield* Effect.acquireRelease(
        Effect.gen(function*() {
          try {
            return openChecked(options.path)
          } catch (error) {
            if (!options.resetIfUnreadable || !existsSync(options.path)) return yield* refuse(error)
            const aside = yield* Effect.try({ try: () => moveAside(options.path), catch: refuse })
            yield* Effect.logWarning("state database was unreadable; moved aside, starting from empty", {
              database: options.path,
              movedTo: aside,
              reason: describe(error)
            })
            return yield* Effect.try({ try: () => openChecked(options.path), catch: refuse })
          }
        }),
        ({ db }) => Effect.sync(() => db.close())
      )
      const { upsert, remove, selectAll } = statements
      let rowsUnreadable = 0
      yield* liveCounter(
        "state_rows_unreadable_total",
        "Rows of state.db skipped at start because they cannot name their resource (logged with their key)",
        () => rowsUnreadable
      )

      const write = (upserts: ReadonlyArray<StoredResource>, deletes: ReadonlyArray<ResourceId>) =>
        Effect.try({
          try: (): WriteReport => {
            const skipped: Array<SkippedRow> = []
            // One row's failure (a payload JSON cannot express, a value SQLite refuses) is that
            // row's alone: SQLite undoes only the failed statement and the transaction goes on. A
            // failure of the store itself (locked, full, read-only, I/O) fails the whole batch,
            // which is kept and retried.
            const each = (id: ResourceId, run: () => void) => {
              try {
                run()
              } catch (error) {
                if (!isRowError(error)) throw error
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
                    row.paused ? 1 : 0,
                    row.clientRemovedMs ?? null
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

      const loadAll = Effect.gen(function*() {
        const raw = yield* Effect.try({
          try: () => selectAll.all() as Array<Record<string, unknown>>,
          catch: (error) => new StateStoreError({ reason: `cannot read ${options.path}: ${describe(error)}` })
        })
        const rows: Array<StoredResource> = []
        const rewrite: Array<StoredResource> = []
        const warnings: Array<string> = []
        for (const candidate of raw) {
          try {
            const decoded = decodeRow(candidate)
            rows.push(decoded.row)
            if (decoded.notes.length > 0) rewrite.push(decoded.row)
            for (const note of decoded.notes) warnings.push(`${rowName(candidate)}: ${note}`)
          } catch (error) {
            rowsUnreadable++
            warnings.push(`${rowName(candidate)}: ${describe(error)}; row skipped, the others are restored`)
          }
        }
        for (const warning of warnings.slice(0, namedRowWarnings)) {
          yield* Effect.logWarning("state database row", { database: options.path, row: warning })
        }
        if (warnings.length > namedRowWarnings) {
          yield* Effect.logWarning("state database rows: more problems not listed", {
            database: options.path,
            more: warnings.length - namedRowWarnings
          })
        }
        // What was left out is written back as left out, so it is reported once, not at every start.
        // A row that cannot name its resource stays as it is: never delete what an operator may want.
        if (rewrite.length > 0) yield* Effect.ignore(write(rewrite, []))
        return rows
      })

      return StateStore.of({
        location: options.path,
        loadAll,
        write
      })
    })
  )
