/**
 * Pure readers of the Linux files the plugins use (`/proc/stat`, `/proc/loadavg`, `/proc/meminfo`,
 * `/proc/net/dev`, `/proc/self/mounts`, `/etc/os-release`). Text in, numbers out; tests feed them
 * fixture files.
 */

export interface CpuTimes {
  /** All jiffies (user .. steal; guest time is already inside user). */
  readonly total: number
  /** idle + iowait. */
  readonly idle: number
  readonly iowait: number
}

export interface ProcStat {
  readonly cpu: CpuTimes | undefined
  readonly cores: number
  /** Boot time, seconds since the epoch. */
  readonly bootTime: number | undefined
}

export const parseProcStat = (text: string): ProcStat => {
  let cpu: CpuTimes | undefined
  let cores = 0
  let bootTime: number | undefined
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/)
    const name = fields[0]
    if (name === "cpu") {
      const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.slice(1, 9).map((f) => Number(f) || 0)
      cpu = {
        total: user! + nice! + system! + idle! + iowait! + irq! + softirq! + steal!,
        idle: idle! + iowait!,
        iowait: iowait!
      }
    } else if (name !== undefined && /^cpu\d+$/.test(name)) {
      cores++
    } else if (name === "btime") {
      const value = Number(fields[1])
      if (Number.isFinite(value)) bootTime = value
    }
  }
  return { cpu, cores, bootTime }
}

export const parseLoadAverage = (text: string): [number, number, number] | undefined => {
  const [one, five, fifteen] = text.trim().split(/\s+/).map(Number)
  return [one, five, fifteen].every((value) => Number.isFinite(value)) ? [one!, five!, fifteen!] : undefined
}

/** /proc/meminfo in kB, by field name. */
export const parseMeminfo = (text: string): Map<string, number> => {
  const fields = new Map<string, number>()
  for (const line of text.split("\n")) {
    const match = /^([A-Za-z0-9_()]+):\s+(\d+)/.exec(line)
    if (match !== null) fields.set(match[1]!, Number(match[2]))
  }
  return fields
}

export interface InterfaceCounters {
  readonly rxBytes: number
  readonly txBytes: number
  readonly rxErrors: number
  readonly txErrors: number
  readonly rxDropped: number
  readonly txDropped: number
}

export const parseNetDev = (text: string): Map<string, InterfaceCounters> => {
  const interfaces = new Map<string, InterfaceCounters>()
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":")
    if (colon < 0 || line.includes("|")) continue
    const name = line.slice(0, colon).trim()
    const values = line.slice(colon + 1).trim().split(/\s+/).map(Number)
    if (name === "" || values.length < 12 || values.some((value) => !Number.isFinite(value))) continue
    interfaces.set(name, {
      rxBytes: values[0]!,
      rxErrors: values[2]!,
      rxDropped: values[3]!,
      txBytes: values[8]!,
      txErrors: values[10]!,
      txDropped: values[11]!
    })
  }
  return interfaces
}

export interface Mount {
  readonly device: string
  readonly mountPoint: string
  readonly type: string
  readonly readOnly: boolean
}

/** `\040` and friends in /proc/self/mounts are octal escapes (a space in a mount point). */
const unescapeMountField = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))

export const parseMounts = (text: string): Array<Mount> =>
  text.split("\n").flatMap((line) => {
    const [device, mountPoint, type, options] = line.trim().split(/\s+/)
    if (device === undefined || mountPoint === undefined || type === undefined) return []
    return [{
      device: unescapeMountField(device),
      mountPoint: unescapeMountField(mountPoint),
      type,
      readOnly: (options ?? "").split(",").includes("ro")
    }]
  })

/** Kernel and memory file systems: no disk behind them, nothing to fill up. */
const virtualTypes = new Set([
  "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs", "efivarfs",
  "fusectl", "hugetlbfs", "mqueue", "nsfs", "proc", "pstore", "ramfs", "rpc_pipefs", "securityfs", "selinuxfs",
  "squashfs", "sysfs", "tmpfs", "tracefs", "fuse.gvfsd-fuse", "fuse.portal", "fuse.lxcfs", "iso9660", "nfsd"
])

/** At most this many mounts are reported (a container host can have thousands). */
export const maxMounts = 100

/**
 * Mounts backed by storage: no kernel or memory file systems, and no container layers (an overlay
 * anywhere but `/`, where it is a container's own root). Each mount point once (the last mount wins,
 * as it hides the ones below it), sorted, at most `maxMounts`.
 */
export const storageMounts = (mounts: ReadonlyArray<Mount>): Array<Mount> => {
  const byPoint = new Map<string, Mount>()
  for (const mount of mounts) {
    if (virtualTypes.has(mount.type) || (mount.type === "overlay" && mount.mountPoint !== "/")) continue
    byPoint.set(mount.mountPoint, mount)
  }
  return [...byPoint.values()].sort((a, b) => a.mountPoint.localeCompare(b.mountPoint)).slice(0, maxMounts)
}

/**
 * The mounts whose space is worth watching: storage mounts, each file system once (bind mounts of
 * one device keep the shortest mount point).
 */
export const diskMounts = (mounts: ReadonlyArray<Mount>): Array<Mount> => {
  const byDevice = new Map<string, Mount>()
  for (const mount of storageMounts(mounts)) {
    const key = mount.device.startsWith("/dev/") ? mount.device : `${mount.device} ${mount.mountPoint}`
    const seen = byDevice.get(key)
    if (seen === undefined || mount.mountPoint.length < seen.mountPoint.length) byDevice.set(key, mount)
  }
  return [...byDevice.values()].sort((a, b) => a.mountPoint.localeCompare(b.mountPoint))
}

/** KEY=value lines, values optionally quoted. */
export const parseOsRelease = (text: string): Map<string, string> => {
  const fields = new Map<string, string>()
  for (const line of text.split("\n")) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim())
    if (match === null) continue
    let value = match[2]!
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1).replace(/\\(["'$`\\])/g, "$1")
    fields.set(match[1]!, value)
  }
  return fields
}
