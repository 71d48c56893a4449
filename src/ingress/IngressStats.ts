import { type HeartbeatRepair, heartbeatRepairs, type RejectReason, rejectReasons } from "./FrameDecoder.ts"

export interface IngressCounters {
  readonly received: number
  readonly accepted: number
  readonly deregistered: number
  readonly rejected: Readonly<Record<RejectReason, number>>
  /** Accepted heartbeats with a field that could not be used as sent, by what was wrong. */
  readonly repaired: Readonly<Record<HeartbeatRepair, number>>
}

/**
 * Counts what the socket saw, and decides when a rejection or repair may be logged: at most one
 * line per reason per interval, carrying how many were suppressed, so a flood of junk cannot flood
 * the journal.
 */
export class IngressStats {
  received = 0
  accepted = 0
  deregistered = 0
  readonly rejected: Record<RejectReason, number> = Object.fromEntries(
    rejectReasons.map((reason) => [reason, 0])
  ) as Record<RejectReason, number>
  readonly repaired: Record<HeartbeatRepair, number> = Object.fromEntries(
    heartbeatRepairs.map((reason) => [reason, 0])
  ) as Record<HeartbeatRepair, number>
  private readonly lastLoggedMs = new Map<RejectReason | HeartbeatRepair, number>()
  private readonly suppressed = new Map<RejectReason | HeartbeatRepair, number>()
  private readonly logIntervalMs: number

  constructor(logIntervalMs = 10_000) {
    this.logIntervalMs = logIntervalMs
  }

  /** Counts the rejection; returns how many went unlogged before it if it should be logged now. */
  reject(reason: RejectReason, nowMs: number): number | undefined {
    this.rejected[reason]++
    return this.mayLog(reason, nowMs)
  }

  /** Counts the repair; returns how many went unlogged before it if it should be logged now. */
  repair(reason: HeartbeatRepair, nowMs: number): number | undefined {
    this.repaired[reason]++
    return this.mayLog(reason, nowMs)
  }

  private mayLog(reason: RejectReason | HeartbeatRepair, nowMs: number): number | undefined {
    const last = this.lastLoggedMs.get(reason)
    if (last !== undefined && nowMs - last < this.logIntervalMs) {
      this.suppressed.set(reason, (this.suppressed.get(reason) ?? 0) + 1)
      return undefined
    }
    this.lastLoggedMs.set(reason, nowMs)
    const skipped = this.suppressed.get(reason) ?? 0
    this.suppressed.set(reason, 0)
    return skipped
  }

  snapshot(): IngressCounters {
    return {
      received: this.received,
      accepted: this.accepted,
      deregistered: this.deregistered,
      rejected: { ...this.rejected },
      repaired: { ...this.repaired }
    }
  }
}
