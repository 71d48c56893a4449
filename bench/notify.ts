// Notification delivery and queueing cost. Prints one JSON line.
//   node bench/notify.ts [--quick] [--only devilry|channels|burst]
// 1. notify_devilry with pacing 0 against the deployed receiver's loop (bench/deployedNotify.py:
//    Python's subprocess.run, one after another), through the same stand-in (a shell script
//    appending stdin to a file), in paired rounds (order alternating), the ratio per round; then
//    how it scales with the channel's `concurrency`, and what spawning from the receiver itself
//    (effect's ChildProcess, as before the spawn helpers) gave, with and without a 300 MB heap.
// 2. Throughput per HTTP/SMTP channel kind with pacing 0 through real local servers.
// 3. Queueing cost: 200,000 new resources in one burst through the real ZeroMQ ingress, with the
//    default notification settings (grace period 0 so every one raises `new`) against the same
//    burst with notifications off (inside the grace period, no notification is made at all).
//    Paired rounds, the order alternating; the median of the per-pair ratios is the figure.
import { spawn, spawnSync } from "node:child_process"
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { NodeServices } from "@effect/platform-node"
import { Effect, Layer, Result, Stream } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import { SMTPServer } from "smtp-server"
import { parseReceiverConfig } from "../src/config/ReceiverConfig.ts"
import type { Notification } from "../src/domain/Notification.ts"
import { ActorProbe } from "../src/actors/ResourceActor.ts"
import { Ingress, IngressProbe, layerZmqIngress } from "../src/ingress/ZmqIngress.ts"
import { layerTest } from "../src/notify/Notifier.ts"
import { Outbox } from "../src/notify/Outbox.ts"
import { layerReceiverCore } from "../src/routing/ReceiverCore.ts"
import { layerMemoryStateStore } from "../src/store/StateStore.ts"

const quick = process.argv.includes("--quick")
const onlyAt = process.argv.indexOf("--only")
const only = onlyAt < 0 ? undefined : process.argv[onlyAt + 1]
const part = (name: "devilry" | "channels" | "burst") => only === undefined || only === name
/** The deployed receiver's notify_devilry figure in issue 15 (a quiet machine). */
const deployedPerSecond = 121.8
const deliveries = quick ? 400 : 2000
const devilryDeliveries = quick ? 120 : 500
const devilryRounds = quick ? 2 : 5
const burst = quick ? 50_000 : 200_000
const rounds = quick ? 2 : 5
const dir = mkdtempSync(join(tmpdir(), "hbm-bench-notify-"))
const standIn = join(dir, "notify_devilry.sh")
writeFileSync(standIn, `#!/bin/sh\n{ cat; echo; } >> "${join(dir, "notifications.jsonl")}"\n`)
chmodSync(standIn, 0o755)
const token = "bench-token-0123456789"

const configOf = (body: string) => {
  // The per-client new-resource limits (issue 13) are raised out of the way: one client sends the
  // whole burst, and this measures notifications, not the limiter (same for both sides).
  const parsed = parseReceiverConfig(`
enabled: true
notify_devilry_cmd: ${standIn}
new_resources_per_minute: 10000000
max_resources_per_client: 10000000
clients:
  Bench:
    token: ${token}
    timeout: 60
${body}`, "bench")
  if (Result.isFailure(parsed)) throw new Error(parsed.failure.join("\n"))
  return parsed.success
}

const sample = (i: number): Notification => ({
  severity: "major",
  event: "heartbeat_mesh_heartbeat_timeout",
  text: `Heartbeat from host${i}.bench.example.com (client Bench) timed out: last one 125 s ago, timeout 60 s`,
  resource: `host${i}.bench.example.com`,
  service: "heartbeat",
  group: `host${i}.bench.example.com`,
  value: 125,
  origin: "heartbeat_mesh/receiver.py",
  client: "Bench",
  correlate: ["heartbeat_mesh_heartbeat_ok"],
  attributes: { receiver: "bench", timeout: 60 }
})

/** Queues `count` state changes at once and times until the channel has sent them all. */
const throughput = (channelsYaml: string, count = deliveries) =>
  Effect.gen(function*() {
    const outbox = yield* Outbox
    const started = performance.now()
    for (let i = 0; i < count; i++) outbox.enqueue(sample(i))
    yield* outbox.drained
    const seconds = (performance.now() - started) / 1000
    const counters = outbox.counters()
    if (counters.sent !== count) throw new Error(`sent ${counters.sent} of ${count} (failed ${counters.failed})`)
    return Math.round(count / seconds * 10) / 10
  }).pipe(
    Effect.provide(
      // A queue large enough for the whole batch: this measures sending, not the storm defence.
      // No activity check during the measurement (grace): only the queued notifications go out.
      layerReceiverCore(configOf(`queue_threshold: ${deliveries * 2}\ngrace_period: 86400\n${channelsYaml}`)).pipe(
        Layer.provideMerge(layerTest),
        Layer.provide(layerMemoryStateStore()),
        Layer.provide(ActorProbe.layerNone)
      )
    ),
    Effect.scoped
  )

const httpServer = () =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ url: string; close: () => void }>((ready) => {
        const server = createServer((request, response) => {
          request.resume()
          request.on("end", () => {
            response.writeHead(200)
            response.end()
          })
        })
        server.listen(0, "127.0.0.1", () => {
          const address = server.address() as { port: number }
          ready({ url: `http://127.0.0.1:${address.port}`, close: () => server.close() })
        })
      })
    ),
    (server) => Effect.sync(server.close)
  )

const smtpServer = () =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ port: number; close: () => void }>((ready) => {
        const server = new SMTPServer({
          authOptional: true,
          disabledCommands: ["STARTTLS"],
          onData: (stream, _session, callback) => {
            stream.resume()
            stream.on("end", () => callback())
          }
        })
        server.listen(0, "127.0.0.1", () => {
          const address = server.server.address() as { port: number }
          ready({ port: address.port, close: () => server.close() })
        })
      })
    ),
    (server) => Effect.sync(server.close)
  )

const runSender = (endpoint: string, count: number) =>
  new Promise<void>((done, fail) => {
    const child = spawn(process.execPath, [resolve(import.meta.dirname, "pushSender.mjs"), endpoint, String(count), String(count), token], { stdio: "inherit" })
    child.on("exit", (code) => (code === 0 ? done() : fail(new Error(`sender exited ${code}`))))
  })

/** Heartbeats per second of a burst of `count` new resources, from first frame to last accepted. */
const burstRate = (notifications: "on" | "off", count: number) =>
  Effect.gen(function*() {
    const ingress = yield* Ingress
    const sender = runSender(ingress.endpoint, count)
    while (ingress.counters().received === 0) yield* Effect.sleep(1)
    const started = performance.now()
    while (ingress.counters().accepted < count) yield* Effect.sleep(5)
    const rate = Math.round(count / ((performance.now() - started) / 1000))
    yield* Effect.promise(() => sender)
    const queued = (yield* Outbox).counters().queued
    if (notifications === "on" && queued < count * 0.9) throw new Error(`expected the burst's new notifications queued, found ${queued}`)
    if (notifications === "off" && queued !== 0) throw new Error(`expected no notification, found ${queued}`)
    return { rate, queued }
  }).pipe(
    Effect.provide(
      layerZmqIngress({ iface: "127.0.0.1", port: 0 }).pipe(
        // Default notification settings; on: grace 0 (every first heartbeat raises new); off: the
        // burst falls inside the grace period, so the rules make no notification at all.
        Layer.provideMerge(layerReceiverCore(configOf(notifications === "on" ? "grace_period: 0" : "grace_period: 86400"))),
        Layer.provideMerge(layerTest),
        Layer.provide(layerMemoryStateStore()),
        Layer.provide(Layer.merge(ActorProbe.layerNone, IngressProbe.layerNone))
      )
    ),
    // The devilry channel keeps trying to send at 1/s (default pacing); stop it with the layer.
    Effect.scoped
  )

const best = (values: Array<number>) => Math.max(...values)
const median = (values: Array<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
const round2 = (value: number) => Math.round(value * 100) / 100

/** The deployed receiver's loop through the same stand-in, in its own (Python) process. */
const deployedLoop = (count: number) => {
  const python = spawnSync("python3", [resolve(import.meta.dirname, "deployedNotify.py"), standIn, String(count)], { encoding: "utf8" })
  if (python.status !== 0) throw new Error(`deployedNotify.py failed: ${python.stderr}`)
  return (JSON.parse(python.stdout) as { perSecond: number }).perSecond
}

const devilryAt = (concurrency: number) =>
  throughput(`channels:\n  d: { type: notify_devilry, pacing: 0, concurrency: ${concurrency} }`, devilryDeliveries)

/**
 * What the receiver did before the spawn helpers: every run spawned from this process by effect's
 * ChildProcess (libuv forks the whole process), `concurrency` at once.
 */
const directSpawn = (concurrency: number) =>
  Effect.gen(function*() {
    const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
    const encoder = new TextEncoder()
    const started = performance.now()
    yield* Effect.forEach(Array.from({ length: devilryDeliveries }, (_, i) => i), (i) =>
      Effect.gen(function*() {
        const handle = yield* spawner.spawn(ChildProcess.make(standIn, [], {
          stdin: Stream.make(encoder.encode(JSON.stringify(sample(i)))),
          killSignal: "SIGTERM",
          forceKillAfter: "2 seconds"
        }))
        yield* handle.all.pipe(Stream.runDrain)
        const code = yield* handle.exitCode
        if (code !== 0) throw new Error(`stand-in exited ${code}`)
      }).pipe(Effect.scoped), { concurrency, discard: true })
    return Math.round(devilryDeliveries / ((performance.now() - started) / 1000) * 10) / 10
  }).pipe(Effect.provide(NodeServices.layer), Effect.orDie)

/** About 300 MB of live objects: this process then weighs what a receiver with ~100k resources does. */
const ballast = () => Array.from({ length: 1_500_000 }, (_, i) => ({ name: `resource-${i}.example.com`, seen: i, values: [i, i + 1, i + 2] }))

const devilryPart = Effect.gen(function*() {
  // Paired rounds: ours (default settings, pacing 0: concurrency 4) and the deployed loop, the
  // order alternating, the ratio taken per round.
  const ours: Array<number> = []
  const deployed: Array<number> = []
  for (let round = 0; round < devilryRounds; round++) {
    if (round % 2 === 0) {
      ours.push(yield* devilryAt(4))
      deployed.push(deployedLoop(devilryDeliveries))
    } else {
      deployed.push(deployedLoop(devilryDeliveries))
      ours.push(yield* devilryAt(4))
    }
  }
  const ratios = ours.map((value, i) => round2(value / deployed[i]!))
  // How it scales with `concurrency` (helpers: min(concurrency, 2)), each next to a deployed run.
  const scaling: Array<{ concurrency: number; perSecond: number; deployedLoop: number; ratio: number }> = []
  for (const concurrency of [1, 2, 4, 8]) {
    const perSecond = yield* devilryAt(concurrency)
    const loop = deployedLoop(devilryDeliveries)
    scaling.push({ concurrency, perSecond, deployedLoop: loop, ratio: round2(perSecond / loop) })
  }
  // Spawning from the receiver itself (before), small and with a receiver-sized heap, next to ours.
  const direct = yield* directSpawn(4)
  const heap = ballast()
  const directHeavy = yield* directSpawn(4)
  const oursHeavy = yield* devilryAt(4)
  const heapMB = Math.round(process.memoryUsage().heapUsed / 1024 / 1024)
  heap.length = 0
  return {
    devilryDeliveries,
    rounds: { ours, deployedLoop: deployed, ratios },
    devilryOverDeployed: median(ratios),
    notify_devilry: median(ours),
    deployedLoopPerSecond: median(deployed),
    scaling,
    directSpawn: { perSecond: direct, withHeapPerSecond: directHeavy, oursWithHeapPerSecond: oursHeavy, heapMB }
  }
})

const channelsPart = Effect.gen(function*() {
  const http = yield* httpServer()
  const webhook = yield* throughput(`channels:\n  w: { type: webhook, url: "${http.url}/hook" }`)
  const alerta = yield* throughput(`channels:\n  a: { type: alerta, url: "${http.url}/api" }`)
  const smtp = yield* smtpServer()
  const email = yield* throughput(`channels:\n  m: { type: email, smtp: { host: 127.0.0.1, port: ${smtp.port}, starttls: false }, from: a@b.c, to: d@e.f }`)
  return { webhook, alerta, email }
})

const burstPart = Effect.gen(function*() {
  yield* burstRate("off", 20_000)
  yield* burstRate("on", 20_000)
  // Paired rounds, the order alternating: the ratio per pair (both saw the same moment of the
  // machine), its median the figure; the best of each side as before, for comparison.
  const on: Array<number> = []
  const off: Array<number> = []
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      off.push((yield* burstRate("off", burst)).rate)
      on.push((yield* burstRate("on", burst)).rate)
    } else {
      on.push((yield* burstRate("on", burst)).rate)
      off.push((yield* burstRate("off", burst)).rate)
    }
  }
  const ratios = on.map((value, i) => round2(value / off[i]!))
  return {
    burst,
    rounds: { on, off, ratios },
    burstOnPerSecond: best(on),
    burstOffPerSecond: best(off),
    burstRatio: median(ratios),
    burstRatioOfBest: Number((best(on) / best(off)).toFixed(3))
  }
})

const program = Effect.gen(function*() {
  const devilry = part("devilry") ? yield* devilryPart : undefined
  const channels = part("channels") ? yield* channelsPart : undefined
  const bursts = part("burst") ? yield* burstPart : undefined
  console.log(JSON.stringify({
    deliveries,
    deployedNotifyDevilryPerSecond: deployedPerSecond,
    perSecond: { notify_devilry: devilry?.notify_devilry, ...channels },
    ...(devilry === undefined ? {} : { devilry }),
    deployedLoopPerSecond: devilry?.deployedLoopPerSecond ?? null,
    devilryOverDeployed: devilry?.devilryOverDeployed ?? null,
    ...bursts
  }))
})

Effect.runPromise(Effect.scoped(program)).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
