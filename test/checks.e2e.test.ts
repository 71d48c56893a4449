import { afterEach, describe, expect, it } from "vitest"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, makeWorkspace, runCli, type RunningDaemon, startDaemon, waitFor } from "./support/daemonProcess.ts"

let daemon: RunningDaemon | undefined
afterEach(async () => {
  await daemon?.stop("SIGKILL")
  daemon = undefined
})

describe("a real sender's plugin thresholds raise check events on a real receiver", () => {
  it("memory crosses its thresholds: warning -> critical -> ok, hysteresis holding levels in between; the API shows the check", async () => {
    const httpPort = await freePort()
    const workspace = makeWorkspace(`
enabled: true
notify_devilry_sleep: 0
grace_period: 0
http:
  listen: "127.0.0.1:${httpPort}"
clients:
  Client1:
    token: checks-token
    timeout: 5
`)
    daemon = await startDaemon(workspace)
    // The sender reads its machine under host_root: a folder whose /proc/meminfo the test writes.
    const dir = mkdtempSync(join(tmpdir(), "hbm-checks-e2e-"))
    const host = join(dir, "host")
    mkdirSync(join(host, "proc"), { recursive: true })
    const setMemoryUsed = (percent: number) =>
      writeFileSync(join(host, "proc/meminfo"), `MemTotal: 1000000 kB\nMemAvailable: ${(100 - percent) * 10000} kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n`)
    const config = join(dir, "sender.yaml")
    writeFileSync(config, `
enabled: true
tmp_file_check: false
host_root: ${host}
state_file: ${join(dir, "state.json")}
plugins:
  memory: { interval: 0.001 }
thresholds:
  memory.percent: { warning: 80, critical: 90, operator: ">", hysteresis: 5 }
receivers:
  127.0.0.1:
    port: ${daemon.port}
    token: checks-token
    resource: mem.example.com
`)
    const detail = async () => {
      const response = await fetch(`http://127.0.0.1:${httpPort}/api/resources/Client1/mem.example.com`)
      return (response.status === 200 ? await response.json() : {}) as { payload?: any; checks?: any }
    }
    const checkEvents = () =>
      workspace.notifications().filter((n) => n.event.startsWith("heartbeat_mesh_check_")).map((n) => `${n.event} ${n.resource} ${n.value}`)
    // Each step is one real sender run; the sender keeps the level in its state file for hysteresis.
    const steps: Array<[number, Array<string>]> = [
      [50, []],
      [85, ["heartbeat_mesh_check_warning mem.example.com:memory.percent 85"]],
      [95, ["heartbeat_mesh_check_critical mem.example.com:memory.percent 95"]],
      [87, []], // 87 > 90 - 5: still critical
      [86, []],
      [70, ["heartbeat_mesh_check_ok mem.example.com:memory.percent 70"]]
    ]
    const expected: Array<string> = []
    for (const [percent, events] of steps) {
      setMemoryUsed(percent)
      const run = await runCli(["sender", "--config", config])
      expect(run).toMatchObject({ code: 0, stderr: "" })
      expected.push(...events)
      // The receiver holds this run's heartbeat before the next run starts.
      await until(`the receiver to hold ${percent}%`, async () => (await detail()).payload?.metrics?.memory?.percent === percent)
      // Notifications leave in order: a wrong event at a quiet step would stand before the next expected one.
      await waitFor(`${expected.length} check events`, () => checkEvents().length >= expected.length ? true : undefined)
      expect(checkEvents()).toEqual(expected)
    }
    const last = await detail()
    expect(last.checks).toEqual([{
      name: "memory.percent",
      level: "ok",
      value: 70,
      text: "memory.percent = 70 (OK; warning > 80, critical > 90)",
      source: "sender",
      since: expect.any(String),
      reportedAt: expect.any(String)
    }])
    expect(last.payload.metrics.memory).toMatchObject({ percent: 70, total_mb: 977 })
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
    expect(metrics).toMatch(/^heartbeat_mesh_checks 1$/m)
    expect(metrics).toMatch(/^heartbeat_mesh_check_notifications_total\{kind="change"\} 3$/m)
    expect(metrics).toMatch(/^heartbeat_mesh_check_entries_dropped_total 0$/m)
    const critical = workspace.notifications().find((n) => n.event === "heartbeat_mesh_check_critical")
    expect(critical).toMatchObject({
      severity: "critical",
      resource: "mem.example.com:memory.percent",
      group: "mem.example.com",
      client: "Client1",
      text: "mem.example.com memory.percent: memory.percent = 95 (CRITICAL; warning > 80, critical > 90)",
      correlate: ["heartbeat_mesh_check_ok", "heartbeat_mesh_check_warning", "heartbeat_mesh_check_unknown"]
    })
  })
})

/** Polls an async condition until it holds or the time is up. */
const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 20_000) => {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
