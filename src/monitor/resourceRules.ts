import type { HeartbeatFacts } from "../domain/Heartbeat.ts"
import { Events, type Notification } from "../domain/Notification.ts"
import { inGrace, type MonitorMoment, receiverIsActive } from "./MonitorMoment.ts"
import { resourceNotification } from "./notifications.ts"
import { asRepeat } from "./repeats.ts"
import type { ResourceProfile } from "./ResourceProfile.ts"
import { dayMs, minuteMs } from "../config/timing.ts"

/** What the receiver knows of one resource. Immutable: every rule returns a new one. */
export interface ResourceState {
  readonly firstSeenMs: number | undefined
  readonly lastSeenMs: number | undefined
  /** The `timeout` (minutes) of the last heartbeat, which overrides the client's. */
  readonly timeoutOverrideMinutes: number | undefined
  readonly payload: Readonly<Record<string, unknown>> | undefined
  /** Set while stale: when the next timeout notification is due. */
  readonly nextTimeoutAlertMs: number | undefined
  /** Paused by an operator: no timeout and no not_registered until resumed. */
  readonly paused: boolean
  /** A timeout was sent since the resource went stale: the next ones are repeats. */
  readonly timeoutSent: boolean
  /** A run was started (HTTP `/start`) and has not reported an outcome (runRules.ts). */
  readonly runStartedMs?: number | undefined
  /** The last run failed or overran: the next success says ok (runRules.ts). */
  readonly failing?: boolean | undefined
}

export const neverHeard: ResourceState = {
  firstSeenMs: undefined,
  lastSeenMs: undefined,
  timeoutOverrideMinutes: undefined,
  payload: undefined,
  nextTimeoutAlertMs: undefined,
  paused: false,
  timeoutSent: false
}

export interface Transition {
  readonly state: ResourceState
  readonly notifications: ReadonlyArray<Notification>
}

export interface Wakeup extends Transition {
  /** When the resource next needs attention; undefined while it has never sent (nothing to time). */
  readonly nextWakeMs: number | undefined
}

const none: ReadonlyArray<Notification> = []

export const timeoutMsOf = (state: ResourceState, profile: ResourceProfile): number =>
  minuteMs * (state.timeoutOverrideMinutes ?? profile.clientTimeoutMinutes)

/** The instant the resource turns stale: last heartbeat + timeout + jitter. */
export const deadlineOf = (state: ResourceState, profile: ResourceProfile, moment: MonitorMoment) =>
  state.lastSeenMs === undefined
    ? undefined
    : state.lastSeenMs + timeoutMsOf(state, profile) + moment.timing.jitterMs

/** Stale from the deadline on: the timeout fires at exactly timeout + jitter. */
export const isStale = (state: ResourceState, profile: ResourceProfile, moment: MonitorMoment): boolean => {
  const deadline = deadlineOf(state, profile, moment)
  return deadline !== undefined && moment.nowMs >= deadline
}

const ageSeconds = (state: ResourceState, moment: MonitorMoment) =>
  state.lastSeenMs === undefined ? 0 : Math.floor((moment.nowMs - state.lastSeenMs) / 1000)

const daysKnown = (state: ResourceState, moment: MonitorMoment) =>
  state.firstSeenMs === undefined ? 0 : Math.floor((moment.nowMs - state.firstSeenMs) / dayMs)

export const who = (profile: ResourceProfile) => `${profile.resource} (client ${profile.client})`

export const okNotification = (state: ResourceState, profile: ResourceProfile, moment: MonitorMoment, age: number) =>
  resourceNotification(Events.ok, profile, moment.receiver, {
    severity: "ok",
    value: age,
    text: `Heartbeat from ${who(profile)} is ok: last one ${age} s ago`,
    timeoutSeconds: timeoutMsOf(state, profile) / 1000
  })

/**
 * A heartbeat arrived. The first one ever is `new`; one after the deadline is a `comeback`
 * followed by `ok` with value 0. Both stay silent during the grace period.
 */
export const receiveHeartbeat = (
  state: ResourceState,
  profile: ResourceProfile,
  heartbeat: HeartbeatFacts,
  moment: MonitorMoment
): Transition => {
  const next: ResourceState = {
    firstSeenMs: state.firstSeenMs ?? moment.nowMs,
    lastSeenMs: moment.nowMs,
    timeoutOverrideMinutes: heartbeat.timeoutMinutes,
    payload: heartbeat.payload,
    nextTimeoutAlertMs: undefined,
    paused: state.paused,
    timeoutSent: false
  }
  if (inGrace(moment)) return { state: next, notifications: none }
  if (state.lastSeenMs === undefined) {
    return {
      state: next,
      notifications: [
        resourceNotification(Events.new, profile, moment.receiver, {
          severity: "informational",
          value: "registered",
          text: `New resource ${who(profile)} sent its first heartbeat`
        })
      ]
    }
  }
  if (isStale(state, profile, moment)) {
    const silence = ageSeconds(state, moment)
    return {
      state: next,
      notifications: [
        resourceNotification(Events.comeback, profile, moment.receiver, {
          severity: "informational",
          value: "comeback",
          text: `Heartbeat from ${who(profile)} came back after ${silence} s of silence`,
          timeoutSeconds: timeoutMsOf(next, profile) / 1000
        }),
        okNotification(next, profile, moment, 0)
      ]
    }
  }
  return { state: next, notifications: none }
}

/**
 * The resource's own timer fired. Before the deadline nothing happens; from the deadline on a
 * timeout is due every check interval, sent only outside the grace period and while the receiver
 * itself is active (storm suppression).
 */
export const wake = (state: ResourceState, profile: ResourceProfile, moment: MonitorMoment): Wakeup => {
  // A removed client's resource is only kept: nothing to time, nothing to tell.
  if (profile.clientRemovedAtMs !== undefined) {
    const quiet = state.nextTimeoutAlertMs === undefined ? state : { ...state, nextTimeoutAlertMs: undefined }
    return { state: quiet, notifications: none, nextWakeMs: undefined }
  }
  const deadline = deadlineOf(state, profile, moment)
  if (deadline === undefined) return { state, notifications: none, nextWakeMs: undefined }
  if (moment.nowMs < deadline) {
    const fresh = state.nextTimeoutAlertMs === undefined ? state : { ...state, nextTimeoutAlertMs: undefined }
    return { state: fresh, notifications: none, nextWakeMs: deadline }
  }
  const due = state.nextTimeoutAlertMs ?? deadline
  if (moment.nowMs < due) return { state, notifications: none, nextWakeMs: due }
  if (inGrace(moment)) {
    const afterGrace = { ...state, nextTimeoutAlertMs: moment.graceEndsMs }
    return { state: afterGrace, notifications: none, nextWakeMs: moment.graceEndsMs }
  }
  const nextDue = moment.nowMs + moment.timing.checkIntervalMs
  if (state.paused || !receiverIsActive(moment)) {
    return { state: { ...state, nextTimeoutAlertMs: nextDue }, notifications: none, nextWakeMs: nextDue }
  }
  const age = ageSeconds(state, moment)
  const timeoutSeconds = timeoutMsOf(state, profile) / 1000
  const timeout = resourceNotification(Events.timeout, profile, moment.receiver, {
    severity: profile.severity,
    value: age,
    text: `Heartbeat from ${who(profile)} timed out: last one ${age} s ago, timeout ${timeoutSeconds} s`,
    timeoutSeconds
  })
  return {
    // The first timeout sent in a stale spell is the state change; the ones after it repeat it.
    state: { ...state, nextTimeoutAlertMs: nextDue, timeoutSent: true },
    notifications: [state.timeoutSent ? asRepeat(timeout) : timeout],
    nextWakeMs: nextDue
  }
}

/**
 * The periodic re-assertion (every rare check interval): ok for every resource that is not stale,
 * registered / not_registered for configured ones (no not_registered while paused),
 * config_exist / config_missing for known ones.
 *
 * ok, registered and config_exist are repeats. not_registered is always a state change (an alert
 * about a configured resource); config_missing is one at the first rare check after the resource
 * turned 24 h old and a repeat after that.
 */
export const rareCheck = (
  state: ResourceState,
  profile: ResourceProfile,
  moment: MonitorMoment
): ReadonlyArray<Notification> => {
  if (profile.clientRemovedAtMs !== undefined) return none
  const notifications: Array<Notification> = []
  const known = state.lastSeenMs !== undefined
  if (known && !isStale(state, profile, moment)) {
    notifications.push(asRepeat(okNotification(state, profile, moment, ageSeconds(state, moment))))
  }
  if (profile.configured && (known || !state.paused)) {
    notifications.push(
      known
        ? asRepeat(resourceNotification(Events.registered, profile, moment.receiver, {
          severity: "ok",
          value: "registered",
          text: `Configured resource ${who(profile)} sends heartbeats`
        }))
        : resourceNotification(Events.notRegistered, profile, moment.receiver, {
          severity: profile.severity,
          value: "not registered",
          text: `Configured resource ${who(profile)} has sent no heartbeat`
        })
    )
  }
  if (known) {
    const days = daysKnown(state, moment)
    if (profile.configured) {
      notifications.push(asRepeat(resourceNotification(Events.configExist, profile, moment.receiver, {
        severity: "ok",
        value: days,
        text: `Resource ${who(profile)} is listed in the configuration; first heartbeat ${days} days ago`
      })))
    } else if (state.firstSeenMs !== undefined && moment.nowMs - state.firstSeenMs > dayMs) {
      const missing = resourceNotification(Events.configMissing, profile, moment.receiver, {
        severity: "warning",
        value: days,
        text: `Resource ${who(profile)} has sent heartbeats for ${days} days but is not listed in the configuration`
      })
      const firstTime = moment.nowMs - state.firstSeenMs - dayMs <= moment.timing.rareCheckIntervalMs
      notifications.push(firstTime ? missing : asRepeat(missing))
    }
  }
  return notifications
}

/** A removed client's resource whose retention (`removed_client_retention`) is over: forget it. */
export const retentionIsOver = (profile: ResourceProfile, moment: MonitorMoment): boolean =>
  profile.clientRemovedAtMs !== undefined && moment.nowMs - profile.clientRemovedAtMs >= moment.timing.removedClientRetentionMs

/** An operator pauses or resumes alerting for the resource. */
export const setPaused = (state: ResourceState, paused: boolean): ResourceState =>
  state.paused === paused ? state : { ...state, paused }

/** A valid deregistration: the resource is forgotten; a configured one goes back to never heard. */
export const deregister = (profile: ResourceProfile, moment: MonitorMoment): Transition => ({
  state: neverHeard,
  notifications: [
    resourceNotification(Events.deregistered, profile, moment.receiver, {
      severity: "informational",
      value: "deregistered",
      text: `Resource ${who(profile)} was deregistered`
    })
  ]
})
