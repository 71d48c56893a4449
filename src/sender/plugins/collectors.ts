/**
 * The measuring plugins: each reads the machine through a `SystemSource` and returns its metrics
 * (what goes into `payload.metrics.<plugin>`) and the counters the next run needs for rates.
 */
import type { PluginSettings } from "../../config/senderPlugins.ts"
import { diskMounts, storageMounts, parseLoadAverage, parseMeminfo, parseMounts, parseNetDev, parseOsRelease, parseProcStat } from "./procfs.ts"
import type { SystemSource } from "./source.ts"

export type Metrics = Record<string, unknown>

export interface Measured {
  readonly metrics: Metrics
  /** Kept in the state file for the next run (rates since the last run). */
  readonly counters?: unknown
}

export interface MeasureContext {
  readonly settings: PluginSettings
  readonly source: SystemSource
  /** The counters this plugin kept at its last run, if any (not validated: a plugin checks them). */
  readonly previous: unknown
  readonly nowMs: number
  readonly senderVersion: string
}

const round1 = (value: number) => Math.round(value * 10) / 10
const mib = (bytes: number) => Math.round(bytes / (1024 * 1024))
const percent = (part: number, whole: number) => (whole > 0 ? round1((part / whole) * 100) : 0)
const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value)
const numberAt = (record: unknown, key: string): number | undefined => {
  const value = isRecord(record) ? record[key] : undefined
  return typeof value === "number" && Number.isFinite(value) ? value : undefined
}

/**
 * cpu: busy percent since the last run (since boot on the first run, when there is nothing to
 * compare with), iowait percent, load averages and the number of cores.
 */
const cpu = async ({ source, previous }: MeasureContext): Promise<Measured> => {
  const [stat, loadavg] = await Promise.all([source.readText("/proc/stat"), source.readText("/proc/loadavg")])
  const { cores, cpu: times } = parseProcStat(stat)
  if (times === undefined) throw new Error("/proc/stat has no cpu line")
  const load = parseLoadAverage(loadavg)
  const before = { total: numberAt(previous, "total") ?? 0, idle: numberAt(previous, "idle") ?? 0, iowait: numberAt(previous, "iowait") ?? 0 }
  // A counter that went backwards (a reboot between runs) makes the whole life of the host the period.
  const since = times.total > before.total && times.idle >= before.idle ? before : { total: 0, idle: 0, iowait: 0 }
  const elapsed = times.total - since.total
  return {
    metrics: {
      percent: percent(elapsed - (times.idle - since.idle), elapsed),
      iowait_percent: percent(times.iowait - since.iowait, elapsed),
      ...(load === undefined ? {} : { load_1min: load[0], load_5min: load[1], load_15min: load[2] }),
      cores
    },
    counters: { total: times.total, idle: times.idle, iowait: times.iowait }
  }
}

/** memory: used percent (total less available), available and total MiB, swap. */
const memory = async ({ source }: MeasureContext): Promise<Measured> => {
  const info = parseMeminfo(await source.readText("/proc/meminfo"))
  const totalKb = info.get("MemTotal")
  if (totalKb === undefined) throw new Error("/proc/meminfo has no MemTotal")
  const availableKb = info.get("MemAvailable") ?? (info.get("MemFree") ?? 0) + (info.get("Buffers") ?? 0) + (info.get("Cached") ?? 0)
  const swapTotalKb = info.get("SwapTotal") ?? 0
  const swapUsedKb = swapTotalKb - (info.get("SwapFree") ?? swapTotalKb)
  return {
    metrics: {
      percent: percent(totalKb - availableKb, totalKb),
      available_mb: Math.round(availableKb / 1024),
      total_mb: Math.round(totalKb / 1024),
      swap_percent: percent(swapUsedKb, swapTotalKb),
      swap_used_mb: Math.round(swapUsedKb / 1024),
      swap_total_mb: Math.round(swapTotalKb / 1024)
    }
  }
}

/**
 * disk: per mount point, used percent as `df` counts it (of the space an ordinary user can have),
 * free MiB for ordinary users, total MiB and inodes used percent (absent on file systems without inodes).
 */
const disk = async ({ settings, source }: MeasureContext): Promise<Measured> => {
  const mounts = diskMounts(parseMounts(await source.readText("/proc/self/mounts")))
    .filter((mount) => settings.mounts === undefined || settings.mounts.includes(mount.mountPoint))
  const metrics: Metrics = {}
  await Promise.all(mounts.map(async (mount) => {
    try {
      const space = await source.statfs(mount.mountPoint)
      if (space.blocks === 0) return
      const used = space.blocks - space.bfree
      metrics[mount.mountPoint] = {
        percent: percent(used, used + space.bavail),
        free_mb: mib(space.bavail * space.bsize),
        total_mb: mib(space.blocks * space.bsize),
        ...(space.files > 0 ? { inodes_percent: percent(space.files - space.ffree, space.files) } : {})
      }
    } catch (error) {
      metrics[mount.mountPoint] = { error: (error as Error).message }
    }
  }))
  // Sorted by mount point, whatever order the statfs calls finished in.
  return { metrics: Object.fromEntries(Object.entries(metrics).sort(([a], [b]) => a.localeCompare(b))) }
}

/**
 * network: per interface (all but `lo` unless listed), bytes per second received and sent and
 * errors per second since the last run (absent on the first run), and the error and drop totals.
 */
const network = async ({ settings, source, previous, nowMs }: MeasureContext): Promise<Measured> => {
  const interfaces = parseNetDev(await source.readText("/proc/net/dev"))
  const before = isRecord(previous) && isRecord(previous["interfaces"]) ? previous["interfaces"] : {}
  const seconds = (nowMs - (numberAt(previous, "atMs") ?? Number.NaN)) / 1000
  const metrics: Metrics = {}
  const counters: Record<string, unknown> = {}
  for (const [name, now] of interfaces) {
    if (settings.interfaces === undefined ? name === "lo" : !settings.interfaces.includes(name)) continue
    counters[name] = { rx: now.rxBytes, tx: now.txBytes, errors: now.rxErrors + now.txErrors }
    const last = before[name]
    const rate = (current: number, key: string, precision = 1) => {
      const old = numberAt(last, key)
      // No previous run, a clock step, or counters reset (interface re-created): no rate this time.
      return old === undefined || !(seconds > 0) || current < old ? undefined : Math.round(((current - old) / seconds) * precision) / precision
    }
    const rx = rate(now.rxBytes, "rx")
    const tx = rate(now.txBytes, "tx")
    const errors = rate(now.rxErrors + now.txErrors, "errors", 100)
    metrics[name] = {
      ...(rx === undefined ? {} : { rx_bytes_per_s: rx }),
      ...(tx === undefined ? {} : { tx_bytes_per_s: tx }),
      ...(errors === undefined ? {} : { errors_per_s: errors }),
      rx_errors: now.rxErrors,
      tx_errors: now.txErrors,
      rx_dropped: now.rxDropped,
      tx_dropped: now.txDropped
    }
  }
  return { metrics, counters: { atMs: nowMs, interfaces: counters } }
}

/** filesystem (information): every storage mount with its type, device and read-only flag. */
const filesystem = async ({ source }: MeasureContext): Promise<Measured> => {
  const mounts = storageMounts(parseMounts(await source.readText("/proc/self/mounts")))
  return {
    metrics: {
      mounts: mounts.map((mount) => ({ mount: mount.mountPoint, type: mount.type, device: mount.device, read_only: mount.readOnly }))
    }
  }
}

const readOptional = (source: SystemSource, path: string) => source.readText(path).then((text) => text.trim(), () => undefined)

/** os (information): distribution, kernel, host name, architecture, sender version, boot time. */
const os = async ({ source, senderVersion }: MeasureContext): Promise<Measured> => {
  const [release, kernel, hostName, stat] = await Promise.all([
    source.readText("/etc/os-release").catch(() => source.readText("/usr/lib/os-release")).catch(() => ""),
    readOptional(source, "/proc/sys/kernel/osrelease"),
    readOptional(source, "/proc/sys/kernel/hostname"),
    source.readText("/proc/stat").catch(() => "")
  ])
  const fields = parseOsRelease(release)
  const bootTime = parseProcStat(stat).bootTime
  return {
    metrics: {
      distribution: fields.get("PRETTY_NAME") ?? fields.get("NAME") ?? "unknown",
      ...(fields.has("ID") ? { distribution_id: fields.get("ID") } : {}),
      ...(fields.has("VERSION_ID") ? { distribution_version: fields.get("VERSION_ID") } : {}),
      kernel: kernel ?? "unknown",
      hostname: hostName ?? "unknown",
      architecture: process.arch,
      sender_version: senderVersion,
      ...(bootTime === undefined ? {} : { boot_time: new Date(bootTime * 1000).toISOString() })
    }
  }
}

export const collectors = { cpu, memory, disk, network, filesystem, os } as const
