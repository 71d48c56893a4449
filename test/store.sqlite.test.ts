import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { layerSqliteStateStore, migrations } from "../src/store/sqliteStateStore.ts"
import { StateStore, type StoredResource } from "../src/store/StateStore.ts"

const row = (resource: string, lastSeenMs: number, extra: Partial<StoredResource> = {}): StoredResource => ({
  client: "Client1",
  resource,
  firstSeenMs: 1000,
  lastSeenMs,
  timeoutOverrideMinutes: undefined,
  payload: undefined,
  status: "alive",
  paused: false,
  ...extra
})

const withStore = <A, E>(path: string, use: Effect.Effect<A, E, StateStore>, resetIfUnreadable = false) =>
  use.pipe(Effect.provide(layerSqliteStateStore({ path, resetIfUnreadable })))

const freshPath = () => join(mkdtempSync(join(tmpdir(), "hbm-store-")), "state.db")

describe("SQLite state store", () => {
  it.effect("writes, updates, deletes and reads back across reopenings", () =>
    Effect.gen(function*() {
      const path = freshPath()
      yield* withStore(path, StateStore.use((store) =>
        store.write([
          row("a", 5000, { payload: { uptime: 7, note: "ü" }, timeoutOverrideMinutes: 2.5 }),
          row("b", 6000, { status: "stale" }),
          row("c", 7000)
        ], [])))
      yield* withStore(path, StateStore.use((store) => store.write([row("a", 9000)], [{ client: "Client1", resource: "c" }])))
      const rows = yield* withStore(path, StateStore.use((store) => store.loadAll))
      assert.deepStrictEqual([...rows].sort((x, y) => x.resource.localeCompare(y.resource)), [
        row("a", 9000),
        row("b", 6000, { status: "stale" })
      ])
    }))

  it.effect("creates its schema at the current version, in WAL mode", () =>
    Effect.gen(function*() {
      const path = freshPath()
      yield* withStore(path, StateStore.use((store) => store.write([row("a", 1)], [])))
      const db = new DatabaseSync(path)
      assert.deepStrictEqual({ ...db.prepare("PRAGMA user_version").get() }, { user_version: migrations.length })
      assert.deepStrictEqual({ ...db.prepare("PRAGMA journal_mode").get() }, { journal_mode: "wal" })
      db.close()
    }))

  it.effect("brings a database of schema 1 up to date, keeping its rows", () =>
    Effect.gen(function*() {
      const path = freshPath()
      const v1 = new DatabaseSync(path)
      v1.exec(migrations[0]!)
      v1.exec("PRAGMA user_version = 1")
      v1.prepare("INSERT INTO resources VALUES ('Client1', 'old', 1000, 2000, NULL, '{\"uptime\":3}', 'alive')").run()
      v1.close()
      const rows = yield* withStore(path, StateStore.use((store) => store.loadAll))
      assert.deepStrictEqual(rows, [row("old", 2000, { payload: { uptime: 3 } })])
      // A paused resource that never sent can be stored now.
      yield* withStore(path, StateStore.use((store) =>
        store.write([row("quiet", 0, { firstSeenMs: undefined, lastSeenMs: undefined, status: "paused", paused: true })], [])))
      const after = yield* withStore(path, StateStore.use((store) => store.loadAll))
      assert.deepInclude(after.find((r) => r.resource === "quiet"), { lastSeenMs: undefined, paused: true, status: "paused" })
    }))

  it.effect("refuses an unreadable file with a clear message and leaves it untouched", () =>
    Effect.gen(function*() {
      const path = freshPath()
      writeFileSync(path, "this is not a database, it is a text file that got here somehow".repeat(20))
      const exit = yield* Effect.exit(withStore(path, StateStore.use((store) => store.loadAll)))
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(withStore(path, StateStore.use((store) => store.loadAll)))
      assert.strictEqual(
        error.message,
        `state database ${path} cannot be used: file is not a database. Nothing was changed. ` +
          "To start from empty, run with --reset-state: the file is then moved aside, not deleted."
      )
      assert.deepStrictEqual(readdirSync(join(path, "..")), ["state.db"])
    }))

  it.effect("with reset asked for: the bad file is moved aside, never deleted, and it starts empty", () =>
    Effect.gen(function*() {
      const path = freshPath()
      writeFileSync(path, "garbage".repeat(100))
      const rows = yield* withStore(path, StateStore.use((store) => store.loadAll), true)
      assert.deepStrictEqual(rows, [])
      const files = readdirSync(join(path, "..")).sort()
      assert.strictEqual(files.filter((f) => /^state\.db\.unreadable-\d{4}-\d\d-\d\dT/.test(f)).length, 1)
      assert.isTrue(existsSync(path))
    }))

  it.effect("refuses a database written by a newer release", () =>
    Effect.gen(function*() {
      const path = freshPath()
      const db = new DatabaseSync(path)
      db.exec(`PRAGMA user_version = ${migrations.length + 1}`)
      db.close()
      const error = yield* Effect.flip(withStore(path, StateStore.use((store) => store.loadAll)))
      assert.include(error.message, `it was written by a newer heartbeat-mesh (schema ${migrations.length + 1}, this one knows ${migrations.length})`)
    }))
})

