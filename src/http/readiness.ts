import type { IngressStatus } from "../ingress/supervisedSocket.ts"
import type { StatePersistenceCounters } from "../store/StatePersistence.ts"

/** Saving state may fail this long (a locked or full disk) before the receiver stops saying it is ready. */
export const stateFailureGraceMs = 10_000

export interface ReadinessInputs {
  readonly ingress: IngressStatus
  readonly state: Pick<StatePersistenceCounters, "failingSinceMs" | "lastFailure">
  /** Channels whose current attempt has run past its own timeout (the notifier is stuck). */
  readonly stuckNotifiers: ReadonlyArray<{ readonly channel: string; readonly sinceMs: number; readonly timeoutMs: number }>
}

const seconds = (ms: number) => `${Math.floor(ms / 1000)} s`

/**
 * Why the receiver is not ready, one sentence each (issue 13.4); empty when it is. Pure: `nowMs`
 * and every time in `inputs` are on the receiver's timeline.
 */
export const readinessProblems = (inputs: ReadinessInputs, nowMs: number): ReadonlyArray<string> => {
  const problems: Array<string> = []
  if (!inputs.ingress.up) {
    problems.push(`${inputs.ingress.reason ?? "heartbeat socket loop down"} (down for ${seconds(nowMs - inputs.ingress.sinceMs)})`)
  }
  const failingSinceMs = inputs.state.failingSinceMs
  if (failingSinceMs !== undefined && nowMs - failingSinceMs > stateFailureGraceMs) {
    problems.push(`state could not be saved for ${seconds(nowMs - failingSinceMs)}: ${inputs.state.lastFailure ?? "unknown reason"}`)
  }
  for (const stuck of inputs.stuckNotifiers) {
    problems.push(
      `notifier ${stuck.channel} stuck for ${seconds(nowMs - stuck.sinceMs)}, past its timeout of ${seconds(stuck.timeoutMs)}`
    )
  }
  return problems
}
