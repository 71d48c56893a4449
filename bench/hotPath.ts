// The receiver's synchronous per-heartbeat path without the socket: decode, token check, routing,
// actor update and the change stream's subscribers (state store, heartbeat files, check alerts,
// live feed), with their write-behind flushes running as they would, against the bare
// `JSON.parse(frame.toString())` the baseline does. Measured in this thread's CPU time, which the
// machine's other load disturbs far less than a rate; for profiling and comparing changes to the
// hot path (`node --cpu-prof bench/hotPath.ts`). Prints one JSON line.
//   node bench/hotPath.ts [--heartbeats N] [--files on|off] [--store on|off]
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Clock, Effect, Layer, References } from "effect"
import { ActorProbe } from "../src/actors/ResourceActor.ts"
import { layerCheckAlerts } from "../src/checkAlerts/CheckAlerts.ts"
import { HeartbeatFiles, layerHeartbeatFiles } from "../src/files/HeartbeatFiles.ts"
import { layerLiveFeed } from "../src/http/LiveFeed.ts"
import { decodeFrames } from "../src/ingress/FrameDecoder.ts"
import { layerTest } from "../src/notify/Notifier.ts"
import { Outbox } from "../src/notify/Outbox.ts"
import { HeartbeatRouter } from "../src/routing/HeartbeatRouter.ts"
import { layerReceiverCore } from "../src/routing/ReceiverCore.ts"
import { layerSqliteStateStore } from "../src/store/sqliteStateStore.ts"
import { StatePersistence } from "../src/store/StatePersistence.ts"
import { layerMemoryStateStore } from "../src/store/StateStore.ts"
import { benchConfig, benchResources, benchToken, flag, noHeartbeatFiles } from "./ingestSetup.ts"

const heartbeats = Number(flag("--heartbeats") ?? 2_000_000)
const files = (flag("--files") ?? "on") === "on"
const store = (flag("--store") ?? "on") === "on"
const resources = benchResources
const token = benchToken
const frames = Array.from({ length: resources }, (_, i) =>
  [Buffer.from(JSON.stringify({ token, resource: `host${i}.bench.example.com`, payload: { uptime: 12345 } }))])

const scratch = mkdtempSync(join(tmpdir(), "hbm-bench-hot-"))
const cpuUs = () => {
  const usage = process.threadCpuUsage()
  return usage.user + usage.system
}

/** Feeds `count` frames through `each`, giving the event loop a turn every 1,000 (flush timers run). */
const feed = (count: number, each: (frame: ReadonlyArray<Buffer>, nowMs: number) => void) =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const started = cpuUs()
    for (let i = 0; i < count; i++) {
      each(frames[i % resources]!, clock.currentTimeMillisUnsafe())
      if (i % 1000 === 999) yield* Effect.sleep(0)
    }
    return (cpuUs() - started) / count
  })

const baseline = Effect.gen(function*() {
  let checksum = 0
  const perHeartbeat = yield* feed(heartbeats, ([frame]) => {
    checksum += (JSON.parse(frame!.toString("utf8")) as { resource: string }).resource.length
  })
  if (checksum === 0) throw new Error("nothing parsed")
  return perHeartbeat
})

const pipeline = Effect.gen(function*() {
  const router = yield* HeartbeatRouter
  let accepted = 0
  const handle = (frame: ReadonlyArray<Buffer>, nowMs: number) => {
    const decoded = decodeFrames(frame)
    if (decoded.ok && router.accept(decoded.heartbeat, nowMs) === "accepted") accepted++
  }
  yield* feed(resources, handle)
  yield* (yield* StatePersistence).flush
  yield* (yield* HeartbeatFiles).flush
  yield* (yield* Outbox).drained
  accepted = 0
  const perHeartbeat = yield* feed(heartbeats, handle)
  const started = cpuUs()
  yield* (yield* StatePersistence).flush
  yield* (yield* HeartbeatFiles).flush
  const finalFlushUs = (cpuUs() - started) / heartbeats
  if (accepted !== heartbeats) throw new Error(`accepted ${accepted} of ${heartbeats}`)
  return perHeartbeat + finalFlushUs
}).pipe(
  Effect.provide(
    Layer.mergeAll(
      layerLiveFeed,
      layerCheckAlerts(benchConfig),
      files
        ? layerHeartbeatFiles({ directory: join(scratch, "heartbeats"), flushIntervalMs: 1000 })
        : noHeartbeatFiles
    ).pipe(
      Layer.provideMerge(layerReceiverCore(benchConfig)),
      Layer.provide(ActorProbe.layerNone),
      Layer.provideMerge(layerTest),
      Layer.provide(store ? layerSqliteStateStore({ path: join(scratch, "state.db"), resetIfUnreadable: false }) : layerMemoryStateStore())
    )
  ),
  Effect.scoped
)

const program = Effect.gen(function*() {
  // Warm both up first (JIT), then measure each twice, alternating.
  yield* Effect.forEach([baseline, pipeline], (run) => run, { discard: true })
  const results = { baselineUs: [] as Array<number>, pipelineUs: [] as Array<number> }
  for (let round = 0; round < 2; round++) {
    results.baselineUs.push(yield* baseline)
    results.pipelineUs.push(yield* pipeline)
  }
  const min = (values: ReadonlyArray<number>) => Number(Math.min(...values).toFixed(3))
  console.log(JSON.stringify({
    heartbeats,
    files,
    store,
    baselineUs: min(results.baselineUs),
    pipelineUs: min(results.pipelineUs),
    extraUs: Number((min(results.pipelineUs) - min(results.baselineUs)).toFixed(3))
  }))
})

Effect.runPromise(program.pipe(Effect.provideService(References.MinimumLogLevel, "Warn")))
  .finally(() => rmSync(scratch, { recursive: true, force: true }))
  .catch((error) => {
    console.error(error)
    process.exit(1)
  })
