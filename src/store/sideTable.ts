import { Effect } from "effect"
import { DatabaseSync } from "node:sqlite"

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error))

/**
 * A connection of its own to state.db for a table beside the state (the outbox's deliveries,
 * silences): the state store owns the file and its version; the table is created if missing and
 * versioned by its name. Closed with the scope. Open it after the state store (ask for
 * `StateStore` first), so a file the state store refuses or moves aside is never touched here first.
 */
export const openSideTable = <E>(path: string, schema: string, failure: (reason: string) => E) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        const db = new DatabaseSync(path)
        db.exec("PRAGMA busy_timeout = 5000")
        db.exec(schema)
        return db
      },
      catch: (error) => failure(describe(error))
    }),
    (db) => Effect.sync(() => db.close())
  )
