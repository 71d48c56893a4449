import { describe, expect, it } from "vitest"
import { Effect, Result } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { arch, hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { layerThresholds, builtInThresholds } from "../src/checks/thresholds.ts"
import { parseSenderConfig } from "../src/config/SenderConfig.ts"
import { type PluginSettings, type SenderPlugins } from "../src/config/senderPlugins.ts"
import { nagiosResult, parsePerfdata, runNagiosChecks } from "../src/sender/plugins/nagios.ts"
import { diskMounts, parseMounts } from "../src/sender/plugins/procfs.ts"
import { isDue, runPlugins } from "../src/sender/plugins/runPlugins.ts"
import { readPluginState } from "../src/sender/plugins/pluginState.ts"
import { liveSource } from "../src/sender/plugins/source.ts"
import { fixtureSource } from "./support/fixtureSystem.ts"
import { version } from "../src/support/version.ts"

const run = <A, E>(effect: Effect.Effect<A, E, any>) => Effect.runPromise(effect.pipe(Effect.provide(NodeServices.layer)) as Effect.Effect<A, E>)

const plugin = (name: PluginSettings["name"], fields: Partial<PluginSettings> = {}): PluginSettings => ({
  name,
  intervalSeconds: 60,
  mounts: undefined,
  interfaces: undefined,
  checks: [],
  ...fields
})

const allMeasuring: SenderPlugins = {
  plugins: [plugin("cpu"), plugin("memory"), plugin("disk", { intervalSeconds: 300 }), plugin("network"), plugin("filesystem", { intervalSeconds: 3600 }), plugin("os", { intervalSeconds: 3600 })],
  thresholds: layerThresholds([builtInThresholds, {
    "memory.percent": { warning: 80, critical: 95, hysteresis: 2 },
    "disk.*.percent": { warning: 85, critical: 95 }
  }]),
  stateFile: undefined,
  hostRoot: undefined
}

const tempDir = () => mkdtempSync(join(tmpdir(), "hbm-plugins-"))
// 2026-12-01 12:00:00 UTC: the start of a minute and of a 5-minute window.
const t0 = Date.UTC(2026, 11, 1, 12, 0, 0)

describe("plugins on fixture /proc and statfs data", () => {
  it("first run: cpu since boot, memory, disk per mount, network totals (no rates yet), filesystem and os information", async () => {
    const stateFile = join(tempDir(), "state.json")
    const report = await run(runPlugins(allMeasuring, { stateFile, nowMs: t0, force: false, persist: true, senderVersion: "9.9.9", source: fixtureSource("t0") }))
    expect(report.ran).toEqual(["cpu", "memory", "disk", "network", "filesystem", "os"])
    expect(report.problems).toEqual([])
    expect(report.metrics).toEqual({
      cpu: { percent: 15, iowait_percent: 5, load_1min: 0.52, load_5min: 0.41, load_15min: 0.3, cores: 2 },
      memory: { percent: 75, available_mb: 2000, total_mb: 8000, swap_percent: 25, swap_used_mb: 512, swap_total_mb: 2048 },
      disk: {
        "/": { percent: 84.2, free_mb: 1536, total_mb: 10240, inodes_percent: 25 },
        "/backup": { percent: 0, free_mb: 1024, total_mb: 1024, inodes_percent: 0 },
        "/var/lib/my data": { percent: 90, free_mb: 10240, total_mb: 102400 }
      },
      network: {
        eth0: { rx_errors: 2, tx_errors: 1, rx_dropped: 1, tx_dropped: 0 },
        "eth0.100": { rx_errors: 0, tx_errors: 0, rx_dropped: 0, tx_dropped: 0 }
      },
      filesystem: {
        mounts: [
          { mount: "/", type: "ext4", device: "/dev/sda1", read_only: false },
          { mount: "/backup", type: "ext4", device: "/dev/sdb1", read_only: true },
          { mount: "/srv/bind", type: "ext4", device: "/dev/sda1", read_only: false },
          { mount: "/var/lib/my data", type: "xfs", device: "/dev/sda2", read_only: false }
        ]
      },
      os: {
        distribution: "Debian GNU/Linux 12 (bookworm)",
        distribution_id: "debian",
        distribution_version: "12",
        kernel: "6.1.0-18-amd64",
        hostname: "host-a.example.com",
        architecture: arch(),
        sender_version: "9.9.9",
        boot_time: "2025-12-01T12:00:00.000Z"
      }
    })
    expect(report.checks).toEqual({
      "memory.percent": { level: "ok", value: 75, text: "memory.percent = 75 (OK; warning > 80, critical > 95)" },
      "disk./.percent": { level: "ok", value: 84.2, text: "disk./.percent = 84.2 (OK; warning > 85, critical > 95)" },
      "disk./backup.percent": { level: "ok", value: 0, text: "disk./backup.percent = 0 (OK; warning > 85, critical > 95)" },
      "disk./var/lib/my data.percent": {
        level: "warning",
        value: 90,
        text: "disk./var/lib/my data.percent = 90 (WARNING; warning > 85, critical > 95)"
      }
    })
    // Written atomically: the state file and nothing else in its folder.
    expect(readdirSync(join(stateFile, ".."))).toEqual(["state.json"])
    const { state } = await readPluginState(stateFile)
    expect(state.levels).toEqual({ "memory.percent": "ok", "disk./.percent": "ok", "disk./backup.percent": "ok", "disk./var/lib/my data.percent": "warning" })
    expect(state.plugins["cpu"]).toEqual({ ranAtMs: t0, metrics: report.metrics["cpu"], counters: { total: 10000, idle: 8500, iowait: 500 } })
  })

  it("a minute later: cpu and network since the last run; disk (300 s) and the info plugins are not due and send their last result", async () => {
    const stateFile = join(tempDir(), "state.json")
    const first = await run(runPlugins(allMeasuring, { stateFile, nowMs: t0, force: false, persist: true, senderVersion: version, source: fixtureSource("t0") }))
    const later = await run(runPlugins(allMeasuring, { stateFile, nowMs: t0 + 60_000, force: false, persist: true, senderVersion: version, source: fixtureSource("t1") }))
    expect(later.ran).toEqual(["cpu", "memory", "network"])
    expect(later.metrics["cpu"]).toEqual({ percent: 40, iowait_percent: 20, load_1min: 3.1, load_5min: 1.2, load_15min: 0.75, cores: 2 })
    expect(later.metrics["memory"]).toEqual({ percent: 95, available_mb: 400, total_mb: 8000, swap_percent: 0, swap_used_mb: 0, swap_total_mb: 0 })
    expect(later.metrics["network"]).toEqual({
      eth0: { rx_bytes_per_s: 100000, tx_bytes_per_s: 10000, errors_per_s: 0.1, rx_errors: 8, tx_errors: 1, rx_dropped: 1, tx_dropped: 0 },
      // rx went backwards (the interface was re-created): no rx rate this time, tx still has one
      "eth0.100": { tx_bytes_per_s: 10, errors_per_s: 0, rx_errors: 0, tx_errors: 0, rx_dropped: 0, tx_dropped: 0 }
    })
    expect(later.metrics["disk"]).toEqual(first.metrics["disk"])
    expect(later.metrics["os"]).toEqual(first.metrics["os"])
    // 95 is not above 95: warning, not critical
    expect(later.checks["memory.percent"]?.level).toBe("warning")
  })

  it("a missing or corrupt state file is no error: the run measures as a first run and writes a good one", async () => {
    const dir = tempDir()
    const stateFile = join(dir, "state.json")
    writeFileSync(stateFile, "{\"version\": 1, \"plugins\": {\"cpu\": ")
    const report = await run(runPlugins(allMeasuring, { stateFile, nowMs: t0, force: false, persist: true, senderVersion: version, source: fixtureSource("t0") }))
    expect(report.problems).toEqual([])
    expect(report.notes).toEqual([`${stateFile}: state file is not valid JSON; starting afresh`])
    expect(report.metrics["cpu"]).toMatchObject({ percent: 15 })
    expect((await readPluginState(stateFile)).note).toBeUndefined()
    const missing = await run(runPlugins(allMeasuring, { stateFile: join(dir, "sub/dir/new.json"), nowMs: t0, force: false, persist: true, senderVersion: version, source: fixtureSource("t0") }))
    expect(missing.notes).toEqual([`${join(dir, "sub/dir/new.json")}: no state yet (ENOENT)`])
    expect(existsSync(join(dir, "sub/dir/new.json"))).toBe(true)
  })

  it("a state file that cannot be written is a problem to log, not a failure; the metrics are still there", async () => {
    const dir = tempDir()
    const blocker = join(dir, "plain-file")
    writeFileSync(blocker, "")
    const report = await run(runPlugins(allMeasuring, { stateFile: join(blocker, "state.json"), nowMs: t0, force: false, persist: true, senderVersion: version, source: fixtureSource("t0") }))
    expect(report.problems).toHaveLength(1)
    expect(report.problems[0]).toMatch(/^cannot write the plugin state \(rates and hysteresis restart next run\): .*plain-file\/state.json: EEXIST: file already exists, mkdir /)
    expect(report.metrics["memory"]).toMatchObject({ percent: 75 })
  })

  it("force runs every plugin whatever its interval; persist false leaves the state file alone", async () => {
    const stateFile = join(tempDir(), "state.json")
    await run(runPlugins(allMeasuring, { stateFile, nowMs: t0, force: false, persist: true, senderVersion: version, source: fixtureSource("t0") }))
    const before = readFileSync(stateFile, "utf8")
    const printed = await run(runPlugins(allMeasuring, { stateFile, nowMs: t0 + 1000, force: true, persist: false, senderVersion: version, source: fixtureSource("t1") }))
    expect(printed.ran).toEqual(["cpu", "memory", "disk", "network", "filesystem", "os"])
    expect(readFileSync(stateFile, "utf8")).toBe(before)
  })

  it("a plugin whose files are missing reports its error and the others still run", async () => {
    const report = await run(runPlugins({ ...allMeasuring, plugins: [plugin("memory"), plugin("cpu")] }, {
      stateFile: join(tempDir(), "s.json"), nowMs: t0, force: false, persist: true, senderVersion: version,
      source: { ...fixtureSource("t0"), readText: (path) => path === "/proc/meminfo" ? Promise.reject(new Error("ENOENT: /proc/meminfo")) : fixtureSource("t0").readText(path) }
    }))
    expect(report.metrics["memory"]).toEqual({ error: "ENOENT: /proc/meminfo" })
    expect(report.metrics["cpu"]).toMatchObject({ percent: 15 })
    expect(report.problems).toEqual(["plugin memory failed: ENOENT: /proc/meminfo"])
  })

  it("disk: only the listed mounts when `mounts` is given; bind mounts and container layers once or not at all", () => {
    const mounts = parseMounts(readFileSync(join(import.meta.dirname, "fixtures/system/t0/proc/self/mounts"), "utf8"))
    expect(diskMounts(mounts).map((m) => m.mountPoint)).toEqual(["/", "/backup", "/var/lib/my data"])
  })
})

describe("intervals: at most once per interval window", () => {
  it.each<[string, number, number | undefined, number, boolean]>([
    ["never ran", 60, undefined, t0, true],
    ["cron one minute later", 60, t0 + 300, t0 + 60_250, true],
    ["cron a bit early next minute", 60, t0 + 900, t0 + 60_100, true],
    ["twice in one minute (--every 10s)", 60, t0 + 100, t0 + 10_100, false],
    ["300 s, 4 minutes later", 300, t0 + 500, t0 + 240_000, false],
    ["300 s, 5 minutes later", 300, t0 + 500, t0 + 300_200, true],
    ["clock went back", 60, t0 + 120_000, t0, true]
  ])("%s", (_, interval, last, now, due) => {
    expect(isDue(interval, last === undefined ? undefined : { ranAtMs: last, metrics: {}, counters: undefined }, now)).toBe(due)
  })
})

describe("host_root: the machine seen through another root", () => {
  it("reads /proc under the root and statfs the mount points under it", async () => {
    const root = tempDir()
    mkdirSync(join(root, "proc/self"), { recursive: true })
    writeFileSync(join(root, "proc/meminfo"), "MemTotal: 1024000 kB\nMemAvailable: 256000 kB\n")
    writeFileSync(join(root, "proc/self/mounts"), "/dev/sda1 / ext4 rw 0 0\n")
    const config = { ...allMeasuring, plugins: [plugin("memory"), plugin("disk")], hostRoot: root }
    const report = await run(runPlugins(config, { stateFile: join(root, "s.json"), nowMs: t0, force: false, persist: false, senderVersion: version }))
    expect(report.metrics["memory"]).toMatchObject({ percent: 75, total_mb: 1000 })
    // statfs of <root>/: the file system the temporary folder is on
    const { statfsSync } = await import("node:fs")
    const space = statfsSync(root)
    expect(report.metrics["disk"]).toEqual({ "/": expect.objectContaining({ total_mb: Math.round((space.blocks * space.bsize) / 1048576) }) })
  })
})

describe("the real machine (smoke test)", () => {
  it("every plugin reads this host's /proc and statfs", async () => {
    const report = await run(runPlugins(allMeasuring, { stateFile: join(tempDir(), "s.json"), nowMs: Date.now(), force: true, persist: true, senderVersion: version, source: liveSource }))
    expect(report.problems).toEqual([])
    const { cpu, memory, disk, os } = report.metrics as Record<string, Record<string, unknown>>
    expect(cpu!["percent"]).toBeGreaterThanOrEqual(0)
    expect(cpu!["percent"]).toBeLessThanOrEqual(100)
    expect(cpu!["cores"]).toBeGreaterThan(0)
    expect(memory!["total_mb"]).toBeGreaterThan(0)
    expect(Object.keys(disk!)).toContain("/")
    expect(disk!["/"]).toMatchObject({ percent: expect.any(Number), free_mb: expect.any(Number) })
    expect(os!["hostname"]).toBe(hostname())
    expect(os!["kernel"]).toBe(readFileSync("/proc/sys/kernel/osrelease", "utf8").trim())
  })
})

describe("nagios: real plugin scripts", () => {
  const script = (dir: string, name: string, body: string) => {
    const path = join(dir, name)
    writeFileSync(path, `#!/bin/sh\n${body}\n`)
    chmodSync(path, 0o755)
    return path
  }

  it("each exit code, output and perfdata; a missing program; exit codes over 3", async () => {
    const dir = tempDir()
    const checks = [
      { name: "ok", body: `echo "DISK OK - free space: / 3326 MB (56%);| /=2643MB;5948;5958;0;5968"\nexit 0` },
      { name: "warn", body: `echo "LOAD WARNING - load average: 5.1, 4.2, 3.0|load1=5.1;5;10;0 load5=4.2;4;6;0"\necho "long text"\nexit 1` },
      { name: "crit", body: `printf "PROCS CRITICAL: 0 processes\\n| 'the count'=0;1:;1:\\n" ; exit 2` },
      { name: "unknown", body: `echo "UNKNOWN - cannot resolve host"; exit 3` },
      { name: "odd", body: `echo "something"; exit 7` }
    ].map(({ name, body }) => ({ name, cmd: [script(dir, `check_${name}`, body)], timeoutSeconds: 10 }))
    checks.push({ name: "missing", cmd: [join(dir, "no_such_plugin")], timeoutSeconds: 10 })
    const results = await run(runNagiosChecks(checks))
    expect(results).toEqual({
      ok: {
        exit_code: 0,
        output: "DISK OK - free space: / 3326 MB (56%);",
        perfdata: { "/": { value: 2643, uom: "MB", warning: 5948, critical: 5958, min: 0, max: 5968 } }
      },
      warn: {
        exit_code: 1,
        output: "LOAD WARNING - load average: 5.1, 4.2, 3.0",
        perfdata: { load1: { value: 5.1, warning: 5, critical: 10, min: 0 }, load5: { value: 4.2, warning: 4, critical: 6, min: 0 } }
      },
      crit: { exit_code: 2, output: "PROCS CRITICAL: 0 processes", perfdata: { "the count": { value: 0, warning: "1:", critical: "1:" } } },
      unknown: { exit_code: 3, output: "UNKNOWN - cannot resolve host", perfdata: {} },
      odd: { exit_code: 3, output: "UNKNOWN: exit status 7: something", perfdata: {} },
      missing: { exit_code: 3, output: `UNKNOWN: ${join(dir, "no_such_plugin")}: command not found`, perfdata: {} }
    })
  })

  it("a hanging plugin is killed at its timeout, with the children it started (its process group)", async () => {
    const dir = tempDir()
    const hanging = script(dir, "check_hang", `sleep 300 &\necho $! > "${dir}/child.pid"\necho $$ > "${dir}/parent.pid"\nwait`)
    const results = await run(runNagiosChecks([{ name: "hang", cmd: [hanging], timeoutSeconds: 1 }]))
    expect(results).toEqual({ hang: { exit_code: 3, output: "UNKNOWN: no result within 1 s", perfdata: {} } })
    for (const file of ["parent.pid", "child.pid"]) {
      const pid = Number(readFileSync(join(dir, file), "utf8"))
      expect(await gone(pid), `${file} ${pid} still running`).toBe(true)
    }
  })

  it("perfdata: quoted labels, U, ranges, garbage", () => {
    expect(parsePerfdata("'a b''c'=1.5e3ms;;;0 u=U;2 bare=12% junk ===")).toEqual({
      "a b'c": { value: 1500, uom: "ms", min: 0 },
      u: { value: null, warning: 2 },
      bare: { value: 12, uom: "%" }
    })
    expect(nagiosResult(0, "")).toEqual({ exit_code: 0, output: "", perfdata: {} })
  })
})

describe("sender.yaml plugin keys", () => {
  it("the shape of the issue, with sets layered in order", () => {
    const parsed = parseSenderConfig(`
enabled: true
receivers:
  rx: {token: t}
state_file: /tmp/x.json
host_root: /host
plugins:
  cpu: {}
  memory:
  disk: { interval: 300, mounts: ["/"] }
  network: { enabled: false }
  os: { interval: 86400 }
  nagios:
    checks:
      - { name: check_ntp, cmd: ["/usr/lib/nagios/plugins/check_ntp_time", "-H", "pool.ntp.org"], timeout: 20 }
      - { name: check_x, cmd: ["/bin/true"] }
threshold_sets:
  base: { memory.percent: { warning: 70, critical: 90 }, cpu.percent: { warning: 90 } }
thresholds:
  - base
  - memory.percent: { warning: 80, critical: 95, operator: ">", hysteresis: 2 }
    disk.*.percent: { warning: 85, critical: 95 }
`)
    if (Result.isFailure(parsed)) throw new Error(parsed.failure.join("\n"))
    expect(parsed.success.plugins).toEqual({
      plugins: [
        plugin("cpu"),
        plugin("memory"),
        plugin("disk", { intervalSeconds: 300, mounts: ["/"] }),
        plugin("os", { intervalSeconds: 86400 }),
        plugin("nagios", {
          checks: [
            { name: "check_ntp", cmd: ["/usr/lib/nagios/plugins/check_ntp_time", "-H", "pool.ntp.org"], timeoutSeconds: 20 },
            { name: "check_x", cmd: ["/bin/true"], timeoutSeconds: 30 }
          ]
        })
      ],
      thresholds: {
        "nagios.*": { operator: "nagios" },
        "memory.percent": { warning: 80, critical: 95, operator: ">", hysteresis: 2 },
        "cpu.percent": { warning: 90 },
        "disk.*.percent": { warning: 85, critical: 95 }
      },
      stateFile: "/tmp/x.json",
      hostRoot: "/host"
    })
  })

  it("without plugins: nothing (the deployed sender.yaml)", () => {
    const parsed = parseSenderConfig("enabled: true\nreceivers:\n  rx: {token: t}\n")
    expect(Result.isSuccess(parsed) && parsed.success.plugins).toBeUndefined()
  })

  it("every problem with its path", () => {
    const parsed = parseSenderConfig(`
enabled: true
receivers:
  rx: {token: t}
plugins:
  cpu: { interval: 0 }
  nagios:
    checks:
      - { name: a, cmd: "check_a" }
thresholds:
  - base
  - memory.percent: { warning: high, operator: "=>" }
`)
    expect(parsed).toEqual(Result.fail([
      "plugins.cpu.interval: expected a positive number of seconds, got 0",
      "plugins.nagios.checks.0.cmd: expected a list of strings: the program and its arguments (no shell), got \"check_a\"",
      "thresholds.1.memory.percent.warning: expected a number, got \"high\"",
      "thresholds.1.memory.percent.operator: expected one of > >= < <= == != nagios, got \"=>\""
    ]))
    const more = parseSenderConfig("enabled: true\nreceivers:\n  rx: {token: t}\nplugins:\n  gpu: {}\n  nagios:\n    checks:\n      - { name: b, cmd: [x] }\n      - { name: b, cmd: [y] }\nthresholds: [base]\n")
    expect(more).toEqual(Result.fail([
      "plugins.gpu: no such plugin (there are cpu, memory, disk, network, filesystem, os, nagios)",
      'plugins.nagios.checks.1.name: "b" is used twice; each check needs its own name',
      'thresholds.0: no threshold set named "base" (threshold_sets has none)'
    ]))
  })
})

/** True once the process is gone (or a zombie waiting for a parent that is not us to reap it). */
const gone = async (pid: number) => {
  for (let i = 0; i < 100; i++) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return true
    } catch {
      return true
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return false
}
