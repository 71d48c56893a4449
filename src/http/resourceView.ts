import type { ResourceActor } from "../actors/ResourceActor.ts"
import type { MonitorMoment } from "../monitor/MonitorMoment.ts"
import { deadlineOf, timeoutMsOf } from "../monitor/resourceRules.ts"
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

export const viewOf = (actor: ResourceActor, moment: MonitorMoment): ResourceView => ({
  client: actor.profile.client,
  resource: actor.profile.resource,
  status: statusOf(actor.state, actor.profile, moment),
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
