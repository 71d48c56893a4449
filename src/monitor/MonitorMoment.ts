import type { ReceiverIdentity } from "../domain/Notification.ts"
import type { MonitorTiming } from "../config/timing.ts"

/** Everything a rule needs to know about "now" and the receiver around a resource. */
export interface MonitorMoment {
  readonly nowMs: number
  readonly timing: MonitorTiming
  /** Start time + grace period. */
  readonly graceEndsMs: number
  /** Newest heartbeat the receiver accepted from anyone: the receiver's own network health. */
  readonly lastHeartbeatAnywhereMs: number | undefined
  readonly receiver: ReceiverIdentity
}

export const inGrace = (moment: MonitorMoment): boolean => moment.nowMs < moment.graceEndsMs

/**
 * Active: some resource sent a heartbeat younger than check interval + jitter. A receiver that hears
 * nobody is probably cut off itself, so it must not blame every host (storm suppression).
 */
export const receiverIsActive = (moment: MonitorMoment): boolean =>
  moment.lastHeartbeatAnywhereMs !== undefined &&
  moment.nowMs - moment.lastHeartbeatAnywhereMs < moment.timing.checkIntervalMs + moment.timing.jitterMs
