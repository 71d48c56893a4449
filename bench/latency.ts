// Detection latency: 10,000 resources send once (spread over about a second, like a fleet's cron
// minute) and then fall silent. For each, how late after its deadline (last heartbeat + timeout +
// jitter) the receiver emitted its timeout, on the real clock. Prints one JSON line.
//   node bench/latency.ts [--resources N]
import { Clock, Effect, Layer, Result } from "effect"
import { ResourceSupervisor } from "../src/actors/ResourceSupervisor.ts"
import { ActorProbe } from "../src/actors/ResourceActor.ts"
import { parseReceiverConfig } from "../src/config/ReceiverConfig.ts"
import { layerTest } from "../src/notify/Notifier.ts"
import { NotificationJournal } from "../src/notify/NotificationJournal.ts"
import { HeartbeatRouter } from "../src/routing/HeartbeatRouter.ts"
import { layerReceiverCore } from "../src/routing/ReceiverCore.ts"
import { layerMemoryStateStore } from "../src/store/StateStore.ts"

const resourcesFlag = process.argv.indexOf("--resources")
const resources = resourcesFlag > 0 ? Number(process.argv[resourcesFlag + 1]) : 10_000
const token = "latency-token-0123456789"
// Timeout 0.05 min = 3 s, jitter 1 s: each deadline is 4 s after its heartbeat. The receiver stays
// active throughout (its activity window is check interval + jitter = 61 s).
const parsed = parseReceiverConfig(`
enabled: true
notify_devilry_sleep: 0
queue_threshold: 1000000
grace_period: 0
check_interval: 60
timeout_jitter: 1
clients:
  Latency:
    token: ${token}
    timeout: 0.05
`, "bench")
if (Result.isFailure(parsed)) throw new Error(parsed.failure.join("\n"))

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!

const program = Effect.gen(function*() {
  const engine = yield* HeartbeatRouter
  const supervisor = yield* ResourceSupervisor
  const journal = yield* NotificationJournal
  const clock = yield* Clock.Clock
  const lateness: Array<number> = []
  journal.subscribe((entry) => {
    if (entry.notification.event !== "heartbeat_mesh_heartbeat_timeout") return
    const actor = supervisor.find("Latency", entry.notification.resource)!
    const deadline = actor.state.lastSeenMs! + 3000 + 1000
    // performance.timeOrigin + now() gives sub-millisecond wall time for the emission.
    lateness.push(performance.timeOrigin + performance.now() - deadline)
  })
  const batch = 100
  for (let sent = 0; sent < resources; sent += batch) {
    for (let i = sent; i < Math.min(resources, sent + batch); i++) {
      engine.accept({ token, resource: `host${i}.latency.example.com` }, clock.currentTimeMillisUnsafe())
    }
    yield* Effect.sleep(10)
  }
  while (lateness.length < resources) yield* Effect.sleep(50)
  const sorted = [...lateness].sort((a, b) => a - b)
  const round = (ms: number) => Number(ms.toFixed(2))
  console.log(JSON.stringify({
    resources,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted[sorted.length - 1]!),
    earliestMs: round(sorted[0]!)
  }))
}).pipe(
  Effect.provide(layerReceiverCore(parsed.success).pipe(Layer.provideMerge(layerTest), Layer.provide(layerMemoryStateStore()), Layer.provide(ActorProbe.layerNone))),
  Effect.scoped
)

Effect.runPromise(program).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
