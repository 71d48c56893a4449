// Ingest throughput of the receiver pipeline per transport (issue 19): plain ZeroMQ, CURVE-encrypted
// ZeroMQ and UDP (acked, a window of 256 in flight, so nothing is lost), each fed by a sender in
// another process, store off, rounds alternating so they share the machine's noise; best round
// reported. Prints one JSON line.   node bench/transports.ts [--quick]
import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { writeFileSync } from "node:fs"
import { Effect, Layer } from "effect"
import { ActorProbe } from "../src/actors/ResourceActor.ts"
import { CurveIngress, layerCurveIngress } from "../src/ingress/CurveIngress.ts"
import { layerUdpIngress, UdpIngress } from "../src/ingress/UdpIngress.ts"
import { Ingress, IngressProbe, layerZmqIngress } from "../src/ingress/ZmqIngress.ts"
import { layerTest } from "../src/notify/Notifier.ts"
import { layerReceiverCore } from "../src/routing/ReceiverCore.ts"
import type { HeartbeatRouter } from "../src/routing/HeartbeatRouter.ts"
import { layerMemoryStateStore } from "../src/store/StateStore.ts"
import { generateCurveKeyPair, keyFileText } from "../src/support/curveKeys.ts"
import { benchConfig, benchResources, benchToken } from "./ingestSetup.ts"

const quick = process.argv.includes("--quick")
const heartbeats = quick ? 50_000 : 200_000
const rounds = quick ? 1 : 3
// The ingest benchmark's client and fleet (bench/ingestSetup.ts), so the transports compare with it.
const resources = benchResources
const token = benchToken
const server = generateCurveKeyPair()
const keyFile = join(mkdtempSync(join(tmpdir(), "hbm-bench-")), "curve.key")
writeFileSync(keyFile, keyFileText(server, true), { mode: 0o600 })

const child = (script: string, args: ReadonlyArray<string>) =>
  new Promise<void>((done, fail) => {
    const process_ = spawn(process.execPath, [resolve(import.meta.dirname, script), ...args], { stdio: "inherit" })
    process_.on("exit", (code) => (code === 0 ? done() : fail(new Error(`${script} exited ${code}`))))
  })

const timeReception = (accepted: () => number, count: number) =>
  Effect.gen(function*() {
    while (accepted() === 0) yield* Effect.sleep(1)
    const started = performance.now()
    while (accepted() < count) yield* Effect.sleep(5)
    return Math.round(count / ((performance.now() - started) / 1000))
  })

const around = <A, E>(layer: Layer.Layer<A, E, HeartbeatRouter | IngressProbe>) =>
  layer.pipe(
    Layer.provide(IngressProbe.layerNone),
    Layer.provideMerge(layerReceiverCore(benchConfig)),
    Layer.provide(ActorProbe.layerNone),
    Layer.provideMerge(layerTest),
    Layer.provide(layerMemoryStateStore())
  )

const zmq = (count: number) =>
  Effect.gen(function*() {
    const ingress = yield* Ingress
    const sender = child("pushSender.mjs", [ingress.endpoint, String(count), String(resources), token])
    const rate = yield* timeReception(() => ingress.counters().accepted, count)
    yield* Effect.promise(() => sender)
    return rate
  }).pipe(Effect.provide(around(layerZmqIngress({ iface: "127.0.0.1", port: 0 }))), Effect.scoped)

const curve = (count: number) =>
  Effect.gen(function*() {
    const ingress = yield* CurveIngress
    const sender = child("pushSender.mjs", [ingress.endpoint, String(count), String(resources), token, server.publicKey])
    const rate = yield* timeReception(() => ingress.counters().accepted, count)
    yield* Effect.promise(() => sender)
    return rate
  }).pipe(
    Effect.provide(around(Layer.merge(layerZmqIngress({ iface: "127.0.0.1", port: 0 }), layerCurveIngress({ host: "127.0.0.1", port: 0, secretKeyFile: keyFile })))),
    Effect.scoped
  )

const udp = (count: number) =>
  Effect.gen(function*() {
    const ingress = yield* UdpIngress
    const port = ingress.address.split(":").at(-1)!
    const sender = child("udpSender.mjs", [port, String(count), String(resources), token])
    yield* Effect.promise(() => sender)
    return ingress.counters().accepted
  }).pipe(
    Effect.provide(around(layerUdpIngress({ host: "127.0.0.1", port: 0, ratePerSource: 100_000, burstPerSource: 1_000_000, maxSources: 10 }))),
    Effect.scoped
  )

/** UDP has no "first frame" the receiver can time from inside: timed around the sender. */
const timedUdp = (count: number) =>
  Effect.gen(function*() {
    const started = performance.now()
    const accepted = yield* udp(count)
    return { rate: Math.round(accepted / ((performance.now() - started) / 1000)), lost: count - accepted }
  })

const program = Effect.gen(function*() {
  yield* zmq(20_000)
  yield* curve(20_000)
  yield* timedUdp(20_000)
  const results = { zmq: [] as Array<number>, curve: [] as Array<number>, udp: [] as Array<number>, udpLost: [] as Array<number> }
  for (let round = 0; round < rounds; round++) {
    results.zmq.push(yield* zmq(heartbeats))
    results.curve.push(yield* curve(heartbeats))
    const u = yield* timedUdp(heartbeats)
    results.udp.push(u.rate)
    results.udpLost.push(u.lost)
  }
  const best = (values: Array<number>) => Math.max(...values)
  console.log(JSON.stringify({
    heartbeats,
    resources,
    rounds: results,
    zmqPerSecond: best(results.zmq),
    curvePerSecond: best(results.curve),
    udpAckedPerSecond: best(results.udp),
    curveOverZmq: Number((best(results.curve) / best(results.zmq)).toFixed(3)),
    udpOverZmq: Number((best(results.udp) / best(results.zmq)).toFixed(3))
  }))
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
