// The receiver as `bench/reads.ts` measures it: the daemon's layers (HTTP on, state in memory)
// with N resources registered through the engine's own heartbeat path, in ten clients, 1% of them
// gone stale, 1% paused, a few never heard. Prints `{"ready": port}`, then answers commands on
// stdin with one JSON line each:
//   idle   -> two GCs, then 3 s of whatever traffic there is: {"rssBytes"} (the young generation
//             grows back to its working size under traffic; RSS right after a GC would flatter)
//   start  -> starts watching: the longest event-loop block and the highest RSS from now on
//   stop   -> {"maxBlockMs", "maxDelayMs", "peakRssBytes"} since start
//   node --expose-gc bench/readsServer.ts N HTTP_PORT ZMQ_PORT
import { Clock, Effect, Layer, Result } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PerformanceObserver } from "node:perf_hooks"
import { createInterface } from "node:readline"
import v8 from "node:v8"
import { ResourceSupervisor } from "../src/actors/ResourceSupervisor.ts"
import { parseReceiverConfig } from "../src/config/ReceiverConfig.ts"
import { receiverDaemonLayer } from "../src/daemon/ReceiverDaemon.ts"
import { HeartbeatRouter } from "../src/routing/HeartbeatRouter.ts"

const resources = Number(process.argv[2] ?? 1000)
const httpPort = Number(process.argv[3])
const zmqPort = Number(process.argv[4])
const clients = 10
// Grace keeps a million `new` notifications away; a short-timeout client goes stale on its own.
const yaml = `
enabled: true
notify_devilry_sleep: 0
queue_threshold: 100000000
grace_period: 86400
timeout_jitter: 1
clients:
${Array.from({ length: clients }, (_, c) => `  Client${c}:\n    token: bench-token-${c}-0123456789\n    timeout: ${c === 0 ? 0.02 : 60}\n    resources:\n      configured${c}.example.com: {service: bench, environment: prod, location: dc${c}}\n`).join("")}
http:
  listen: "127.0.0.1:${httpPort}"
`
const parsed = parseReceiverConfig(yaml, "bench")
if (Result.isFailure(parsed)) throw new Error(parsed.failure.join("\n"))
const config = parsed.success
const dir = mkdtempSync(join(tmpdir(), "hbm-reads-"))
const configPath = join(dir, "receiver.yaml")
writeFileSync(configPath, yaml)

/** Where the memory is: V8's young and old generations, and memory outside the heap. */
const heapParts = () => {
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((space) => [space.space_name, space.space_size]))
  const usage = process.memoryUsage()
  return { newSpaceBytes: spaces["new_space"] ?? 0, heapTotalBytes: usage.heapTotal, externalBytes: usage.external }
}

const gc = () => (globalThis as { gc?: () => void }).gc?.()
const say = (value: unknown) => process.stdout.write(JSON.stringify(value) + "\n")

/** Resource i: mostly in clients 1-9; every 100th in Client0, whose 1.2 s timeout makes it stale. */
const clientOf = (i: number) => (i % 100 === 0 ? 0 : 1 + (i % (clients - 1)))
const resourceName = (i: number) => `host${i}.dc${i % 7}.example.com`

const program = Effect.gen(function*() {
  const router = yield* HeartbeatRouter
  const supervisor = yield* ResourceSupervisor
  const clock = yield* Clock.Clock
  for (let i = 0; i < resources; i++) {
    router.accept({ token: `bench-token-${clientOf(i)}-0123456789`, resource: resourceName(i), payload: { uptime: i } }, clock.currentTimeMillisUnsafe())
    if (i % 10_000 === 9_999) yield* Effect.yieldNow
  }
  for (let i = 1; i < resources; i += 100) supervisor.setPaused(`Client${clientOf(i)}`, resourceName(i), true)
  // Client0's deadline (1.2 s + 1 s jitter) passes: its actors wake and turn stale.
  yield* Effect.sleep("3 seconds")
  if (supervisor.size() !== resources + clients) throw new Error(`${supervisor.size()} resources, expected ${resources + clients}`)

  // The longest event-loop block, two ways: the delay of a 1 ms timer (wall clock: on a loaded
  // machine this includes the time the OS gave the cores to other processes), and that delay
  // bounded by the CPU time the main thread itself used meanwhile (what our code held it for).
  let watching = false
  let peakRss = 0
  let peakParts = heapParts()
  let maxWallMs = 0
  let maxCpuMs = 0
  let lastWall = performance.now()
  let lastCpu = process.threadCpuUsage()
  const ticker = setInterval(() => {
    const wall = performance.now()
    const cpu = process.threadCpuUsage()
    if (watching) {
      const wallMs = wall - lastWall - 1
      const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000
      maxWallMs = Math.max(maxWallMs, wallMs)
      maxCpuMs = Math.max(maxCpuMs, Math.min(wallMs, cpuMs))
    }
    lastWall = wall
    lastCpu = cpu
  }, 1)
  // Garbage collections: the longest pause, to tell a collector's pause from our own code's.
  let maxGcMs = 0
  let maxGcKind = 0
  const gcObserver = new PerformanceObserver((list) => {
    if (!watching) return
    for (const entry of list.getEntries()) {
      if (entry.duration <= maxGcMs) continue
      maxGcMs = entry.duration
      maxGcKind = (entry as { detail?: { kind?: number } }).detail?.kind ?? 0
    }
  })
  gcObserver.observe({ entryTypes: ["gc"] })
  const sampler = setInterval(() => {
    if (!watching) return
    const rss = process.memoryUsage.rss()
    if (rss > peakRss) {
      peakRss = rss
      peakParts = heapParts()
    }
  }, 20)
  yield* Effect.addFinalizer(() => Effect.sync(() => {
    clearInterval(sampler)
    clearInterval(ticker)
    gcObserver.disconnect()
  }))
  say({ ready: httpPort })
  const lines = createInterface({ input: process.stdin })
  yield* Effect.callback<void>((resume) => {
    lines.on("line", (line) => {
      if (line === "idle") {
        gc()
        gc()
        setTimeout(() => say({ rssBytes: process.memoryUsage.rss(), ...heapParts() }), 3000)
      } else if (line === "start") {
        peakRss = process.memoryUsage.rss()
        maxWallMs = 0
        maxCpuMs = 0
        maxGcMs = 0
        watching = true
        say({ started: true })
      } else if (line === "stop") {
        watching = false
        say({ maxBlockMs: maxCpuMs, maxDelayMs: maxWallMs, maxGcMs, maxGcKind, peakRssBytes: peakRss, ...peakParts })
      }
    })
    lines.on("close", () => resume(Effect.void))
  })
}).pipe(
  Effect.provide(
    receiverDaemonLayer(config, {
      configPath,
      iface: "127.0.0.1",
      port: zmqPort,
      forceSend: false,
      heartbeatFiles: false,
      notifier: "stdout",
      stateDir: undefined,
      heartbeatDir: undefined,
      persistState: false,
      resetState: false
    }, dir)
  ),
  Effect.scoped
)

Effect.runPromise(program.pipe(Effect.provide(Layer.empty))).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
