// Tool check (npm run check:tools): a real receiver whose wall clock steps by +1 h and then -1 h
// while its monotonic clock runs on, through libfaketime (Debian's `faketime`, which .ci/run
// installs). Only the receiver's process sees the faked time: this machine's clock is never touched.
// npm test covers the same with TestClock (test/receiver.clockStep.test.ts).
import { afterEach, describe, expect, it } from "vitest"
import { existsSync, globSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { makeWorkspace, pushTo, type RunningDaemon, startDaemon, waitFor } from "../support/daemonProcess.ts"

const libfaketime = globSync("/usr/lib/*/faketime/libfaketime.so.1")[0]

// Timeout 3 s + jitter 1 s: stale 4 s after the last heartbeat.
const config = `
enabled: true
notify_devilry_sleep: 0
check_interval: 1
timeout_jitter: 1
grace_period: 1
rare_check_interval: 3600
clients:
  Clock:
    token: clock-token
    timeout: 0.05
`

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let daemon: RunningDaemon | undefined
afterEach(async () => {
  await daemon?.stop("SIGKILL")
  daemon = undefined
})

describe("wall-clock steps on a real receiver (libfaketime)", () => {
  it("+1 h: no false timeout, stored times follow the new wall clock; -1 h: the real timeout fires on time", async () => {
    expect(libfaketime, "libfaketime (Debian package faketime)").toBeDefined()
    const workspace = makeWorkspace(config)
    const offsetFile = join(workspace.dir, "faketime")
    writeFileSync(offsetFile, "+0\n")
    daemon = await startDaemon(workspace, ["--notifier", "stdout"], {
      LD_PRELOAD: libfaketime!,
      // The offset is read from the file at every call, so the test can step it while the receiver runs.
      FAKETIME_TIMESTAMP_FILE: offsetFile,
      FAKETIME_NO_CACHE: "1",
      FAKETIME_DONT_FAKE_MONOTONIC: "1"
    })
    const running = daemon
    const push = pushTo(running.port)
    let dyingSends = true
    // steady: every 0.5 s (keeps the receiver active); slow: every 2.5 s with a 9 s timeout; rare:
    // every 20 s with a 30 s timeout, so its last heartbeat is well before the step.
    let ticks = 0
    const sender = setInterval(() => {
      ticks++
      void push.heartbeat("clock-token", "steady.example.com")
      if (dyingSends) void push.heartbeat("clock-token", "dying.example.com")
      if (ticks % 5 === 1) void push.heartbeat("clock-token", "slow.example.com", { timeout: 0.15 })
      if (ticks % 40 === 1) void push.heartbeat("clock-token", "rare.example.com", { timeout: 0.5 })
    }, 500)
    try {
      const timeouts = () => running.stdoutNotifications().filter((n) => n.event === "heartbeat_mesh_heartbeat_timeout")
      await sleep(3000)
      writeFileSync(offsetFile, "+1h\n")
      await sleep(8000)
      expect(timeouts()).toEqual([])
      // What is stored is the (stepped) wall clock.
      const db = new DatabaseSync(join(workspace.stateDir, "state.db"), { readOnly: true })
      const steady = db.prepare("SELECT last_seen_ms FROM resources WHERE resource = 'steady.example.com'").get() as { last_seen_ms: number }
      db.close()
      expect(steady.last_seen_ms).toBeGreaterThan(Date.now() + 3_500_000)

      writeFileSync(offsetFile, "-1h\n")
      await sleep(1000)
      dyingSends = false
      const stoppedAt = Date.now()
      const dying = await waitFor("dying's timeout", () => timeouts().find((n) => n.resource === "dying.example.com"), 20_000)
      // Stale 4 s after its last heartbeat, reported at the next check: not an hour (or two) late.
      expect(Date.now() - stoppedAt).toBeLessThan(15_000)
      expect(dying.value).toBeGreaterThanOrEqual(4)
      expect(dying.value).toBeLessThan(10)
      expect(timeouts().filter((n) => n.resource !== "dying.example.com")).toEqual([])
    } finally {
      clearInterval(sender)
      push.close()
    }
    expect(existsSync(join(workspace.stateDir, "state.db"))).toBe(true)
  })
})
