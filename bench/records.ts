// What issue 18's records cost the ingest path, in paired rounds: the real pipeline (ZeroMQ PULL,
// decode, token check, routing, actor update, state store on SQLite) fed by a PUSH sender in
// another process, without and with the history (state.db), and with the message journal (a file in
// the temp folder, every heartbeat one line, rotated at 100 MB, one older file kept). Each round
// runs every variant, in an order that alternates from one round to the next, so a round's runs
// share the machine's noise; each variant's ratio is taken against its own round's `off` run and
// the median of the rounds' ratios is reported. Then the pruning speed: rows deleted per second in
// the history's chunks (1,000 rows per table) from a history of `--prune-rows` rows per table, and the longest chunk (the
// longest the event loop is held). Prints one JSON line.
//   node bench/records.ts [--quick] [--rounds N] [--prune-rows N]
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Effect, Layer } from "effect"
import { ActorProbe } from "../src/actors/ResourceActor.ts"
import { defaultHistoryOptions, layerHistory } from "../src/history/History.ts"
import { HistoryStore, type HistoryRow, type NotificationRow } from "../src/history/HistoryStore.ts"
import { layerSqliteHistoryStore } from "../src/history/sqliteHistoryStore.ts"
import { Ingress, IngressProbe, layerZmqIngress } from "../src/ingress/ZmqIngress.ts"
import { layerMessageJournal, MessageJournal } from "../src/ingress/MessageJournal.ts"
import { layerTest, RecordedNotifications } from "../src/notify/Notifier.ts"
import { layerReceiverCoreListening } from "../src/routing/ReceiverCore.ts"
import { layerSqliteStateStore } from "../src/store/sqliteStateStore.ts"
import { StatePersistence } from "../src/store/StatePersistence.ts"
import { benchConfig, benchResources, benchToken, flag } from "./ingestSetup.ts"

const quick = process.argv.includes("--quick")
const heartbeats = quick ? 200_000 : 1_000_000
const rounds = Number(flag("--rounds") ?? (quick ? 3 : 7))
const pruneRows = Number(flag("--prune-rows") ?? (quick ? 200_000 : 1_000_000))
const resources = benchResources
const token = benchToken
const dayMs = 24 * 3600_000
const config = benchConfig

const variants = ["off", "history", "journal"] as const
type Variant = (typeof variants)[number]

const runSender = (endpoint: string, count: number) =>
  new Promise<void>((done, fail) => {
    const child = spawn(process.execPath, [resolve(import.meta.dirname, "pushSender.mjs"), endpoint, String(count), String(resources), token], { stdio: "inherit" })
    child.on("exit", (code) => (code === 0 ? done() : fail(new Error(`sender exited ${code}`))))
  })

const until = (done: () => boolean) =>
  Effect.gen(function*() {
    while (!done()) yield* Effect.sleep(2)
  })

/** The listeners of a variant, subscribed with the core as the daemon subscribes the history. */
const listenersOf = (variant: Variant, path: string) =>
  variant !== "history"
    ? Layer.empty
    : layerHistory({ retentionMs: 90 * dayMs, repeats: false }).pipe(Layer.provide(layerSqliteHistoryStore(path)))

/** The message journal of a variant: on in `journal` only. */
const journalOf = (variant: Variant, folder: string) =>
  variant === "journal" ? layerMessageJournal({ file: join(folder, "journal.jsonl"), maxBytes: 100 * 1024 * 1024, keep: 1 }) : Layer.empty

/** Heartbeats per second of one run, every resource known first (as on a running receiver). */
const pipeline = (variant: Variant, count: number) => {
  const folder = mkdtempSync(join(tmpdir(), "hbm-bench-records-"))
  const path = join(folder, "state.db")
  return Effect.gen(function*() {
    const ingress = yield* Ingress
    const persistence = yield* StatePersistence
    const journal = yield* MessageJournal
    const accepted = () => ingress.counters().accepted
    yield* Effect.promise(() => runSender(ingress.endpoint, resources))
    yield* until(() => accepted() >= resources)
    yield* persistence.flush
    yield* journal.flush
    const writerStarted = journal.counters().writeCpuMicros
    ;(yield* RecordedNotifications).clear()
    const sender = runSender(ingress.endpoint, count)
    yield* until(() => ingress.counters().received > resources)
    const started = performance.now()
    const cpuStarted = process.threadCpuUsage()
    yield* until(() => accepted() >= resources + count)
    // The journal's writes behind count too: the run ends once they are done.
    yield* journal.flush
    const cpu = process.threadCpuUsage(cpuStarted)
    const writerUs = (journal.counters().writeCpuMicros - writerStarted) / count
    const perSecond = Math.round(count / ((performance.now() - started) / 1000))
    yield* Effect.promise(() => sender)
    yield* persistence.flush
    ;(yield* RecordedNotifications).clear()
    // CPU of the receiving thread per heartbeat (µs): what a loaded machine moves far less than the rate.
    // The journal's writer alone (its own CPU clock), per heartbeat: 0 without the journal.
    return { perSecond, cpuUs: Number(((cpu.user + cpu.system) / count).toFixed(3)), writerUs: Number(writerUs.toFixed(3)) }
  }).pipe(
    Effect.provide(
      layerZmqIngress({ iface: "127.0.0.1", port: 0 }).pipe(
        Layer.provideMerge(layerReceiverCoreListening(config, listenersOf(variant, path))),
        Layer.provide(Layer.merge(ActorProbe.layerNone, IngressProbe.layerNone)),
        Layer.provideMerge(journalOf(variant, folder)),
        Layer.provideMerge(layerTest),
        Layer.provide(layerSqliteStateStore({ path, resetIfUnreadable: false }))
      )
    ),
    Effect.scoped,
    Effect.ensuring(Effect.sync(() => rmSync(folder, { recursive: true, force: true })))
  )
}

interface Run {
  readonly perSecond: number
  readonly cpuUs: number
  readonly writerUs: number
}

/**
 * What `record` costs the heartbeat path (CPU µs per message): the one part of the journal inside
 * the receive handler, timed alone in batches of 50,000 as the writer takes them.
 */
const recordCost = Effect.gen(function*() {
  const folder = mkdtempSync(join(tmpdir(), "hbm-bench-record-"))
  const frames = Array.from({ length: resources }, (_, index) =>
    Buffer.from(JSON.stringify({ token, resource: `host${index}.bench.example.com`, payload: { uptime: 12345 } })))
  const costs: Array<number> = []
  yield* Effect.gen(function*() {
    const journal = yield* MessageJournal
    for (let batch = 0; batch < 20; batch++) {
      const started = process.threadCpuUsage()
      for (let index = 0; index < 50_000; index++) {
        const frame = frames[index % resources]!
        journal.record("zmq", null, frame, frame.length, "accepted", undefined, index)
      }
      const cpu = process.threadCpuUsage(started)
      costs.push((cpu.user + cpu.system) / 50_000)
      yield* journal.flush
    }
  }).pipe(
    Effect.provide(layerMessageJournal({ file: join(folder, "journal.jsonl"), maxBytes: 100 * 1024 * 1024, keep: 1 })),
    Effect.scoped,
    Effect.ensuring(Effect.sync(() => rmSync(folder, { recursive: true, force: true })))
  )
  return median(costs.slice(5))
})

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** Pruning speed: `rows` old rows per table, deleted as the history deletes them. */
const pruning = Effect.gen(function*() {
  const path = join(mkdtempSync(join(tmpdir(), "hbm-bench-prune-")), "state.db")
  return yield* Effect.gen(function*() {
    const store = yield* HistoryStore
    const batch = 50_000
    for (let first = 1; first <= pruneRows; first += batch) {
      const history: Array<HistoryRow> = []
      const notifications: Array<NotificationRow> = []
      for (let id = first; id < first + batch && id <= pruneRows; id++) {
        history.push({ id, atMs: id, client: "Bench", resource: `host${id % resources}.bench.example.com`, kind: "stale", status: "stale", detail: undefined })
        notifications.push({
          id,
          atMs: id,
          notification: {
            severity: "critical",
            event: "heartbeat_mesh_heartbeat_timeout",
            text: "Heartbeat from host timed out: last one 120 s ago, timeout 60 s",
            resource: `host${id % resources}.bench.example.com`,
            service: "heartbeat",
            group: `host${id % resources}.bench.example.com`,
            value: 120,
            origin: "heartbeat_mesh/receiver.py",
            client: "Bench",
            correlate: ["heartbeat_mesh_heartbeat_ok"],
            attributes: { receiver: "bench", timeout: 60 }
          }
        })
      }
      yield* store.write(history, notifications)
    }
    let removed = 0
    let longestChunkMs = 0
    const started = performance.now()
    while (true) {
      const chunkStarted = performance.now()
      const count = yield* store.prune(dayMs, defaultHistoryOptions.pruneChunk)
      longestChunkMs = Math.max(longestChunkMs, performance.now() - chunkStarted)
      if (count === 0) break
      removed += count
    }
    const seconds = (performance.now() - started) / 1000
    return { rows: removed, rowsPerSecond: Math.round(removed / seconds), longestChunkMs: Number(longestChunkMs.toFixed(1)) }
  }).pipe(
    Effect.provide(layerSqliteHistoryStore(path).pipe(Layer.provide(layerSqliteStateStore({ path, resetIfUnreadable: false })))),
    Effect.scoped
  )
})

const program = Effect.gen(function*() {
  // One unmeasured pass of each, so that every variant is timed with its code optimized.
  for (const variant of variants) yield* pipeline(variant, 50_000)
  const perRound: Array<Record<Variant, Run>> = []
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? variants : [...variants].reverse()
    const results = {} as Record<Variant, Run>
    for (const variant of order) results[variant] = yield* pipeline(variant, heartbeats)
    perRound.push(results)
    process.stderr.write(`  round ${round + 1}: ${JSON.stringify(results)}\n`)
  }
  const recordUs = yield* recordCost
  const ratio = (variant: Variant) => Number(median(perRound.map((r) => r[variant].perSecond / r.off.perSecond)).toFixed(3))
  const cpuRatio = (variant: Variant) => Number(median(perRound.map((r) => r[variant].cpuUs / r.off.cpuUs)).toFixed(3))
  console.log(JSON.stringify({
    heartbeats,
    resources,
    rounds: perRound,
    offPerSecond: median(perRound.map((r) => r.off.perSecond)),
    historyPerSecond: median(perRound.map((r) => r.history.perSecond)),
    historyOverOff: ratio("history"),
    historyCpuOverOff: cpuRatio("history"),
    journalPerSecond: median(perRound.map((r) => r.journal.perSecond)),
    journalOverOff: ratio("journal"),
    journalCpuOverOff: cpuRatio("journal"),
    // The journal's share of the receiving thread's CPU in its own runs (writer + record), which the
    // machine's load moves far less than the paired rates: the throughput it costs is about this share.
    journalWriterUsPerHeartbeat: median(perRound.map((r) => r.journal.writerUs)),
    journalRecordUsPerHeartbeat: Number(recordUs.toFixed(3)),
    journalCpuShare: Number(median(perRound.map((r) => (r.journal.writerUs + recordUs) / r.journal.cpuUs)).toFixed(3)),
    prune: yield* pruning
  }))
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})

