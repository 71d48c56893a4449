import { describe, expect, it } from "vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { makeCliLogger, repeatWindowMs } from "../src/cli/logging.ts"
import { runCli } from "./support/daemonProcess.ts"

/** Runs `log` through the command-line logger with a clock of our own; returns the lines written. */
const logged = (options: { format: "logfmt" | "json"; journald: boolean }, steps: ReadonlyArray<{ atMs: number; log: Effect.Effect<void> }>) => {
  const lines: Array<string> = []
  let now = 0
  const logger = makeCliLogger({ ...options, write: (line) => lines.push(line), now: () => now })
  for (const step of steps) {
    now = step.atMs
    Effect.runSync(step.log.pipe(Effect.provide(Logger.layer([logger]))))
  }
  return lines
}

describe("log lines", () => {
  it("logfmt with lower-case levels; a trailing object becomes fields; annotations too", () => {
    expect(logged({ format: "logfmt", journald: false }, [
      { atMs: 0, log: Effect.logWarning("heartbeat rejected", { reason: "not_json", bytes: 12 }) },
      { atMs: 1, log: Effect.logInfo("state restored", { resources: 1000 }).pipe(Effect.annotateLogs({ dir: "/var/lib/a b" })) },
      { atMs: 2, log: Effect.logError("flush failed", { error: 'disk "full"' }) }
    ])).toEqual([
      "level=warn msg=\"heartbeat rejected\" reason=not_json bytes=12\n",
      "level=info msg=\"state restored\" resources=1000 dir=\"/var/lib/a b\"\n",
      "level=error msg=\"flush failed\" error=\"disk \\\"full\\\"\"\n"
    ])
  })

  it("JSON: one object per line with time, level, msg and the fields", () => {
    const [line] = logged({ format: "json", journald: false }, [
      { atMs: 0, log: Effect.logWarning("heartbeat rejected", { reason: "not_json", bytes: 12 }) }
    ])
    const entry = JSON.parse(line!)
    expect(Object.keys(entry)).toEqual(["time", "level", "msg", "reason", "bytes"])
    expect(entry).toMatchObject({ level: "warn", msg: "heartbeat rejected", reason: "not_json", bytes: 12 })
    expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  })

  it("under journald each line starts with its syslog priority", () => {
    expect(logged({ format: "logfmt", journald: true }, [
      { atMs: 0, log: Effect.logInfo("a") },
      { atMs: 0, log: Effect.logWarning("b") },
      { atMs: 0, log: Effect.logError("c") },
      { atMs: 0, log: Effect.logFatal("d") }
    ])).toEqual(["<6>level=info msg=a\n", "<4>level=warn msg=b\n", "<3>level=error msg=c\n", "<2>level=fatal msg=d\n"])
  })

  it("one throttle for repeated lines: an identical line is held back for 10 s and then counted", () => {
    const same = Effect.logWarning("heartbeat file write failed", { path: "/full/disk" })
    expect(repeatWindowMs).toBe(10_000)
    expect(logged({ format: "logfmt", journald: false }, [
      { atMs: 0, log: same },
      { atMs: 1000, log: same },
      { atMs: 5000, log: Effect.logWarning("heartbeat file write failed", { path: "/other" }) },
      { atMs: 9999, log: same },
      { atMs: 10_000, log: same },
      { atMs: 25_000, log: same }
    ])).toEqual([
      "level=warn msg=\"heartbeat file write failed\" path=/full/disk\n",
      "level=warn msg=\"heartbeat file write failed\" path=/other\n",
      "level=warn msg=\"heartbeat file write failed\" path=/full/disk repeated=2\n",
      "level=warn msg=\"heartbeat file write failed\" path=/full/disk\n"
    ])
  })
})

describe("log options of a real command", () => {
  const config = () => {
    const path = join(mkdtempSync(join(tmpdir(), "hbm-log-")), "sender.yaml")
    writeFileSync(path, `enabled: true
tmp_file_check: false
receivers:
  rx.example.com:
    token: t
    payload:
      - name: broken
        cmd: ["sh", "-c", "echo oops >&2; exit 4"]
`)
    return path
  }

  it("--log-format json", async () => {
    const run = await runCli(["sender", "--config", config(), "--dry-run", "--log-format", "json"])
    expect(run.code).toBe(0)
    const entry = JSON.parse(run.stderr)
    expect(entry).toMatchObject({
      level: "warn",
      msg: "payload command failed; the heartbeat is sent with the failure noted",
      name: "broken",
      reason: "exit status 4: oops"
    })
  })

  it("JOURNAL_STREAM set (systemd): priority prefix; HEARTBEAT_MESH_LOG_LEVEL=error hides the warning", async () => {
    const journal = await runCli(["sender", "--config", config(), "--dry-run"], { JOURNAL_STREAM: "8:12345" })
    expect(journal.stderr).toBe('<4>level=warn msg="payload command failed; the heartbeat is sent with the failure noted" name=broken reason="exit status 4: oops"\n')
    const quiet = await runCli(["sender", "--config", config(), "--dry-run"], { HEARTBEAT_MESH_LOG_LEVEL: "error" })
    expect(quiet).toMatchObject({ code: 0, stderr: "" })
  })
})
