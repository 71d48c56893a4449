// Resource scale, one size per process (run with --expose-gc): registers N resources, each with its
// actor, through the engine's synchronous heartbeat path; measures memory; writes the state store;
// then builds a second receiver from that store and measures the restore.
//   node --expose-gc bench/scale.ts N
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Clock, Effect, Layer, Result } from "effect"
import { ResourceSupervisor } from "../src/actors/ResourceSupervisor.ts"
import { ActorProbe } from "../src/actors/ResourceActor.ts"
import { parseReceiverConfig } from "../src/config/ReceiverConfig.ts"
import { layerTest } from "../src/notify/Notifier.ts"
import { HeartbeatRouter } from "../src/routing/HeartbeatRouter.ts"
import { layerReceiverCore } from "../src/routing/ReceiverCore.ts"
import { layerSqliteStateStore } from "../src/store/sqliteStateStore.ts"
import { StatePersistence } from "../src/store/StatePersistence.ts"

const resources = Number(process.argv[2] ?? 10_000)
const token = "scale-token-0123456789"
const parsed = parseReceiverConfig(`
enabled: true
notify_devilry_sleep: 0
queue_threshold: 10000000
new_resources_per_minute: 10000000
max_resources_per_client: 10000000
grace_period: 86400
clients:
  Scale:
    token: ${token}
    timeout: 60
`, "bench")
if (Result.isFailure(parsed)) throw new Error(parsed.failure.join("\n"))
const config = parsed.success
const dir = mkdtempSync(join(tmpdir(), "hbm-scale-"))
const storeLayer = layerSqliteStateStore({ path: join(dir, "state.db"), resetIfUnreadable: false })
const receiver = layerReceiverCore(config).pipe(Layer.provideMerge(layerTest), Layer.provide(storeLayer), Layer.provide(ActorProbe.layerNone))

const gc = () => (globalThis as { gc?: () => void }).gc?.()
const settleMemory = () => {
  gc()
  gc()
  return process.memoryUsage()
}

const register = Effect.gen(function*() {
  const engine = yield* HeartbeatRouter
  const clock = yield* Clock.Clock
  const before = settleMemory()
  const started = performance.now()
  for (let i = 0; i < resources; i++) {
    engine.accept({ token, resource: `host${i}.scale.example.com`, payload: { uptime: i } }, clock.currentTimeMillisUnsafe())
    // Let the new actors' fibers take their first step now and then, as they would under real traffic.
    if (i % 10_000 === 9_999) yield* Effect.yieldNow
  }
  yield* Effect.yieldNow
  const registerMs = performance.now() - started
  const supervisor = yield* ResourceSupervisor
  if (supervisor.size() !== resources) throw new Error(`expected ${resources} actors, got ${supervisor.size()}`)
  const after = settleMemory()
  const persistence = yield* StatePersistence
  yield* persistence.flush
  return {
    registerMs,
    rssBytes: after.rss,
    heapBytes: after.heapUsed,
    bytesPerResource: Math.round((after.rss - before.rss) / resources),
    heapBytesPerResource: Math.round((after.heapUsed - before.heapUsed) / resources)
  }
}).pipe(Effect.provide(receiver), Effect.scoped)

const program = Effect.gen(function*() {
  const registered = yield* register
  const started = performance.now()
  // A second receiver on the same database: building it restores every actor.
  const restored = yield* ResourceSupervisor.use((supervisor) => Effect.succeed(supervisor.size())).pipe(
    Effect.provide(receiver),
    Effect.scoped
  )
  const restoreMs = performance.now() - started
  if (restored !== resources) throw new Error(`restored ${restored} of ${resources}`)
  rmSync(dir, { recursive: true, force: true })
  console.log(JSON.stringify({ resources, ...registered, restoreMs }))
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
