// `npm run bench [-- --quick]`: every benchmark, each in its own process, side by side in one run.
// Prints a table against the targets and writes bench/results/latest.json. Not part of `npm test`.
// `--quick` (within 90 s on the 2-core machine): the ingest's paired rounds at a smaller size and
// the real daemon's RSS at 100k resources after traffic (files off, no restart); every other
// benchmark runs in the full run only. The time of each part is printed to stderr and kept in the JSON.
import { spawnSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus, loadavg, totalmem } from "node:os"
import { join, resolve } from "node:path"

const quick = process.argv.includes("--quick")
const here = import.meta.dirname
const node = process.execPath

/** Runs one benchmark script and returns the JSON object it printed last. */
const seconds: Record<string, number> = {}
const run = (script: string, args: ReadonlyArray<string>, nodeFlags: ReadonlyArray<string> = []) => {
  const started = Date.now()
  const child = spawnSync(node, [...nodeFlags, join(here, script), ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
  const line = child.stdout.split("\n").filter((l) => l.startsWith("{")).at(-1)
  if (child.status !== 0 || line === undefined) {
    throw new Error(`${script} ${args.join(" ")} failed (status ${child.status}):\n${child.stderr.slice(-2000)}`)
  }
  const took = Number(((Date.now() - started) / 1000).toFixed(1))
  seconds[`${script} ${args.join(" ")}`.trim()] = took
  process.stderr.write(`  ${script} ${args.join(" ")}: ${took} s\n`)
  return JSON.parse(line)
}

const runStarted = Date.now()
process.stderr.write(`heartbeat-mesh benchmarks${quick ? " (quick)" : ""}\n`)
const ingest = run("ingest.ts", quick ? ["--quick"] : [])
const scaleSizes = quick ? [] : [10_000, 100_000, 1_000_000]
const scaleInProcess = scaleSizes.map((size) => run("scale.ts", [String(size)], ["--expose-gc", "--max-old-space-size=8192"]))
// The real daemon after traffic and after a restart. A full run: 100k with heartbeat files on (the
// default) and off, 1M with files off (creating 2M files, ~130 us each here, alone takes longer
// than the rest of the run); files on is paced at the target's rate, 100k once a minute (1,667/s). A quick one: 100k, files off, one heartbeat per resource, no restart.
const daemonRuns = quick
  ? [[100_000, "off", "--settle", "2000", "--restart", "off", "--passes", "1"]]
  : [[100_000, "on", "--rate", "1667"], [100_000, "off"], [1_000_000, "off"]]
const daemon = daemonRuns.map(([size, files, ...rest]) => run("daemonScale.ts", [String(size), "--files", String(files), ...rest.map(String)]))
// The benchmarks' JSON, loosely typed: each script prints its own fields.
type Row = Record<string, any>
// Each size's row: the in-process figures (full run) and the real daemon's (files on where measured).
const sizes = [...new Set([...scaleInProcess.map((s: Row) => s.resources as number), ...daemon.map((d: Row) => d.resources as number)])]
const scale: Array<Row> = sizes.map((resources) => {
  const s: Row = scaleInProcess.find((r: Row) => r.resources === resources) ?? { resources }
  const real = daemon.find((d: Row) => d.resources === resources && d.files) ?? daemon.find((d: Row) => d.resources === resources)
  const filesOff = daemon.find((d: Row) => d.resources === resources && !d.files)
  return real === undefined ? s : {
    ...s,
    ...(filesOff === undefined || filesOff === real ? {} : { daemonFilesOffRssAfterTrafficBytes: filesOff.daemonRssAfterTrafficBytes, daemonFilesOffRestartMs: filesOff.restartMs }),
    daemonRssAfterTrafficBytes: real.daemonRssAfterTrafficBytes,
    daemonRssAfterRestartBytes: real.daemonRssAfterRestartBytes,
    restartMs: real.restartMs,
    daemonMemory: real.memory,
    daemonFiles: real.files,
    ...(real.fileLagMaxSeconds === undefined ? {} : { fileLagMaxSeconds: real.fileLagMaxSeconds, fileLagPacedRate: real.pacedRate, fileLagMedianSeconds: real.fileLagMedianSeconds, filesCaughtUpMs: real.filesCaughtUpMs })
  }
})
// The other benchmarks: the full run only (each script still takes --quick when run on its own).
const others = quick ? undefined : {
  latency: run("latency.ts", ["--resources", "10000"]),
  sender: run("sender.ts", []),
  notify: run("notify.ts", []),
  transports: run("transports.ts", []),
  senderCost: run("senderCost.ts", []),
  reads: run("reads.ts", []),
  records: run("records.ts", [])
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024)
const mbOrBlank = (bytes: number | undefined) => (bytes === undefined ? "" : mb(bytes))
const scaleAt = (n: number): Row => scale.find((s) => s["resources"] === n) ?? {}
const otherTargets = ({ latency, sender, notify, records, senderCost, reads }: Row) => [
  { what: "detection p99, ms late", measured: latency.p99Ms, target: "<= 50", met: latency.p99Ms <= 50 },
  { what: "sender, one receiver refusing, ms", measured: sender.wallMsOneRefused, target: "<= 300", met: sender.wallMsOneRefused <= 300 },
  { what: "sender CPU with every plugin / without (paired)", measured: sender.pluginCostRatio, target: "<= 1.5", met: sender.pluginCostRatio <= 1.5 },
  { what: "notify_devilry / the deployed loop side by side (pacing 0, median of paired rounds)", measured: `${notify.devilryOverDeployed} (${notify.perSecond.notify_devilry}/s vs ${notify.deployedLoopPerSecond}/s)`, target: ">= 1", met: notify.devilryOverDeployed >= 1 },
  { what: `burst of ${notify.burst} new resources: ingest notifications on / off (median of paired rounds)`, measured: notify.burstRatio, target: ">= 0.8", met: notify.burstRatio >= 0.8 },
  { what: "message journal: its share of the ingest thread's CPU (issue 18)", measured: records.journalCpuShare, target: "<= 0.15", met: records.journalCpuShare <= 0.15 },
  ...(senderCost.baselineAvailable
    ? [
      { what: "packaged sender CPU / deployed-sender stand-in", measured: senderCost.cpuRatioPackagedToBaseline, target: "<= 2", met: senderCost.cpuRatioPackagedToBaseline <= 2 },
      { what: "sender bundle without compile cache CPU / stand-in", measured: senderCost.cpuRatioBundleToBaseline, target: "<= 2", met: senderCost.cpuRatioBundleToBaseline <= 2 }
    ]
    : [{ what: "packaged sender CPU / deployed-sender stand-in", measured: "baseline unavailable (apt-get install python3-zmq python3-yaml)", target: "<= 2", met: false }]),
  { what: "packaged sender peak RSS, MB", measured: senderCost.packaged.rssMB, target: "<= 40", met: senderCost.packaged.rssMB <= 40 },
  { what: `one page of the list, ${reads.sizes.at(-1).resources} / ${reads.sizes[0].resources} resources`, measured: reads.pageRatio, target: "<= 3", met: reads.pageRatio <= 3 },
  { what: `/metrics, ${reads.sizes.at(-1).resources} / ${reads.sizes[0].resources} resources`, measured: reads.metricsRatio, target: "<= 3", met: reads.metricsRatio <= 3 },
  { what: "longest event-loop block, 10 parallel readers or a full export, ms", measured: reads.maxBlockMs, target: "<= 20", met: reads.maxBlockMs <= 20 },
  { what: "peak RSS during reads / idle RSS", measured: reads.peakRssOverIdle, target: "<= 1.1", met: reads.peakRssOverIdle <= 1.1 }
]
const targets = [
  { what: "ingest, store on, files off / baseline (median of paired rounds)", measured: ingest.ratio, target: ">= 0.8", met: ingest.ratio >= 0.8 },
  { what: "ingest, default configuration (files on) / baseline (median)", measured: ingest.filesOnRatio, target: ">= 0.7", met: ingest.filesOnRatio >= 0.7 },
  { what: "100k resources, daemon RSS after traffic, MB", measured: mb(scaleAt(100_000).daemonRssAfterTrafficBytes), target: "<= 300", met: scaleAt(100_000).daemonRssAfterTrafficBytes <= 300 * 1024 * 1024 },
  ...(scaleAt(100_000).fileLagMaxSeconds === undefined ? [] : [
    { what: `heartbeat files, largest lag at 100k resources (${scaleAt(100_000).fileLagPacedRate}/s), s`, measured: scaleAt(100_000).fileLagMaxSeconds, target: "<= 2", met: scaleAt(100_000).fileLagMaxSeconds <= 2 }
  ]),
  ...(scaleAt(1_000_000)?.daemonRssAfterTrafficBytes === undefined ? [] : [
    { what: "1M resources, daemon RSS after traffic, MB", measured: mb(scaleAt(1_000_000).daemonRssAfterTrafficBytes), target: "<= 1536", met: scaleAt(1_000_000).daemonRssAfterTrafficBytes <= 1.5 * 1024 * 1024 * 1024 },
    { what: "1M resources, daemon RSS after a restart, MB", measured: mb(scaleAt(1_000_000).daemonRssAfterRestartBytes), target: "<= 1536", met: scaleAt(1_000_000).daemonRssAfterRestartBytes <= 1.5 * 1024 * 1024 * 1024 },
    { what: "1M resources, restart to ready, ms", measured: scaleAt(1_000_000).restartMs, target: "<= 5000", met: scaleAt(1_000_000).restartMs <= 5000 }
  ]),
  ...(others === undefined ? [] : otherTargets(others))
]

console.log(`\nIngest (10,000 resources, PUSH sender in another process; ${ingest.roundsRun} paired rounds, medians)`)
console.table([{
  defaultFilesOn: ingest.filesOnPerSecond,
  storeOnFilesOff: ingest.heartbeatsPerSecond,
  storeOffFilesOn: ingest.storeOffPerSecond ?? "(full run)",
  baseline: ingest.baselinePerSecond,
  filesOnRatio: ingest.filesOnRatio,
  storeOnRatio: ingest.ratio,
  storeOffRatio: ingest.storeOffRatio ?? "(full run)"
}])
console.log("Paired ratios per round (configuration / that round's baseline)")
console.table(ingest.pairedRatios)
console.log("Scale (in-process figures: a fresh process per size, full run only; daemon*: the real daemon process after traffic and after a restart)")
console.table(scale.map((s: Record<string, number>) => ({
  resources: s["resources"],
  rssMB: mbOrBlank(s["rssBytes"]),
  heapMB: mbOrBlank(s["heapBytes"]),
  bytesPerResource: s["bytesPerResource"] ?? "",
  registerMs: s["registerMs"] === undefined ? "" : Math.round(s["registerMs"]),
  restoreMs: s["restoreMs"] === undefined ? "" : Math.round(s["restoreMs"]),
  daemonRssMB: mbOrBlank(s["daemonRssAfterTrafficBytes"]),
  daemonRssAfterRestartMB: mbOrBlank(s["daemonRssAfterRestartBytes"]),
  daemonFilesOffRssMB: mbOrBlank(s["daemonFilesOffRssAfterTrafficBytes"]),
  daemonRestartMs: s["restartMs"] ?? "",
  daemonFiles: s["daemonFiles"] ?? "",
  fileLagMaxSeconds: s["fileLagMaxSeconds"] ?? ""
})))
if (others !== undefined) {
  const { latency, sender, notify, transports, senderCost, reads } = others
  console.log("Detection latency (10,000 resources going stale; ms after the deadline)")
  console.table([latency])
  console.log("Sender (median wall time of a run)")
  console.table([sender])
  console.log(`Notifications/s per channel kind, pacing 0 (deployed receiver: ${notify.deployedNotifyDevilryPerSecond}/s through notify_devilry)`)
  console.table([{ ...notify.perSecond, deployed_notify_devilry: notify.deployedNotifyDevilryPerSecond }])
  console.log(`Burst of ${notify.burst} new resources (heartbeats/s, best of the rounds): notifications on vs off`)
  console.table([{ on: notify.burstOnPerSecond, off: notify.burstOffPerSecond, ratioOfBest: notify.burstRatioOfBest, medianPairedRatio: notify.burstRatio }])
  console.log("Transports (store off; UDP acked with 256 in flight, so without loss)")
  console.table([{ zmq: transports.zmqPerSecond, curve: transports.curvePerSecond, udpAcked: transports.udpAckedPerSecond, curveOverZmq: transports.curveOverZmq, udpOverZmq: transports.udpOverZmq }])
  console.log("Sender cost per run, one receiver refusing (median CPU s and peak RSS MB; baseline: Python stand-in for the deployed sender)")
  console.table([senderCost])
  console.log("Reads (a receiver process per fleet size, heartbeats arriving; medians of 30, ms; block: longest event-loop block)")
  console.table(reads.sizes.map((r: Record<string, number>) => ({
    resources: r["resources"],
    page: r["pageMs"],
    pageAtRandomOffset: r["pageAtRandomOffsetMs"],
    search: r["searchMs"],
    metrics: r["metricsMs"],
    summary: r["summaryMs"],
    blockParallel: r["parallelMaxBlockMs"],
    exportMs: r["exportMs"],
    blockExport: r["exportMaxBlockMs"],
    idleRssMB: mb(r["idleRssBytes"]!),
    peakRssOverIdle: r["peakRssOverIdle"]
  })))
}
console.log("Targets")
console.table(targets.map((t) => ({ ...t, met: t.met ? "yes" : "NO" })))

const results = {
  date: new Date().toISOString(),
  quick,
  // The machine's load when the run ended (1, 5, 15 minutes): absolute rates mean little when it is high.
  loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem(), node: process.version },
  // Rates and ratios are medians over paired rounds; "heartbeatsPerSecond"/"ratio": store on, files off.
  ingest: {
    heartbeatsPerSecond: ingest.heartbeatsPerSecond,
    filesOnPerSecond: ingest.filesOnPerSecond,
    storeOffPerSecond: ingest.storeOffPerSecond,
    baselinePerSecond: ingest.baselinePerSecond,
    ratio: ingest.ratio,
    filesOnRatio: ingest.filesOnRatio,
    storeOffRatio: ingest.storeOffRatio,
    pairedRatios: ingest.pairedRatios,
    drainMs: ingest.drainMs,
    cpuMicrosPerHeartbeat: ingest.cpuMicrosPerHeartbeat,
    cpuRatios: ingest.cpuRatios,
    heartbeats: ingest.heartbeats,
    resources: ingest.resources,
    rounds: ingest.rounds
  },
  scale: scale.map((s: Record<string, number>) => ({
    resources: s["resources"],
    rssBytes: s["rssBytes"],
    heapBytes: s["heapBytes"],
    bytesPerResource: s["bytesPerResource"],
    registerMs: s["registerMs"] === undefined ? undefined : Math.round(s["registerMs"]),
    restoreMs: s["restoreMs"] === undefined ? undefined : Math.round(s["restoreMs"]),
    ...(s["daemonRssAfterTrafficBytes"] === undefined ? {} : {
      daemonRssAfterTrafficBytes: s["daemonRssAfterTrafficBytes"],
      daemonMemory: s["daemonMemory"],
      daemonFilesOffRssAfterTrafficBytes: s["daemonFilesOffRssAfterTrafficBytes"],
      daemonFilesOffRestartMs: s["daemonFilesOffRestartMs"],
      daemonRssAfterRestartBytes: s["daemonRssAfterRestartBytes"],
      restartMs: s["restartMs"],
      daemonHeartbeatFiles: s["daemonFiles"],
      ...(s["fileLagMaxSeconds"] === undefined ? {} : { fileLagMaxSeconds: s["fileLagMaxSeconds"], fileLagPacedRate: s["fileLagPacedRate"] })
    })
  })),
  ...(others === undefined ? {} : {
    latency: { p50Ms: others.latency.p50Ms, p99Ms: others.latency.p99Ms, maxMs: others.latency.maxMs, resources: others.latency.resources },
    notify: others.notify,
    senderCost: others.senderCost,
    reads: others.reads,
    records: others.records,
    sender: { wallMsOneRefused: others.sender.wallMsOneRefused, cpuMsPlain: others.sender.cpuMsPlain, cpuMsAllPlugins: others.sender.cpuMsAllPlugins, pluginCostRatio: others.sender.pluginCostRatio, coldStartMs: others.sender.coldStartMs, firstRunUncachedMs: others.sender.firstRunUncachedMs },
    transports: { zmqPerSecond: others.transports.zmqPerSecond, curvePerSecond: others.transports.curvePerSecond, udpAckedPerSecond: others.transports.udpAckedPerSecond, rounds: others.transports.rounds }
  }),
  // Wall-clock seconds of each part and of the whole run.
  seconds: { ...seconds, total: Number(((Date.now() - runStarted) / 1000).toFixed(1)) },
  targets
}
const out = resolve(here, "results")
mkdirSync(out, { recursive: true })
writeFileSync(join(out, "latest.json"), JSON.stringify(results, null, 2) + "\n")
console.log(`\nwritten: bench/results/latest.json`)
