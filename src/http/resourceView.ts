import type { MonitorMoment } from "../monitor/MonitorMoment.ts"
import type { ResourceProfile } from "../monitor/ResourceProfile.ts"
import { deadlineOf, type ResourceState, timeoutMsOf } from "../monitor/resourceRules.ts"
import { type ResourceStatus, statusOf } from "../monitor/resourceStatus.ts"

/** One resource as the API and the dashboard show it. */
export interface ResourceView {
  readonly client: string
  readonly resource: string
  readonly status: ResourceStatus
  readonly configured: boolean
  readonly severity: string
  readonly service: string
  readonly environment: string | null
  readonly location: string | null
  readonly firstSeen: string | null
  readonly lastSeen: string | null
  /** When it turns (or turned) stale: last heartbeat + timeout + jitter. */
  readonly deadline: string | null
  /** Null only for a value out of any range (a state an older release stored). */
  readonly timeoutSeconds: number | null
}

/** Beyond this a Date cannot exist (toISOString would throw). */
const maxDateMs = 8.64e15

/**
 * ISO 8601 of a wall-clock time, or null when unknown or not a time: whatever a state holds, an
 * answer never fails because of it (issue 13.2).
 */
export const isoOrNull = (ms: number | undefined): string | null =>
  ms === undefined || !Number.isFinite(ms) || Math.abs(ms) > maxDateMs ? null : new Date(ms).toISOString()

/** A number JSON can carry, or null. */
const finiteOrNull = (value: number): number | null => (Number.isFinite(value) ? value : null)

/**
 * The view of a resource at `moment` (on the receiver's timeline). Times are shown as wall-clock
 * times: `wallOffsetMs` is how far the wall clock is ahead of the timeline (`wallOffsetMillis`).
 */
export const viewOf = (profile: ResourceProfile, state: ResourceState, moment: MonitorMoment, wallOffsetMs: number): ResourceView => ({
  client: profile.client,
  resource: profile.resource,
  status: statusOf(state, profile, moment),
  configured: profile.configured,
  severity: profile.severity,
  service: profile.service,
  environment: profile.environment ?? null,
  location: profile.location ?? null,
  firstSeen: isoOrNull(wall(state.firstSeenMs, wallOffsetMs)),
  lastSeen: isoOrNull(wall(state.lastSeenMs, wallOffsetMs)),
  deadline: isoOrNull(wall(deadlineOf(state, profile, moment), wallOffsetMs)),
  timeoutSeconds: finiteOrNull(timeoutMsOf(state, profile) / 1000)
})

const wall = (timelineMs: number | undefined, wallOffsetMs: number) =>
  timelineMs === undefined ? undefined : timelineMs + wallOffsetMs
