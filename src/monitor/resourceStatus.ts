import type { MonitorMoment } from "./MonitorMoment.ts"
import type { ResourceProfile } from "./ResourceProfile.ts"
import { isStale, type ResourceState } from "./resourceRules.ts"

export const resourceStatuses = ["alive", "stale", "not_registered", "paused", "client_removed"] as const
export type ResourceStatus = (typeof resourceStatuses)[number]

/**
 * The one status of a resource, for the API, the dashboard, metrics and the state store: its
 * client removed from the configuration (kept, no alerts); paused by an operator; never heard
 * from; stale from its deadline (last heartbeat + timeout + jitter) on; else alive.
 */
export const statusOf = (state: ResourceState, profile: ResourceProfile, moment: MonitorMoment): ResourceStatus =>
  profile.clientRemovedAtMs !== undefined
    ? "client_removed"
    : state.paused
    ? "paused"
    : state.lastSeenMs === undefined
    ? "not_registered"
    : isStale(state, profile, moment)
    ? "stale"
    : "alive"
