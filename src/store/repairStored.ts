import { dayMs } from "../config/timing.ts"
import { isUsableTimeout, maxTimeoutMinutes } from "../domain/Timeout.ts"
import type { StoredResource } from "./StateStore.ts"

/** The range of a JavaScript Date: a time outside it cannot be shown (toISOString throws). */
const maxDateMs = 8.64e15

/** A stored time this far ahead of the clock is not a clock difference but a broken value. */
export const maxFutureSkewMs = dayMs

export interface Repaired {
  readonly row: StoredResource
  /** What was wrong and what was done, one sentence each (empty: the row was fine). */
  readonly repairs: ReadonlyArray<string>
}

const isTime = (ms: number): boolean => Number.isFinite(ms) && Math.abs(ms) <= maxDateMs

/**
 * A stored row brought back into the ranges the receiver works with (issue 13.2): what an older
 * release, a bug or a hand edit left in state.db must not make a resource unshowable, never stale
 * or stale forever. Pure; `nowMs` is the wall clock at start.
 *
 * - last heartbeat not a time, or more than a day ahead: now (the resource is timed from now on,
 *   so a dead one is still reported after its timeout, and a live one simply sends again);
 * - first heartbeat not a time, missing, or after the last: the last heartbeat (and the other way
 *   round when only the first is known);
 * - timeout override outside one second's worth to one year: dropped (the client's timeout applies).
 */
export const repairStored = (row: StoredResource, nowMs: number): Repaired => {
  const repairs: Array<string> = []
  let lastSeenMs = row.lastSeenMs
  let firstSeenMs = row.firstSeenMs
  let timeoutOverrideMinutes = row.timeoutOverrideMinutes
  if (lastSeenMs !== undefined && (!isTime(lastSeenMs) || lastSeenMs > nowMs + maxFutureSkewMs)) {
    repairs.push(`last_seen_ms ${lastSeenMs} is not a usable time: set to now`)
    lastSeenMs = nowMs
  }
  if (firstSeenMs !== undefined && !isTime(firstSeenMs)) {
    repairs.push(`first_seen_ms ${firstSeenMs} is not a usable time: set to the last heartbeat`)
    firstSeenMs = lastSeenMs
  }
  if (lastSeenMs === undefined && firstSeenMs !== undefined) {
    repairs.push("last_seen_ms is missing: set to the first heartbeat")
    lastSeenMs = firstSeenMs > nowMs + maxFutureSkewMs ? nowMs : firstSeenMs
    firstSeenMs = lastSeenMs
  }
  if (lastSeenMs !== undefined && (firstSeenMs === undefined || firstSeenMs > lastSeenMs)) {
    repairs.push(`first_seen_ms ${firstSeenMs ?? "NULL"} is missing or after the last heartbeat: set to the last heartbeat`)
    firstSeenMs = lastSeenMs
  }
  let clientRemovedMs = row.clientRemovedMs
  if (clientRemovedMs !== undefined && (!isTime(clientRemovedMs) || clientRemovedMs > nowMs + maxFutureSkewMs)) {
    repairs.push(`client_removed_ms ${clientRemovedMs} is not a usable time: set to now`)
    clientRemovedMs = nowMs
  }
  if (timeoutOverrideMinutes !== undefined && !isUsableTimeout(timeoutOverrideMinutes)) {
    repairs.push(
      `timeout_override_minutes ${timeoutOverrideMinutes} is outside 1/60 to ${maxTimeoutMinutes}: dropped, the client's timeout applies`
    )
    timeoutOverrideMinutes = undefined
  }
  return repairs.length === 0
    ? { row, repairs }
    : { row: { ...row, firstSeenMs, lastSeenMs, timeoutOverrideMinutes, ...(clientRemovedMs === undefined ? {} : { clientRemovedMs }) }, repairs }
}
