// Notification delivery and queueing cost. Prints one JSON line.
//   node bench/notify.ts [--quick]
// 1. Throughput per channel kind with pacing 0, through the same kind of notify_devilry stand-in
//    the deployed receiver was measured with (a shell script appending stdin to a file), and
//    through real local servers for webhook (HTTP) and e-mail (SMTP): notifications/s, next to the
//    deployed receiver's 121.8/s (its notify_devilry figure in issue 15) and our old serial sender.
// 2. Queueing cost: 200,000 new resources in one burst through the real ZeroMQ ingress, with the
//    default notification settings (grace period 0 so every one raises `new`) against the same
//    burst with notifications off (inside the grace period, no notification is made at all).
//    Rounds alternate; the best of each is compared.
import { spawn, spawnSync } from "node:child_process"
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Effect, Layer, Result } from "effect"
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
const deployedPerSecond = 121.8
const deliveries = quick ? 400 : 2000
const burst = quick ? 50_000 : 200_000
const rounds = quick ? 1 : 3
const dir = mkdtempSync(join(tmpdir(), "hbm-bench-notify-"))
const standIn = join(dir, "notify_devilry.sh")
writeFileSync(standIn, `#!/bin/sh\n{ cat; echo; } >> "${join(dir, "notifications.jsonl")}"\n`)
chmodSync(standIn, 0o755)
const token = "bench-token-0123456789"

const configOf = (body: string) => {
  const parsed = parseReceiverConfig(`
enabled: true
notify_devilry_cmd: ${standIn}
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

/** Queues `deliveries` state changes at once and times until the channel has sent them all. */
const throughput = (channelsYaml: string) =>
  Effect.gen(function*() {
    const outbox = yield* Outbox
    const started = performance.now()
    for (let i = 0; i < deliveries; i++) outbox.enqueue(sample(i))
    yield* outbox.drained
    const seconds = (performance.now() - started) / 1000
    const counters = outbox.counters()
    if (counters.sent !== deliveries) throw new Error(`sent ${counters.sent} of ${deliveries} (failed ${counters.failed})`)
    return Math.round(deliveries / seconds * 10) / 10
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

const program = Effect.gen(function*() {
  // Throughput per channel kind (pacing 0).
  // notify_devilry: default settings with pacing 0 (concurrency 4), and one at a time (what the
  // receiver did before, and what the deployed one does), alternated so both see the same noise.
  // The deployed receiver's loop (bench/deployedNotify.py: subprocess.run, one after another)
  // through the same stand-in in the same rounds: the side-by-side figure.
  const devilry: Array<number> = []
  const devilrySerial: Array<number> = []
  const deployed: Array<number> = []
  for (let round = 0; round < rounds; round++) {
    devilry.push(yield* throughput(`channels:\n  d: { type: notify_devilry, pacing: 0 }`))
    devilrySerial.push(yield* throughput(`channels:\n  d: { type: notify_devilry, pacing: 0, concurrency: 1 }`))
    const python = spawnSync("python3", [resolve(import.meta.dirname, "deployedNotify.py"), standIn, String(deliveries)], { encoding: "utf8" })
    if (python.status === 0) deployed.push((JSON.parse(python.stdout) as { perSecond: number }).perSecond)
  }
  const deployedSideBySide = deployed.length > 0 ? best(deployed) : undefined
  const http = yield* httpServer()
  const webhook = yield* throughput(`channels:\n  w: { type: webhook, url: "${http.url}/hook" }`)
  const alerta = yield* throughput(`channels:\n  a: { type: alerta, url: "${http.url}/api" }`)
  const smtp = yield* smtpServer()
  const email = yield* throughput(`channels:\n  m: { type: email, smtp: { host: 127.0.0.1, port: ${smtp.port}, starttls: false }, from: a@b.c, to: d@e.f }`)

  // Queueing cost of a burst of new resources.
  yield* burstRate("off", 20_000)
  yield* burstRate("on", 20_000)
  const on: Array<number> = []
  const off: Array<number> = []
  for (let round = 0; round < rounds; round++) {
    off.push((yield* burstRate("off", burst)).rate)
    on.push((yield* burstRate("on", burst)).rate)
  }
  console.log(JSON.stringify({
    deliveries,
    deployedNotifyDevilryPerSecond: deployedPerSecond,
    perSecond: { notify_devilry: best(devilry), notify_devilry_serial: best(devilrySerial), webhook, alerta, email },
    devilryRounds: { concurrent: devilry, serial: devilrySerial, deployedLoop: deployed },
    deployedLoopPerSecond: deployedSideBySide ?? null,
    devilryOverDeployed: Number((best(devilry) / (deployedSideBySide ?? deployedPerSecond)).toFixed(2)),
    devilryOverSerial: Number((best(devilry) / best(devilrySerial)).toFixed(2)),
    burst,
    rounds: { on, off },
    burstOnPerSecond: best(on),
    burstOffPerSecond: best(off),
    burstRatio: Number((best(on) / best(off)).toFixed(3))
  }))
})

Effect.runPromise(Effect.scoped(program)).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
