import { Effect } from "effect"
import type { HeartbeatRouter, IngestOutcome } from "../routing/HeartbeatRouter.ts"
import { liveCounter } from "../support/liveMetrics.ts"
import { hostPort } from "../support/listenFailure.ts"
import { decodeFrames, type HeartbeatRepair, heartbeatRepairs, type RejectReason, rejectReasons } from "./FrameDecoder.ts"
import type { IngressStats } from "./IngressStats.ts"
import type { MessageJournalService } from "./MessageJournal.ts"

/** Where a datagram came from (node:dgram's RemoteInfo fits). */
export interface SourceAddress {
  readonly address: string
  readonly port: number
}

/** What became of one frame: the router's outcome, or why it was dropped. */
export interface FrameResult {
  readonly outcome: IngestOutcome | RejectReason
  /** The frame asked for an answer (`"ack": true`) and was readable enough to say so. */
  readonly ack: boolean
}

/**
 * The path every transport shares once it holds a frame: decode (FrameDecoder), authenticate and
 * route (HeartbeatRouter.accept), count in `stats`, log a rejection or a repair (a heartbeat
 * taken with an unusable timeout or an unclear deregister) at most once per reason per interval
 * through `log` (never the token or the raw bytes), and hand the message to the message journal
 * when it is on. Synchronous: one bad frame only costs itself.
 */
export const makeFrameHandler = (options: {
  readonly router: HeartbeatRouter["Service"]
  readonly stats: IngressStats
  readonly maxFrameBytes: number
  readonly log: (effect: Effect.Effect<void>) => void
  /** The message journal; off when not given. */
  readonly journal?: MessageJournalService | undefined
  /** Added to log lines of transports other than the plain ZeroMQ socket. */
  readonly transport?: string
}) => {
  const { router, stats, maxFrameBytes, log } = options
  const where = options.transport === undefined ? {} : { transport: options.transport }
  const rejected = (reason: RejectReason, nowMs: number, details: Record<string, unknown>) => {
    const skipped = stats.reject(reason, nowMs)
    if (skipped !== undefined) log(Effect.logWarning("heartbeat rejected", { ...where, reason, ...details, similarSinceLastLog: skipped }))
  }
  // Counted once the token is known good: a stranger's junk is an unknown token, nothing more.
  const repaired = (repairs: ReadonlyArray<HeartbeatRepair>, nowMs: number, resource: string) => {
    for (const reason of repairs) {
      const skipped = stats.repair(reason, nowMs)
      if (skipped !== undefined) {
        log(Effect.logWarning("heartbeat taken with a repair", { ...where, reason, resource: resource.slice(0, 120), similarSinceLastLog: skipped }))
      }
    }
  }
  /** `address`: the sender's IP address where the transport knows it (UDP), for dynamic DNS. */
  const handle = (frames: ReadonlyArray<Uint8Array>, nowMs: number, address?: string): FrameResult => {
    stats.received++
    const decoded = decodeFrames(frames, maxFrameBytes)
    if (!decoded.ok) {
      rejected(decoded.rejection.reason, nowMs, { detail: decoded.rejection.detail })
      return { outcome: decoded.rejection.reason, ack: decoded.rejection.ack === true }
    }
    const outcome = router.accept(decoded.heartbeat, nowMs, address)
    if (outcome === "accepted") stats.accepted++
    else if (outcome === "deregistered") stats.deregistered++
    else {
      rejected(outcome, nowMs, { resource: decoded.heartbeat.resource.slice(0, 120) })
      return { outcome, ack: decoded.ack }
    }
    if (decoded.repairs.length > 0) repaired(decoded.repairs, nowMs, decoded.heartbeat.resource)
    return { outcome, ack: decoded.ack }
  }
  const journal = options.journal
  if (journal === undefined || !journal.enabled) {
    return (frames: ReadonlyArray<Uint8Array>, nowMs: number, from?: SourceAddress): FrameResult => handle(frames, nowMs, from?.address)
  }
  const transport = options.transport ?? "zmq"
  /** `from`: the sender's address and port, where the transport knows it (UDP). */
  return (frames: ReadonlyArray<Uint8Array>, nowMs: number, from?: SourceAddress): FrameResult => {
    const result = handle(frames, nowMs, from?.address)
    const source = from === undefined ? undefined : hostPort(from.address, from.port)
    const { outcome } = result
    const frame = frames.length === 1 ? frames[0] : undefined
    let bytes = 0
    for (const part of frames) bytes += part.byteLength
    journal.record(
      transport,
      source ?? null,
      frame,
      bytes,
      outcome === "accepted" || outcome === "deregistered" ? outcome : "rejected",
      outcome === "accepted" || outcome === "deregistered" ? undefined : outcome,
      nowMs
    )
    return result
  }
}

/**
 * The counters of one transport other than the plain ZeroMQ socket (whose series keep their
 * deployed names): `ingress_received_total{transport}`, `ingress_accepted_total{transport}`,
 * `ingress_deregistered_total{transport}` and `ingress_rejected_total{transport,reason}`, plus any
 * transport-specific reasons in `extraRejections`.
 */
export const registerIngressMetrics = (
  transport: string,
  stats: IngressStats,
  extraRejections: Record<string, () => number> = {}
) =>
  Effect.gen(function*() {
    yield* liveCounter("ingress_received_total", "Frames read, by transport (datagrams, requests, CURVE messages)", () => stats.received, { transport })
    yield* liveCounter("ingress_accepted_total", "Heartbeats authenticated and routed, by transport", () => stats.accepted, { transport })
    yield* liveCounter("ingress_deregistered_total", "Deregistrations received, by transport", () => stats.deregistered, { transport })
    for (const reason of rejectReasons) {
      yield* liveCounter("ingress_rejected_total", "Frames dropped, by transport and reason", () => stats.rejected[reason], { transport, reason })
    }
    for (const reason of heartbeatRepairs) {
      yield* liveCounter("ingress_repaired_total", "Heartbeats taken with a field that could not be used as sent, by transport and reason", () => stats.repaired[reason], { transport, reason })
    }
    for (const [reason, read] of Object.entries(extraRejections)) {
      yield* liveCounter("ingress_rejected_total", "Frames dropped, by transport and reason", read, { transport, reason })
    }
  })
