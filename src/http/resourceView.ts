import type { ResourceActor } from "../actors/ResourceActor.ts"
import type { MonitorMoment } from "../monitor/MonitorMoment.ts"
import { deadlineOf, isStale, timeoutMsOf } from "../monitor/resourceRules.ts"

export const resourceStatuses = ["alive", "stale", "not_registered", "paused"] as const
export type ResourceStatus = (typeof resourceStatuses)[number]

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

export const statusOf = (actor: ResourceActor, moment: MonitorMoment): ResourceStatus =>
  actor.state.paused
    ? "paused"
    : actor.state.lastSeenMs === undefined
    ? "not_registered"
    : isStale(actor.state, actor.profile, moment)
    ? "stale"
    : "alive"

export const viewOf = (actor: ResourceActor, moment: MonitorMoment): ResourceView => ({
  client: actor.profile.client,
  resource: actor.profile.resource,
  status: statusOf(actor, moment),
  configured: actor.profile.configured,
  severity: actor.profile.severity,
  service: actor.profile.service,
  environment: actor.profile.environment ?? null,
  location: actor.profile.location ?? null,
  firstSeen: iso(actor.state.firstSeenMs),
  lastSeen: iso(actor.state.lastSeenMs),
  deadline: iso(deadlineOf(actor.state, actor.profile, moment)),
  timeoutSeconds: timeoutMsOf(actor.state, actor.profile) / 1000
})
