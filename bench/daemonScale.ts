// Memory and restart of the real daemon (`heartbeat-mesh receiver`, a process of its own) at N
// resources: traffic from a PUSH sender process (two heartbeats per resource unless --passes says
// otherwise, the second pass once every resource is known), RSS after the traffic has settled, then SIGTERM and a restart from the
// state it saved: time from spawn to /readyz answering 200, and RSS after the restart settled.
// With heartbeat files on (the default configuration), a third pass paced at `--rate` heartbeats/s
// measures how far behind the files fall (heartbeat_mesh_file_lag_seconds, sampled), once the files
// the first traffic created are written (`filesCaughtUpMs` after the traffic). Prints one JSON line.
//   node bench/daemonScale.ts N [--files on|off] [--rate R] [--settle MS] [--restart on|off] [--snapshot FILE]
//   --restart-profile DIR: a CPU profile of the restarted daemon (node --cpu-prof) in DIR.
//   --restart off: stop after the RSS after traffic; --passes 1: one heartbeat per resource (both
//   for the quick run's 90 s budget)
//   --snapshot FILE: a V8 heap snapshot of the daemon after the traffic (for reading in DevTools, or
//   bench/heapSummary.ts), and its memory breakdown (heap spaces, external, array buffers) in the JSON.
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { flag } from "./ingestSetup.ts"

const resources = Number(process.argv[2] ?? 100_000)
const files = (flag("--files") ?? "on") === "on"
// Default: the whole fleet in 10 s, six times as fast as every resource sending once a minute.
const paceRate = Number(flag("--rate") ?? Math.max(1000, resources / 10))
const token = "daemon-scale-token-0123456789"
const root = resolve(import.meta.dirname, "..")
const cli = join(root, "src/bin/heartbeat-mesh.mjs")
const settleMs = Number(flag("--settle") ?? 5_000)
const snapshot = flag("--snapshot")
const restart = (flag("--restart") ?? "on") === "on"
// --restart-profile DIR: a CPU profile of the restarted daemon (start, restore, until it stops) in DIR.
const restartProfile = flag("--restart-profile")
const passes = Number(flag("--passes") ?? 2)

const freePort = () =>
  new Promise<number>((done, fail) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? done(address.port) : fail(new Error("no port"))))
    })
  })
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms))

const dir = mkdtempSync(join(tmpdir(), "hbm-bench-daemon-"))
const [port, httpPort] = [await freePort(), await freePort()]
const configPath = join(dir, "receiver.yaml")
// Grace of a day: no `new` for the resources discovered here (the notifications are not what is
// measured); a 60-minute timeout: nothing goes stale meanwhile; the per-client new-resource limits
// (100,000 a minute by default) raised to the fleet, which arrives at once.
writeFileSync(configPath, `enabled: true
notifier: stdout
grace_period: 86400
new_resources_per_minute: ${Math.max(100_000, resources)}
max_resources_per_client: ${Math.max(1_000_000, resources)}
http:
  listen: "127.0.0.1:${httpPort}"
clients:
  Bench:
    token: ${token}
    timeout: 60
`)

// The daemon runs with the Node options the systemd unit gives it (its Environment=NODE_OPTIONS line).
const unitNodeOptions = readFileSync(join(root, "ops/systemd/heartbeat-mesh-receiver.service"), "utf8")
  .match(/^Environment=NODE_OPTIONS=(.*)$/m)?.[1] ?? ""
const daemonNodeOptions = [unitNodeOptions, snapshot === undefined ? "" : "--heapsnapshot-signal=SIGUSR2"].join(" ").trim()

const startDaemon = (extraNodeOptions = "") =>
  spawn(process.execPath, [
    cli,
    "receiver",
    "--config",
    configPath,
    "--iface",
    "127.0.0.1",
    "--port",
    String(port),
    "--state-dir",
    join(dir, "state"),
    "--log-level",
    "warn",
    ...(files ? [] : ["--no-heartbeat-files"])
  ], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, NODE_OPTIONS: `${process.env["NODE_OPTIONS"] ?? ""} ${daemonNodeOptions} ${extraNodeOptions}`.trim() }
  })

const get = async (path: string) => {
  try {
    const response = await fetch(`http://127.0.0.1:${httpPort}${path}`)
    return { status: response.status, text: await response.text() }
  } catch {
    return { status: 0, text: "" }
  }
}

/** Milliseconds from now until /readyz answers 200. */
const untilReady = async (daemon: ChildProcess, started: number) => {
  for (;;) {
    if (daemon.exitCode !== null) throw new Error(`the daemon exited with ${daemon.exitCode}`)
    if ((await get("/readyz")).status === 200) return performance.now() - started
    await sleep(20)
  }
}

const metric = async (name: string) => {
  const line = (await get("/metrics")).text.split("\n").find((l) => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.split(" ")[1])
}

/** The daemon's resident memory by kind (/proc smaps_rollup: anonymous vs file-backed) and its largest mappings. */
const residentOf = (daemon: ChildProcess) => {
  const rollup = Object.fromEntries(readFileSync(`/proc/${daemon.pid}/smaps_rollup`, "utf8").split("\n")
    .filter((l) => /^(Rss|Anonymous|Shared_Clean|Private_Clean|Private_Dirty):/.test(l))
    .map((l) => [l.split(":")[0]!, Number(l.split(/\s+/)[1]) * 1024]))
  const mappings: Array<{ name: string; rss: number }> = []
  let name = ""
  for (const line of readFileSync(`/proc/${daemon.pid}/smaps`, "utf8").split("\n")) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) name = line.split(/\s+/).slice(5).join(" ") || "[anon]"
    else if (line.startsWith("Rss:")) mappings.push({ name, rss: Number(line.split(/\s+/)[1]) * 1024 })
  }
  const byName = new Map<string, number>()
  for (const { name: n, rss } of mappings) byName.set(n, (byName.get(n) ?? 0) + rss)
  return { rollup, largestByName: [...byName.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8) }
}

const rssOf = (daemon: ChildProcess) => {
  const line = readFileSync(`/proc/${daemon.pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!
  return Number(line.split(/\s+/)[1]) * 1024
}

const send = (count: number, rate = 0) =>
  new Promise<void>((done, fail) => {
    const child = spawn(process.execPath, [resolve(import.meta.dirname, "pushSender.mjs"), `tcp://127.0.0.1:${port}`, String(count), String(resources), token], {
      stdio: "inherit",
      env: { ...process.env, PUSH_RATE: String(rate) }
    })
    child.on("exit", (code) => (code === 0 ? done() : fail(new Error(`sender exited ${code}`))))
  })

const untilAccepted = async (count: number) => {
  while (((await metric("heartbeat_mesh_heartbeats_accepted_total")) ?? 0) < count) await sleep(100)
}

/** Waits until state and files have nothing pending; returns the largest file lag seen meanwhile. */
const untilWritten = async () => {
  let lagMax = 0
  for (;;) {
    const pending = (await metric("heartbeat_mesh_state_pending")) ?? 0
    const lag = (await metric("heartbeat_mesh_file_lag_seconds")) ?? 0
    lagMax = Math.max(lagMax, lag)
    if (pending === 0) return lagMax
    await sleep(100)
  }
}

/** SIGUSR2 (the daemon was started with --heapsnapshot-signal): waits for the snapshot, moves it to `file`. */
const takeSnapshot = async (daemon: ChildProcess, file: string) => {
  const cwd = process.cwd()
  const before = new Set(readdirSync(cwd))
  daemon.kill("SIGUSR2")
  for (;;) {
    await sleep(500)
    const written = readdirSync(cwd).find((f) => !before.has(f) && f.endsWith(".heapsnapshot"))
    if (written === undefined) continue
    // Done when its size stops growing.
    let size = -1
    while (statSync(written).size !== size) {
      size = statSync(written).size
      await sleep(1000)
    }
    renameSync(written, file)
    return
  }
}

const stop = (daemon: ChildProcess) =>
  new Promise<number>((done) => {
    const started = performance.now()
    daemon.on("exit", () => done(performance.now() - started))
    daemon.kill("SIGTERM")
  })

try {
  let daemon = startDaemon()
  await untilReady(daemon, performance.now())
  const trafficStarted = performance.now()
  for (let pass = 1; pass <= passes; pass++) {
    await send(resources)
    await untilAccepted(pass * resources)
  }
  const trafficMs = performance.now() - trafficStarted
  // The daemon's CPU for the traffic (both threads), from its own process metrics.
  const trafficCpuSeconds = (await metric("process_cpu_seconds_total")) ?? 0
  await untilWritten()
  // Paced traffic with the files existing: how far behind do they fall? The first traffic created
  // two files per resource (a one-time cost, the deployed receiver's too), and the writer may still
  // be at it when this pass starts: the lag counts from the first sample within 3 s (the creation
  // backlog written, `filesCaughtUpMs` after the traffic), sampled every 200 ms.
  let fileLag: { filesCaughtUpMs: number; fileLagMaxSeconds: number; fileLagMedianSeconds: number } | undefined
  if (files) {
    const pacedStarted = performance.now()
    const samples: Array<number> = []
    let caughtUpAt: number | undefined
    const paced = send(resources, paceRate)
    let done = false
    void paced.then(() => (done = true))
    while (!done || ((await metric("heartbeat_mesh_heartbeats_accepted_total")) ?? 0) < (passes + 1) * resources) {
      const lag = (await metric("heartbeat_mesh_file_lag_seconds")) ?? 0
      if (caughtUpAt === undefined && lag <= 3) caughtUpAt = performance.now()
      if (caughtUpAt !== undefined) samples.push(lag)
      await sleep(200)
      if (performance.now() - pacedStarted > 10 * 60_000) throw new Error("paced pass took too long")
    }
    await paced
    samples.push(await untilWritten())
    samples.sort((a, b) => a - b)
    fileLag = {
      filesCaughtUpMs: Math.round((caughtUpAt ?? performance.now()) - trafficStarted - trafficMs),
      fileLagMaxSeconds: samples.at(-1)!,
      fileLagMedianSeconds: samples[Math.floor(samples.length / 2)]!
    }
  }
  await sleep(settleMs)
  const daemonRssAfterTrafficBytes = rssOf(daemon)
  const memory = {
    heapUsedBytes: await metric("nodejs_heap_size_used_bytes"),
    heapTotalBytes: await metric("nodejs_heap_size_total_bytes"),
    externalBytes: await metric("nodejs_external_memory_bytes"),
    resident: residentOf(daemon),
    spacesUsedBytes: Object.fromEntries((await get("/metrics")).text.split("\n")
      .filter((l) => l.startsWith("nodejs_heap_space_size_used_bytes{"))
      .map((l) => [l.slice(l.indexOf("\"") + 1, l.lastIndexOf("\"")), Number(l.split(" ")[1])]))
  }
  if (snapshot !== undefined) await takeSnapshot(daemon, snapshot)
  const stopMs = await stop(daemon)

  let restarted: { restartMs: number; restoredAlive: number | undefined; daemonRssAfterRestartBytes: number } | undefined
  if (restart) {
    const restartStarted = performance.now()
    daemon = startDaemon(restartProfile === undefined ? "" : `--cpu-prof --cpu-prof-dir=${restartProfile}`)
    const restartMs = await untilReady(daemon, restartStarted)
    const restoredAlive = await metric('heartbeat_mesh_resources{status="alive"}')
    await sleep(settleMs)
    restarted = { restartMs: Math.round(restartMs), restoredAlive, daemonRssAfterRestartBytes: rssOf(daemon) }
    await stop(daemon)
  }
  console.log(JSON.stringify({
    resources,
    files,
    trafficMs: Math.round(trafficMs),
    trafficCpuSeconds: Number(trafficCpuSeconds.toFixed(2)),
    daemonRssAfterTrafficBytes,
    memory,
    stopMs: Math.round(stopMs),
    ...restarted,
    ...(fileLag === undefined ? {} : { ...fileLag, pacedRate: paceRate })
  }))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
