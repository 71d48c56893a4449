/**
 * Uptime of a resource over a window, computed from its recorded status changes (issue 18), never
 * from sampling. Pure and table-tested.
 *
 * Each status change holds from its time until the next one. Over the window:
 * - up: time alive; down: time stale (past its deadline: last heartbeat + timeout + jitter);
 * - paused: time paused by an operator; unmonitored: time not registered (never heard, deregistered,
 *   removed), its client removed from the configuration, or before the first recorded change.
 * Paused and unmonitored time are reported on their own and left out of the percentage:
 * `percent = up / (up + down) * 100`, null when the window holds neither.
 */
import type { ResourceStatus } from "./resourceStatus.ts"

/** One recorded status change: from `atMs` on, the resource had `status`. */
export interface StatusPoint {
  readonly atMs: number
  readonly status: ResourceStatus
}

export interface Uptime {
  readonly fromMs: number
  readonly toMs: number
  readonly upMs: number
  readonly downMs: number
  readonly pausedMs: number
  readonly unmonitoredMs: number
  /** Up time over up + down time, in percent; null when the window has no up or down time. */
  readonly percent: number | null
}

/** The windows the API reports. */
export const uptimeWindows = [
  { name: "24h", ms: 24 * 3600_000 },
  { name: "7d", ms: 7 * 24 * 3600_000 },
  { name: "30d", ms: 30 * 24 * 3600_000 }
] as const

/**
 * Uptime over `[fromMs, toMs)` from `points`, in any order (sorted here by time; among equal times
 * the later in the array wins). Points before the window set the status it starts with; points
 * after it are ignored.
 */
export const uptimeOf = (points: ReadonlyArray<StatusPoint>, fromMs: number, toMs: number): Uptime => {
  const sorted = points.map((point, index) => ({ point, index })).sort((a, b) => a.point.atMs - b.point.atMs || a.index - b.index)
  const spent: Record<ResourceStatus | "none", number> = { alive: 0, stale: 0, paused: 0, not_registered: 0, client_removed: 0, none: 0 }
  let status: ResourceStatus | "none" = "none"
  let cursor = fromMs
  for (const { point } of sorted) {
    if (point.atMs >= toMs) break
    if (point.atMs > cursor) {
      spent[status] += point.atMs - cursor
      cursor = point.atMs
    }
    status = point.status
  }
  if (toMs > cursor) spent[status] += toMs - cursor
  const upMs = spent.alive
  const downMs = spent.stale
  return {
    fromMs,
    toMs,
    upMs,
    downMs,
    pausedMs: spent.paused,
    unmonitoredMs: spent.not_registered + spent.client_removed + spent.none,
    percent: upMs + downMs === 0 ? null : (upMs / (upMs + downMs)) * 100
  }
}
