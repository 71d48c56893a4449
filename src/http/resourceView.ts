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
  readonly timeoutSeconds: number
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString())

export const viewOf = (profile: ResourceProfile, state: ResourceState, moment: MonitorMoment): ResourceView => ({
  client: profile.client,
  resource: profile.resource,
  status: statusOf(state, profile, moment),
  configured: profile.configured,
  severity: profile.severity,
  service: profile.service,
  environment: profile.environment ?? null,
  location: profile.location ?? null,
  firstSeen: iso(state.firstSeenMs),
  lastSeen: iso(state.lastSeenMs),
  deadline: iso(deadlineOf(state, profile, moment)),
  timeoutSeconds: timeoutMsOf(state, profile) / 1000
})
