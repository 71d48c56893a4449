// Ingest throughput of the receiver as users run it (ZeroMQ PULL, decode, token check, routing,
// actor update, and the change stream's subscribers: state store, heartbeat files, check alerts,
// live feed), fed by a PUSH sender in another process, against a bare baseline (PULL + JSON.parse
// only) in the same process. Three configurations of the receiver:
//   default   state store on, heartbeat files on (what `heartbeat-mesh receiver` runs)
//   filesOff  state store on, heartbeat files off (`--no-heartbeat-files`)
//   storeOff  state store off, heartbeat files on (`--no-state`)
// Paired rounds: each round runs the baseline and the three, in an order that alternates from one
// round to the next (forward, then backward), so a round's four runs share the machine's noise;
// each configuration's ratio is taken against its own round's baseline, and the median of the
// rounds' ratios is reported. A run is timed from the first frame received until every heartbeat
// is accepted (the state store's and heartbeat files' writes meanwhile share the machine with it);
// how long the rest of their writes then takes is reported as drainMs. Prints one JSON line.
//   node bench/ingest.ts [--quick] [--only baseline|default|filesOff|storeOff] [--rounds N]
//   [--profile DIR]: a CPU profile of every timed window in DIR
//   (--only runs one configuration, for a profile: node bench/ingest.ts --only default --profile /tmp/p)
import { spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { tmpdir } from "node:os"
import { createInterface } from "node:readline"
import { join, resolve } from "node:path"
import { Effect, Layer, References } from "effect"
import { Pull } from "zeromq"
import { ActorProbe } from "../src/actors/ResourceActor.ts"
import { layerCheckAlerts } from "../src/checkAlerts/CheckAlerts.ts"
import { HeartbeatFiles, layerHeartbeatFiles } from "../src/files/HeartbeatFiles.ts"
import { layerLiveFeed } from "../src/http/LiveFeed.ts"
import { Ingress, IngressProbe, layerZmqIngress } from "../src/ingress/ZmqIngress.ts"
import { layerTest, RecordedNotifications } from "../src/notify/Notifier.ts"
import { Outbox } from "../src/notify/Outbox.ts"
import { layerReceiverCore } from "../src/routing/ReceiverCore.ts"
import { layerSqliteStateStore } from "../src/store/sqliteStateStore.ts"
import { StatePersistence } from "../src/store/StatePersistence.ts"
import { layerMemoryStateStore } from "../src/store/StateStore.ts"
import { benchConfig, benchResources, benchToken, flag, noHeartbeatFiles } from "./ingestSetup.ts"

const quick = process.argv.includes("--quick")
// Quick (`npm run bench -- --quick` within 90 s on a loaded 2-core machine): 2 heartbeats per
// resource a run, a warm-up of one per resource, and the paired rounds of the baseline, the default
// configuration and files off only (store off: the full run).
const heartbeats = quick ? 20_000 : 1_000_000
const rounds = Number(flag("--rounds") ?? (quick ? 5 : 7))
const resources = benchResources
const warmUp = quick ? resources : 50_000
const token = benchToken

type Variant = "baseline" | "default" | "filesOff" | "storeOff"
const configurations = { default: { store: true, files: true }, filesOff: { store: true, files: false }, storeOff: { store: false, files: true } }
const only = flag("--only") as Variant | undefined
if (only !== undefined && only !== "baseline" && !(only in configurations)) throw new Error(`--only: baseline or one of ${Object.keys(configurations).join(", ")}`)

const scratch = mkdtempSync(join(tmpdir(), "hbm-bench-ingest-"))
// One heartbeat folder per configuration: after the warm-up the files exist, as on a running receiver.
const heartbeatDir = join(scratch, "heartbeats")

// One sender process for the whole run (`pushSender.mjs --serve`): no process start inside a round.
const senderProcess = spawn(process.execPath, [resolve(import.meta.dirname, "pushSender.mjs"), "--serve", String(resources), token], { stdio: ["pipe", "pipe", "inherit"] })
const senderAnswers = createInterface({ input: senderProcess.stdout! })[Symbol.asyncIterator]()
senderProcess.on("exit", (code) => {
  if (code !== 0 && code !== null) {
    console.error(`sender exited ${code}`)
    process.exit(1)
  }
})
/** Pushes `count` heartbeats to `endpoint`; resolves once all are handed to ZeroMQ. */
const runSender = async (endpoint: string, count: number) => {
  senderProcess.stdin!.write(`${endpoint} ${count}\n`)
  const answer = await senderAnswers.next()
  if (answer.done === true || answer.value !== "sent") throw new Error(`the sender answered ${answer.value}`)
}

/** Waits for the first frame; returns the moment it came. */
const firstFrame = (received: () => number) =>
  Effect.gen(function*() {
    while (received() === 0) yield* Effect.sleep(1)
    return startMeasure()
  })

const untilAll = (received: () => number, count: number) =>
  Effect.gen(function*() {
    while (received() < count) yield* Effect.sleep(2)
  })

/** A run's measure: heartbeats per second, and CPU microseconds per heartbeat (this thread, whole process). */
interface Measure {
  readonly perSecond: number
  readonly threadCpuUs: number
  readonly processCpuUs: number
  /** After the last heartbeat: until its state rows and heartbeat files were written. */
  readonly drainMs?: number
}
interface Start {
  readonly at: number
  readonly thread: NodeJS.CpuUsage
  readonly process: NodeJS.CpuUsage
}
// --profile DIR: a CPU profile of each timed window (only), for reading with any .cpuprofile viewer.
const profileDir = flag("--profile")
const inspector = profileDir === undefined ? undefined : new Session()
if (inspector !== undefined) {
  inspector.connect()
  await inspector.post("Profiler.enable")
  await inspector.post("Profiler.setSamplingInterval", { interval: 100 })
}
let profiles = 0
const startProfile = () => {
  if (inspector !== undefined) void inspector.post("Profiler.start")
}
const stopProfile = (name: string) =>
  Effect.promise(async () => {
    if (inspector === undefined) return
    const { profile } = await inspector.post("Profiler.stop")
    mkdirSync(profileDir!, { recursive: true })
    writeFileSync(join(profileDir!, `${String(++profiles).padStart(2, "0")}-${name}.cpuprofile`), JSON.stringify(profile))
  })

const startMeasure = (): Start => {
  startProfile()
  return { at: performance.now(), thread: process.threadCpuUsage(), process: process.cpuUsage() }
}
const cpuOf = (usage: NodeJS.CpuUsage) => usage.user + usage.system
const measureSince = (start: Start, count: number): Measure => ({
  perSecond: Math.round(count / ((performance.now() - start.at) / 1000)),
  threadCpuUs: Number(((cpuOf(process.threadCpuUsage()) - cpuOf(start.thread)) / count).toFixed(3)),
  processCpuUs: Number(((cpuOf(process.cpuUsage()) - cpuOf(start.process)) / count).toFixed(3))
})

/** One configuration of the receiver, built once and kept for the whole run (as a daemon runs). */
const layerFor = (variant: Exclude<Variant, "baseline">) => {
  const { store, files } = configurations[variant]
  const subscribers = Layer.merge(layerLiveFeed, layerCheckAlerts(benchConfig))
  return layerZmqIngress({ iface: "127.0.0.1", port: 0 }).pipe(
    Layer.provideMerge(
      files
        ? Layer.mergeAll(subscribers, layerHeartbeatFiles({ directory: join(heartbeatDir, variant), flushIntervalMs: 1000 }))
        : Layer.mergeAll(subscribers, noHeartbeatFiles)
    ),
    Layer.provideMerge(layerReceiverCore(benchConfig)),
    Layer.provide(Layer.merge(ActorProbe.layerNone, IngressProbe.layerNone)),
    Layer.provideMerge(layerTest),
    Layer.provide(
      store
        ? layerSqliteStateStore({ path: join(scratch, `state-${variant}.db`), resetIfUnreadable: false })
        : layerMemoryStateStore()
    )
  )
}
type Pipeline = Effect.Success<ReturnType<typeof buildPipeline>>
const buildPipeline = (variant: Exclude<Variant, "baseline">) => Layer.build(layerFor(variant))

/** `count` heartbeats through a running configuration; the first run (the warm-up) makes every resource known. */
const pipeline = (variant: Exclude<Variant, "baseline">, running: Pipeline, count = heartbeats) =>
  Effect.gen(function*() {
    const ingress = yield* Ingress
    const persistence = yield* StatePersistence
    const heartbeatFiles = yield* HeartbeatFiles
    const notifications = yield* RecordedNotifications
    const outbox = yield* Outbox
    const before = ingress.counters()
    const accepted = () => ingress.counters().accepted - before.accepted
    yield* persistence.flush
    yield* heartbeatFiles.flush
    yield* outbox.drained
    notifications.clear()
    const sender = runSender(ingress.endpoint, count)
    const started = yield* firstFrame(() => ingress.counters().received - before.received)
    yield* untilAll(accepted, count)
    const rate = measureSince(started, count)
    yield* stopProfile(variant)
    // What the heartbeats left behind: how long until the rest of their state rows and files are
    // written (the writes during the run are in its rate: they share the machine with it).
    const drainStarted = performance.now()
    yield* persistence.flush
    yield* heartbeatFiles.flush
    const drainMs = Math.round(performance.now() - drainStarted)
    yield* Effect.promise(() => sender)
    if (accepted() !== count) throw new Error(`accepted ${accepted()} of ${count}`)
    return { ...rate, drainMs }
  }).pipe(Effect.provide(running))

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
  const started = yield* firstFrame(() => received)
  yield* untilAll(() => received, count)
  const rate = measureSince(started, count)
  yield* stopProfile("baseline")
  yield* Effect.promise(() => Promise.all([sender, loop]))
  socket.close()
  if (checksum === 0) throw new Error("nothing parsed")
  return rate
})

let pipelines: Partial<Record<Variant, Pipeline>> = {}
const run = (variant: Variant, count = heartbeats) => variant === "baseline" ? baseline(count) : pipeline(variant, pipelines[variant]!, count)

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
const ratio = (value: number, base: number) => Number((value / base).toFixed(3))

const variantNames: ReadonlyArray<Variant> = quick ? ["baseline", "default", "filesOff"] : ["baseline", "default", "filesOff", "storeOff"]

const program = Effect.gen(function*() {
  const variants: ReadonlyArray<Variant> = only === undefined ? variantNames : [only]
  for (const variant of variants) if (variant !== "baseline") pipelines = { ...pipelines, [variant]: yield* buildPipeline(variant) }
  // One short unmeasured pass of each, so that every run is timed with its code optimized by the
  // JIT, as a long-running daemon's is; it also makes every resource known (no actor to create,
  // no `new` to send in a timed run) and creates the heartbeat files.
  for (const variant of variants) yield* run(variant, warmUp)
  const perRound: Array<Record<Variant, Measure>> = []
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? variants : [...variants].reverse()
    const measures = {} as Record<Variant, Measure>
    for (const variant of order) measures[variant] = yield* run(variant)
    perRound.push(measures)
    process.stderr.write(`  round ${round + 1}/${rounds} (${order.join(", ")}): ${order.map((v) => `${v} ${measures[v].perSecond}/s`).join(", ")}\n`)
  }
  if (only !== undefined) {
    console.log(JSON.stringify({ heartbeats, resources, only, runs: perRound.map((r) => r[only]) }))
    return
  }
  const measured = (variant: Variant) => variantNames.includes(variant)
  const pairedRatios = perRound.map((m, round) => ({
    round: round + 1,
    storeOn: ratio(m.filesOff.perSecond, m.baseline.perSecond),
    filesOn: ratio(m.default.perSecond, m.baseline.perSecond),
    ...(measured("storeOff") ? { storeOff: ratio(m.storeOff.perSecond, m.baseline.perSecond) } : {})
  }))
  const medianOf = (variant: Variant, field: "perSecond" | "threadCpuUs" | "processCpuUs") => median(perRound.map((m) => m[variant][field]))
  // The receiving thread's CPU per heartbeat, baseline over configuration: the throughput ratio the
  // machine would give if nothing else ran on it (a cross-check of the wall-clock ratios on a
  // shared, loaded machine).
  const cpuRatio = (variant: Variant) => ratio(medianOf("baseline", "threadCpuUs"), medianOf(variant, "threadCpuUs"))
  console.log(JSON.stringify({
    heartbeats,
    resources,
    roundsRun: rounds,
    rounds: Object.fromEntries(variantNames.map((v) => [v, perRound.map((m) => m[v].perSecond)])),
    // Medians over the rounds. "heartbeatsPerSecond" and "ratio": state store on, files off.
    heartbeatsPerSecond: Math.round(medianOf("filesOff", "perSecond")),
    filesOnPerSecond: Math.round(medianOf("default", "perSecond")),
    storeOffPerSecond: measured("storeOff") ? Math.round(medianOf("storeOff", "perSecond")) : undefined,
    baselinePerSecond: Math.round(medianOf("baseline", "perSecond")),
    ratio: ratio(median(pairedRatios.map((r) => r.storeOn)), 1),
    filesOnRatio: ratio(median(pairedRatios.map((r) => r.filesOn)), 1),
    storeOffRatio: measured("storeOff") ? ratio(median(pairedRatios.map((r) => r.storeOff!)), 1) : undefined,
    pairedRatios,
    drainMs: Object.fromEntries(variantNames.filter((v) => v !== "baseline").map((v) => [v, Math.round(median(perRound.map((m) => m[v].drainMs ?? 0)))])),
    cpuMicrosPerHeartbeat: Object.fromEntries(variantNames.map((v) => [v, { thread: medianOf(v, "threadCpuUs"), process: medianOf(v, "processCpuUs") }])),
    cpuRatios: { storeOn: cpuRatio("filesOff"), filesOn: cpuRatio("default"), ...(measured("storeOff") ? { storeOff: cpuRatio("storeOff") } : {}) }
  }))
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Warn")))
  .finally(() => {
    senderProcess.stdin!.end()
    rmSync(scratch, { recursive: true, force: true })
  })
  .catch((error) => {
    console.error(error)
    process.exit(1)
  })
