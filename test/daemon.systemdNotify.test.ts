import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { notifySystemd } from "../src/daemon/SystemdNotify.ts"

/** A `systemd-notify` on PATH that records its arguments and exits with `status`. */
const fakeSystemdNotify = (status: number) => {
  const dir = mkdtempSync(join(tmpdir(), "hbm-sdnotify-"))
  const record = join(dir, "calls")
  writeFileSync(join(dir, "systemd-notify"), `#!/bin/sh\necho "$@" >> ${record}\nexit ${status}\n`)
  chmodSync(join(dir, "systemd-notify"), 0o755)
  return { dir, record }
}

/** Runs `effect` with NOTIFY_SOCKET set and `dir` first on PATH, restoring both after. */
const underSystemd = <A, E, R>(dir: string, effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const saved = { path: process.env["PATH"], socket: process.env["NOTIFY_SOCKET"] }
      process.env["PATH"] = `${dir}:${saved.path}`
      process.env["NOTIFY_SOCKET"] = "/run/systemd/notify"
      return saved
    }),
    () => effect,
    (saved) =>
      Effect.sync(() => {
        process.env["PATH"] = saved.path
        if (saved.socket === undefined) delete process.env["NOTIFY_SOCKET"]
        else process.env["NOTIFY_SOCKET"] = saved.socket
      })
  )

describe("sd_notify through effect's ChildProcess (a real child process)", () => {
  it.live("runs systemd-notify --pid=<our pid> READY=1, then STOPPING=1", () =>
    Effect.gen(function*() {
      const fake = fakeSystemdNotify(0)
      yield* underSystemd(fake.dir, Effect.andThen(notifySystemd("READY=1"), notifySystemd("STOPPING=1")))
      assert.deepStrictEqual(readFileSync(fake.record, "utf8").trim().split("\n"), [
        `--pid=${process.pid} READY=1`,
        `--pid=${process.pid} STOPPING=1`
      ])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a failing systemd-notify is a warning, not a failure", () =>
    Effect.gen(function*() {
      const fake = fakeSystemdNotify(3)
      yield* underSystemd(fake.dir, notifySystemd("READY=1"))
      assert.strictEqual(readFileSync(fake.record, "utf8").trim(), `--pid=${process.pid} READY=1`)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("outside systemd (no NOTIFY_SOCKET) it runs nothing", () =>
    Effect.gen(function*() {
      const fake = fakeSystemdNotify(0)
      const saved = process.env["NOTIFY_SOCKET"]
      delete process.env["NOTIFY_SOCKET"]
      const path = process.env["PATH"]
      process.env["PATH"] = `${fake.dir}:${path}`
      yield* notifySystemd("READY=1").pipe(Effect.ensuring(Effect.sync(() => {
        process.env["PATH"] = path
        if (saved !== undefined) process.env["NOTIFY_SOCKET"] = saved
      })))
      assert.throws(() => readFileSync(fake.record, "utf8"))
    }).pipe(Effect.provide(NodeServices.layer)))
})
