// Ingest throughput of the real receiver pipeline (ZeroMQ PULL, decode, token check, routing,
// actor update, state store on or off) fed by a PUSH sender in another process, against a bare
// baseline in the same run (PULL + JSON.parse only). Rounds alternate the three so they share the
// machine's noise; the best round of each is reported. Prints one JSON line.
//   node bench/ingest.ts [--quick]
import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Effect, Layer, Result } from "effect"
import { Pull } from "zeromq"
import { ActorProbe } from "../src/actors/ResourceActor.ts"
import { parseReceiverConfig } from "../src/config/ReceiverConfig.ts"
import { Ingress, IngressProbe, layerZmqIngress } from "../src/ingress/ZmqIngress.ts"
import { layerTest, RecordedNotifications } from "../src/notify/Notifier.ts"
import { layerReceiverCore } from "../src/routing/ReceiverCore.ts"
import { layerSqliteStateStore } from "../src/store/sqliteStateStore.ts"
import { StatePersistence } from "../src/store/StatePersistence.ts"
import { layerMemoryStateStore } from "../src/store/StateStore.ts"

const quick = process.argv.includes("--quick")
const heartbeats = quick ? 200_000 : 1_000_000
const rounds = quick ? 1 : 3
const warmUp = 50_000
const resources = 10_000
const token = "bench-token-0123456789"
const config = parseReceiverConfig(`
enabled: true
notify_devilry_sleep: 0
queue_threshold: 1000000
grace_period: 0
clients:
  Bench:
    token: ${token}
    timeout: 60
`, "bench")
if (Result.isFailure(config)) throw new Error(config.failure.join("\n"))

const runSender = (endpoint: string, count: number) =>
  new Promise<void>((done, fail) => {
    const child = spawn(process.execPath, [resolve(import.meta.dirname, "pushSender.mjs"), endpoint, String(count), String(resources), token], { stdio: "inherit" })
    child.on("exit", (code) => (code === 0 ? done() : fail(new Error(`sender exited ${code}`))))
  })

/** Heartbeats per second from the first frame received to the last. */
const timeReception = (received: () => number, count: number) =>
  Effect.gen(function*() {
    while (received() === 0) yield* Effect.sleep(1)
    const started = performance.now()
    while (received() < count) yield* Effect.sleep(5)
    return Math.round(count / ((performance.now() - started) / 1000))
  })

const pipeline = (store: "on" | "off", count = heartbeats) =>
  Effect.gen(function*() {
    const ingress = yield* Ingress
    const sender = runSender(ingress.endpoint, count)
    const rate = yield* timeReception(() => ingress.counters().received, count)
    yield* Effect.promise(() => sender)
    if (ingress.counters().accepted !== count) throw new Error(`accepted ${ingress.counters().accepted} of ${count}`)
    yield* (yield* StatePersistence).flush
    ;(yield* RecordedNotifications).clear()
    return rate
  }).pipe(
    Effect.provide(
      layerZmqIngress({ iface: "127.0.0.1", port: 0 }).pipe(
        Layer.provideMerge(layerReceiverCore(config.success)),
        Layer.provide(Layer.merge(ActorProbe.layerNone, IngressProbe.layerNone)),
        Layer.provideMerge(layerTest),
        Layer.provide(
          store === "on"
            ? layerSqliteStateStore({ path: join(mkdtempSync(join(tmpdir(), "hbm-bench-")), "state.db"), resetIfUnreadable: false })
            : layerMemoryStateStore()
        )
      )
    ),
    Effect.scoped
  )

/** The floor of what Node and zeromq can do here: receive and JSON.parse, nothing else. */
const baseline = (count = heartbeats) => Effect.gen(function*() {
  const socket = new Pull({ receiveHighWaterMark: 100_000 })
  yield* Effect.promise(() => socket.bind("tcp://127.0.0.1:*"))
  let received = 0
  let checksum = 0
  const loop = (async () => {
    for await (const [frame] of socket) {
      checksum += (JSON.parse(frame!.toString("utf8")) as { resource: string }).resource.length
      if (++received === count) return
    }
  })()
  const sender = runSender(socket.lastEndpoint!, count)
  const rate = yield* timeReception(() => received, count)
  yield* Effect.promise(() => Promise.all([sender, loop]))
  socket.close()
  if (checksum === 0) throw new Error("nothing parsed")
  return rate
})

const program = Effect.gen(function*() {
  // One short unmeasured pass of each, so that both are timed with their code optimized by the JIT,
  // as a long-running daemon's is.
  yield* baseline(warmUp)
  yield* pipeline("off", warmUp)
  const results = { baseline: [] as Array<number>, storeOff: [] as Array<number>, storeOn: [] as Array<number> }
  for (let round = 0; round < rounds; round++) {
    results.baseline.push(yield* baseline())
    results.storeOff.push(yield* pipeline("off"))
    results.storeOn.push(yield* pipeline("on"))
  }
  const best = (values: Array<number>) => Math.max(...values)
  console.log(JSON.stringify({
    heartbeats,
    resources,
    rounds: results,
    heartbeatsPerSecond: best(results.storeOn),
    storeOffPerSecond: best(results.storeOff),
    baselinePerSecond: best(results.baseline),
    ratio: Number((best(results.storeOn) / best(results.baseline)).toFixed(3)),
    storeOnOverOff: Number((best(results.storeOn) / best(results.storeOff)).toFixed(3))
  }))
})

Effect.runPromise(program.pipe(Effect.provide(Layer.empty))).catch((error) => {
  console.error(error)
  process.exit(1)
})
