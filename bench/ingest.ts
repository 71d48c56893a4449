// Ingest throughput of the real receiver pipeline (ZeroMQ PULL, decode, token check, routing,
// actor update, state store) fed by a PUSH sender in another process, with the SQLite state store
// on and off, alternated to share the machine's noise. Not part of `npm test`.
//   node bench/ingest.ts [--quick]
import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Effect, Layer, Result } from "effect"
import { parseReceiverConfig } from "../src/config/ReceiverConfig.ts"
import { Ingress, layerZmqIngress } from "../src/ingress/ZmqIngress.ts"
import { layerTest, RecordedNotifications } from "../src/notify/Notifier.ts"
import { layerReceiverCore } from "../src/receiver/ReceiverEngine.ts"
import { layerSqliteStateStore } from "../src/store/sqliteStateStore.ts"
import { StatePersistence } from "../src/store/StatePersistence.ts"
import { layerMemoryStateStore } from "../src/store/StateStore.ts"

const quick = process.argv.includes("--quick")
const heartbeats = quick ? 200_000 : 1_000_000
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

const runSender = (endpoint: string) =>
  new Promise<void>((done, fail) => {
    const child = spawn(process.execPath, [resolve(import.meta.dirname, "pushSender.mjs"), endpoint, String(heartbeats), String(resources), token], { stdio: "inherit" })
    child.on("exit", (code) => (code === 0 ? done() : fail(new Error(`sender exited ${code}`))))
  })

const measure = (store: "on" | "off") =>
  Effect.gen(function*() {
    const ingress = yield* Ingress
    const recorded = yield* RecordedNotifications
    const sender = runSender(ingress.endpoint)
    // The clock starts at the first heartbeat, so process start-up is not counted.
    while (ingress.counters().received === 0) yield* Effect.sleep(1)
    const started = performance.now()
    while (ingress.counters().received < heartbeats) yield* Effect.sleep(5)
    const seconds = (performance.now() - started) / 1000
    yield* Effect.promise(() => sender)
    const persistence = yield* StatePersistence
    yield* persistence.flush
    recorded.clear()
    const counters = ingress.counters()
    return {
      store,
      heartbeatsPerSecond: Math.round(counters.accepted / seconds),
      accepted: counters.accepted,
      rowsWritten: persistence.counters().rowsWritten
    }
  }).pipe(
    Effect.provide(
      Layer.mergeAll(layerZmqIngress({ iface: "127.0.0.1", port: 0 })).pipe(
        Layer.provideMerge(layerReceiverCore(config.success)),
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

const program = Effect.gen(function*() {
  const rounds = quick ? 1 : 3
  const results: Array<{ store: string; heartbeatsPerSecond: number; accepted: number; rowsWritten: number }> = []
  for (let round = 0; round < rounds; round++) {
    for (const store of ["off", "on"] as const) results.push(yield* measure(store))
  }
  const best = (store: string) => Math.max(...results.filter((r) => r.store === store).map((r) => r.heartbeatsPerSecond))
  console.table(results)
  const off = best("off")
  const on = best("on")
  console.log(JSON.stringify({ heartbeats, resources, storeOff: off, storeOn: on, onOverOff: Number((on / off).toFixed(3)) }))
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
