import type { HeartbeatFacts } from "../domain/Heartbeat.ts"
import { Events, type Notification } from "../domain/Notification.ts"
import { minuteMs } from "../config/timing.ts"
import { inGrace, type MonitorMoment } from "./MonitorMoment.ts"
import { resourceNotification } from "./notifications.ts"
import { asRepeat } from "./repeats.ts"
import type { ResourceProfile } from "./ResourceProfile.ts"
import { okNotification, receiveHeartbeat, type ResourceState, type Transition, wake, type Wakeup, who } from "./resourceRules.ts"

/**
 * Runs and their outcomes (issue 19: HTTP pings `/start`, `/fail`, exit codes, `max_runtime`), as
 * pure rules over the resource's state, whose `runStartedMs` (a start was signalled, no outcome
 * yet) and `failing` (the last outcome was a failure or an overdue run, so the next success must
 * say ok) are theirs. Any heartbeat is a success: the
 * plain ZeroMQ wire ends a run and clears a failure like an HTTP ping does.
 */
export type RunSignal =
  /** A heartbeat, `/ping/<resource>` or exit code 0. */
  | { readonly kind: "success"; readonly heartbeat: HeartbeatFacts }
  /** `/ping/<resource>/fail` or a non-zero exit code. */
  | { readonly kind: "fail"; readonly heartbeat: HeartbeatFacts; readonly exitCode: number | undefined }
  /** `/ping/<resource>/start`. */
  | { readonly kind: "start" }

const withRun = (heartbeat: HeartbeatFacts, state: ResourceState, moment: MonitorMoment): HeartbeatFacts =>
  state.runStartedMs === undefined
    ? heartbeat
    : { ...heartbeat, payload: { ...heartbeat.payload, duration_seconds: Math.max(0, moment.nowMs - state.runStartedMs) / 1000 } }

/** When a started run is overdue: its start + `max_runtime`; undefined without a run or a limit. */
export const runDeadlineOf = (state: ResourceState, profile: ResourceProfile): number | undefined =>
  state.runStartedMs === undefined || profile.maxRuntimeMinutes === undefined
    ? undefined
    : state.runStartedMs + profile.maxRuntimeMinutes * minuteMs

const failNotification = (profile: ResourceProfile, moment: MonitorMoment, exitCode: number | undefined) =>
  resourceNotification(Events.fail, profile, moment.receiver, {
    severity: profile.severity,
    value: exitCode === undefined ? "fail" : exitCode,
    text: exitCode === undefined
      ? `Run of ${who(profile)} reported failure`
      : `Run of ${who(profile)} failed with exit code ${exitCode}`
  })

/**
 * A signal about a run. Success and failure are heartbeats (the resource is alive: `new` and
 * `comeback` as usual); a success after a start records the run's length in
 * `payload.duration_seconds`. A failure raises `heartbeat_mesh_heartbeat_fail` at once (the
 * resource's severity; during the grace period too: it is news, not a consequence of downtime),
 * and the next success sends `heartbeat_mesh_heartbeat_ok`. A start only notes the time.
 */
export const receiveRunSignal = (state: ResourceState, profile: ResourceProfile, signal: RunSignal, moment: MonitorMoment): Transition => {
  if (signal.kind === "start") return { state: { ...state, runStartedMs: moment.nowMs }, notifications: [] }
  const received = receiveHeartbeat(state, profile, withRun(signal.heartbeat, state, moment), moment)
  if (signal.kind === "fail") {
    const failed: ResourceState = { ...received.state, failing: true }
    // A comeback that reports a failure is not ok.
    const told = received.notifications.filter((notification) => notification.event !== Events.ok)
    // A failure while already failing repeats the state (channels may coalesce it); the first is a change.
    const fail = failNotification(profile, moment, signal.exitCode)
    return { state: failed, notifications: [...told, state.failing === true ? asRepeat(fail) : fail] }
  }
  const recovered = state.failing === true && !received.notifications.some((notification) => notification.event === Events.ok)
  if (!recovered) return received
  const notifications: Array<Notification> = [...received.notifications]
  if (!inGrace(moment)) notifications.push(okNotification(received.state, profile, moment, 0))
  return { state: received.state, notifications }
}

/**
 * The resource's timer, with runs: a started run past its `max_runtime` raises a timeout once
 * (value: the run's age in seconds, `attributes.timeout`: `max_runtime` in seconds), ends the run
 * and marks the resource failing until a success. Otherwise the plain `wake` rule, waking no later
 * than the run's deadline.
 */
export const wakeWithRuns = (state: ResourceState, profile: ResourceProfile, moment: MonitorMoment): Wakeup => {
  const runDeadline = runDeadlineOf(state, profile)
  if (runDeadline !== undefined && moment.nowMs >= runDeadline) {
    const overdue: ResourceState = { ...state, runStartedMs: undefined, failing: true }
    const after = wake(overdue, profile, moment)
    const runSeconds = Math.floor((moment.nowMs - state.runStartedMs!) / 1000)
    const limitSeconds = profile.maxRuntimeMinutes! * 60
    return {
      ...after,
      notifications: [
        resourceNotification(Events.timeout, profile, moment.receiver, {
          severity: profile.severity,
          value: runSeconds,
          text: `Run of ${who(profile)} started ${runSeconds} s ago has not finished: max_runtime ${limitSeconds} s`,
          timeoutSeconds: limitSeconds
        }),
        ...after.notifications
      ]
    }
  }
  const after = wake(state, profile, moment)
  if (runDeadline === undefined) return after
  return { ...after, nextWakeMs: after.nextWakeMs === undefined ? runDeadline : Math.min(after.nextWakeMs, runDeadline) }
}
