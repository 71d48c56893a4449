/**
 * What a resource's history keeps (issue 18): the changes of its status, each with the time it
 * took effect, derived from one change of its state. Pure: `(cause, before, after, profile, moment)
 * -> entries`; the effectful shell (`src/history/`) turns the times into wall-clock times and
 * writes them behind.
 *
 * The status is `statusOf`'s vocabulary: alive, stale, paused, not_registered. A resource turns
 * stale at its deadline (last heartbeat + timeout + jitter), which is when its actor's timer wakes
 * it; the entry carries the deadline, not the moment the timer ran. Its first wake past the deadline
 * is the one where `nextTimeoutAlertMs` becomes set (every branch of `wake` past the deadline sets
 * it, a heartbeat clears it), so a stale spell is recorded once however many timeouts repeat. A
 * heartbeat that finds the resource stale before any wake saw it (the timer ran late, a restore)
 * records the stale spell first, then the comeback.
 */
import type { ChangeCause } from "./changeCause.ts"
import type { ResourceProfile } from "./ResourceProfile.ts"
import type { MonitorMoment } from "./MonitorMoment.ts"
import { deadlineOf, type ResourceState } from "./resourceRules.ts"
import { type ResourceStatus, statusOf } from "./resourceStatus.ts"

/** What happened, as the history names it. */
export const historyKinds = [
  /** The first heartbeat (ever, or since a deregistration), or its client back in the configuration. */
  "registered",
  /** A heartbeat after a stale spell. */
  "alive",
  /** The deadline passed without a heartbeat. */
  "stale",
  "paused",
  "resumed",
  /** By the sender or an operator. */
  "deregistered",
  /** The configuration no longer has the resource (not_registered), or its client (client_removed, kept for a while). */
  "removed",
  /** A check's level changed (issue 20): no status of its own. */
  "check",
  /** A dynamic DNS update of the resource's address: no status of its own. */
  "dyndns",
  /** An operator silenced it, or its whole client (detail: by, until, reason): no status of its own. */
  "silenced",
  /** Its silence was lifted (detail: by) or ended by itself (ended: expired). */
  "unsilenced"
] as const
export type HistoryKind = (typeof historyKinds)[number]

/** The cause of a change (the change stream's own type, defined at this floor so the rule can name it). */
export type HistoryCause = ChangeCause

export interface HistoryEntry {
  /** When it took effect, on the receiver's timeline. */
  readonly atMs: number
  readonly kind: HistoryKind
  /** The resource's status from then on; undefined for entries that do not change it (check, dyndns). */
  readonly status: ResourceStatus | undefined
}

const nothing: ReadonlyArray<HistoryEntry> = []

/** Whether the resource is past its deadline (stale, unless paused) at `nowMs`. */
const pastDeadline = (state: ResourceState, profile: ResourceProfile, moment: MonitorMoment) => {
  const deadline = deadlineOf(state, profile, moment)
  return deadline !== undefined && moment.nowMs >= deadline
}

/**
 * The history entries of one change of a resource. `before` undefined: the resource came into
 * being with this change; `after` undefined: it ended. A routine heartbeat (known, not paused, not
 * past its deadline) returns at its first test: the heartbeat path pays a few comparisons.
 */
export const historyOf = (
  cause: HistoryCause,
  before: ResourceState | undefined,
  after: ResourceState | undefined,
  profile: ResourceProfile,
  moment: MonitorMoment,
  /** Whether the history last recorded the resource's client as removed (the shell remembers it). */
  clientWasRemoved = false
): ReadonlyArray<HistoryEntry> => {
  switch (cause) {
    case "heartbeat": {
      if (after === undefined) return nothing
      if (before !== undefined && before.lastSeenMs !== undefined && !before.paused && !pastDeadline(before, profile, moment)) {
        return nothing
      }
      if (before === undefined || before.lastSeenMs === undefined) {
        return [{ atMs: moment.nowMs, kind: "registered", status: statusOf(after, profile, moment) }]
      }
      // Paused all along: the status stays paused.
      if (before.paused) return nothing
      const comeback: HistoryEntry = { atMs: moment.nowMs, kind: "alive", status: statusOf(after, profile, moment) }
      return before.nextTimeoutAlertMs === undefined
        ? [{ atMs: deadlineOf(before, profile, moment)!, kind: "stale", status: "stale" }, comeback]
        : [comeback]
    }
    case "wake": {
      if (before === undefined || after === undefined || after.paused) return nothing
      if (before.nextTimeoutAlertMs !== undefined || after.nextTimeoutAlertMs === undefined) return nothing
      if (!pastDeadline(after, profile, moment)) return nothing
      return [{ atMs: deadlineOf(after, profile, moment)!, kind: "stale", status: "stale" }]
    }
    case "pause":
      return after !== undefined && after.paused && before?.paused !== true
        ? [{ atMs: moment.nowMs, kind: "paused", status: "paused" }]
        : nothing
    case "resume":
      return after !== undefined && !after.paused && before?.paused === true
        ? [{ atMs: moment.nowMs, kind: "resumed", status: statusOf(after, profile, moment) }]
        : nothing
    case "deregister":
      // A name the receiver never knew (both undefined) has no history to continue.
      return before === undefined && after === undefined
        ? nothing
        : [{ atMs: moment.nowMs, kind: "deregistered", status: "not_registered" }]
    case "configure":
      if (before !== undefined && after === undefined) return [{ atMs: moment.nowMs, kind: "removed", status: "not_registered" }]
      if (after === undefined) return nothing
      // Its client removed from the configuration (kept for removed_client_retention, no alerts),
      // from the moment of the reload; its client back: registered again, with its status.
      if (profile.clientRemovedAtMs !== undefined) {
        return clientWasRemoved ? nothing : [{ atMs: profile.clientRemovedAtMs, kind: "removed", status: "client_removed" }]
      }
      return clientWasRemoved ? [{ atMs: moment.nowMs, kind: "registered", status: statusOf(after, profile, moment) }] : nothing
    case "start":
    case "rare_check":
    case "restore":
      return nothing
  }
}
