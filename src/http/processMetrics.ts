import { Effect } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { getHeapSpaceStatistics } from "node:v8"
import { liveCounter, liveGauge } from "../support/liveMetrics.ts"
import { version } from "../support/version.ts"

/**
 * Metric names in /metrics: ours get the `heartbeat_mesh_` prefix; the standard process and Node.js
 * ones (`process_*`, `nodejs_*`) keep the names every exporter uses, so stock dashboards and alert
 * rules work on them.
 */
export const prometheusName = (id: string) =>
  id.startsWith("process_") || id.startsWith("nodejs_") ? id : `heartbeat_mesh_${id}`

const startTimeSeconds = Math.round(Date.now() / 1000 - process.uptime())

/** The value of one `/proc/self/limits` row ("Max open files"), or -1 where there is none. */
const procLimit = (row: string) => {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith(row))
    const soft = line?.slice(row.length).trim().split(/\s+/)[0]
    return soft === undefined || soft === "unlimited" ? -1 : Number(soft)
  } catch {
    return -1
  }
}

const openFds = () => {
  try {
    return readdirSync("/proc/self/fd").length - 1 // the listing's own descriptor
  } catch {
    return -1
  }
}

/** Field 23 of /proc/self/stat: virtual memory size in bytes. */
const virtualMemoryBytes = () => {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8")
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[20])
  } catch {
    return -1
  }
}

const [major, minor, patch] = process.versions.node.split(".")

/**
 * The default process and Node.js metrics (the names prom-client and the Prometheus client
 * libraries use) and `heartbeat_mesh_build_info{version}`, each read when metrics are taken. The
 * event loop's delay is `heartbeat_mesh_event_loop_lag_seconds` (http/metrics.ts).
 */
export const processMetrics = Effect.gen(function*() {
  // One reading per scrape for the three CPU series: read apart, the series read between them
  // (more of them with every feature) let the total drift from user + system.
  let cpuReading = { atMs: Number.NEGATIVE_INFINITY, usage: process.cpuUsage() }
  const cpu = () => {
    const nowMs = performance.now()
    if (nowMs - cpuReading.atMs > 100) cpuReading = { atMs: nowMs, usage: process.cpuUsage() }
    return cpuReading.usage
  }
  yield* liveCounter("process_cpu_user_seconds_total", "User CPU time spent, in seconds", () => cpu().user / 1e6)
  yield* liveCounter("process_cpu_system_seconds_total", "System CPU time spent, in seconds", () => cpu().system / 1e6)
  yield* liveCounter("process_cpu_seconds_total", "User and system CPU time spent, in seconds", () => {
    const used = cpu()
    return (used.user + used.system) / 1e6
  })
  yield* liveGauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds", () => startTimeSeconds)
  yield* liveGauge("process_resident_memory_bytes", "Resident memory size, in bytes", () => process.memoryUsage.rss())
  yield* liveGauge("process_virtual_memory_bytes", "Virtual memory size, in bytes", virtualMemoryBytes)
  yield* liveGauge("process_open_fds", "Open file descriptors", openFds)
  yield* liveGauge("process_max_fds", "Limit of open file descriptors (-1: none)", () => procLimit("Max open files"))
  yield* liveGauge("nodejs_heap_size_total_bytes", "V8 heap size, in bytes", () => process.memoryUsage().heapTotal)
  yield* liveGauge("nodejs_heap_size_used_bytes", "V8 heap in use, in bytes", () => process.memoryUsage().heapUsed)
  yield* liveGauge("nodejs_external_memory_bytes", "Memory of C++ objects bound to JavaScript objects, in bytes", () => process.memoryUsage().external)
  for (const { space_name } of getHeapSpaceStatistics()) {
    const space = space_name.replace(/_space$/, "")
    const used = () => getHeapSpaceStatistics().find((s) => s.space_name === space_name)?.space_used_size ?? 0
    yield* liveGauge("nodejs_heap_space_size_used_bytes", "V8 heap space in use, by space, in bytes", used, { space })
  }
  yield* liveGauge("nodejs_active_resources_total", "Resources keeping the event loop alive (sockets, timers, ...)", () => process.getActiveResourcesInfo().length)
  yield* liveGauge("nodejs_version_info", "Node.js version", () => 1, { version: process.version, major: major!, minor: minor!, patch: patch! })
  yield* liveGauge("build_info", "The heartbeat-mesh release", () => 1, { version })
})
