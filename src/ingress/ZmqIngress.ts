import { Clock, Context, Effect, Layer, Schedule, Schema } from "effect"
import { Pull } from "zeromq"
import { HeartbeatRouter } from "../routing/HeartbeatRouter.ts"
import { tcpEndpoint } from "../support/zmqEndpoint.ts"
import { liveCounter, liveGauge } from "../support/liveMetrics.ts"
import { describeListenFailure, hostPort } from "../support/listenFailure.ts"
import { defaultMaxFrameBytes, heartbeatRepairs, rejectReasons } from "./FrameDecoder.ts"
import { makeFrameHandler } from "./frameHandling.ts"
import { MessageJournal } from "./MessageJournal.ts"
import { pullOptions } from "./zmqSockets.ts"
import { type IngressStatus, superviseReceiving } from "./supervisedSocket.ts"
import { type IngressCounters, IngressStats } from "./IngressStats.ts"
import { monotonicMillis } from "../support/monotonicTime.ts"

/** The heartbeat socket could not bind: one line naming the address, why, and what to do. */
export class IngressBindError extends Schema.TaggedError<IngressBindError>()("IngressBindError", {
  address: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `heartbeat listen ${this.address}: ${this.reason}`
  }
}

/** The bound heartbeat socket. */
export class Ingress extends Context.Service<Ingress, {
  /** What the socket is bound to, with the real port when 0 was asked for. */
  readonly endpoint: string
  readonly counters: () => IngressCounters
  readonly status: () => IngressStatus
}>()("heartbeat-mesh/ingress/Ingress") {}

/**
 * Called with every message right after the socket hands it over, before it is decoded: the seam
 * for tests that need the socket loop to fail (a throw here is a failure of the loop, as a failed
 * `receive` would be). Required, so production says explicitly that it has none.
 */
export class IngressProbe extends Context.Service<IngressProbe, {
  readonly afterReceive: (frames: ReadonlyArray<Uint8Array>) => void
}>()("heartbeat-mesh/ingress/IngressProbe") {
  static readonly layerNone: Layer.Layer<IngressProbe> = Layer.succeed(IngressProbe)({ afterReceive: () => {} })
  static readonly layerTest = (afterReceive: (frames: ReadonlyArray<Uint8Array>) => void): Layer.Layer<IngressProbe> =>
    Layer.succeed(IngressProbe)({ afterReceive })
}

/**
 * How long the socket loop waits before its restart after a failure: 200 ms, doubling per failure
 * in a row, at most 10 s. A loop that then ran for a minute starts from 200 ms again.
 */
export const ingressRestartPolicy: Schedule.Schedule<unknown> = Schedule.min([
  Schedule.exponential("200 millis", 2),
  Schedule.spaced("10 seconds")
])

export interface IngressOptions {
  readonly iface: string
  /** 0 picks a free port (tests). */
  readonly port: number
  readonly maxFrameBytes?: number
  /** When to restart the socket loop after a failure (default `ingressRestartPolicy`). */
  readonly restartPolicy?: Schedule.Schedule<unknown>
}

const bindPull = async (endpoint: string, maxFrameBytes: number, ipv6: boolean): Promise<Pull> => {
  const socket = new Pull(pullOptions(maxFrameBytes, ipv6 ? "::" : ""))
  try {
    await socket.bind(endpoint)
  } catch (error) {
    socket.close()
    throw error
  }
  return socket
}

/**
 * The socket fiber: a ZeroMQ PULL socket bound on iface:port. Every message is decoded, its token
 * checked and the heartbeat routed to its actor, synchronously, so one bad frame can only cost
 * itself. Rejections are counted by reason and logged at most once per reason per 10 s.
 *
 * The loop is supervised (issue 13.4): if it fails (the socket errs, a bug outside the per-frame
 * guard), it is logged and counted, the socket is closed and bound again on the same endpoint after
 * the restart policy's delay, and the loop resumes; senders reconnect by themselves. While it is
 * down, `status` says so and why (readiness answers 503).
 */
export const layerZmqIngress = (options: IngressOptions) =>
  Layer.effect(
    Ingress,
    Effect.gen(function*() {
      const engine = yield* HeartbeatRouter
      const probe = yield* IngressProbe
      const journal = yield* MessageJournal
      const clock = yield* Clock.Clock
      const context = yield* Effect.context<never>()
      const runLog = Effect.runForkWith(context)
      const maxFrameBytes = options.maxFrameBytes ?? defaultMaxFrameBytes
      const restartPolicy = options.restartPolicy ?? ingressRestartPolicy
      const requested = tcpEndpoint(options.iface, options.port)
      const ipv6 = options.iface.includes(":")
      const stats = new IngressStats()
      yield* liveCounter("heartbeats_received_total", "Heartbeat frames read from the socket", () => stats.received)
      yield* liveCounter("heartbeats_accepted_total", "Heartbeats authenticated and routed to their resource", () => stats.accepted)
      yield* liveCounter("heartbeats_deregistered_total", "Deregistrations received from senders", () => stats.deregistered)
      for (const reason of rejectReasons) {
        yield* liveCounter("heartbeats_rejected_total", "Frames dropped, by reason", () => stats.rejected[reason], { reason })
      }
      for (const reason of heartbeatRepairs) {
        yield* liveCounter(
          "heartbeats_repaired_total",
          "Heartbeats taken although a field could not be used as sent (the client's timeout applies; not a deregistration), by what was wrong",
          () => stats.repaired[reason],
          { reason }
        )
      }

      // The first bind happens here: a receiver that cannot listen refuses to start.
      const socket: Pull = yield* Effect.tryPromise({
        try: () => bindPull(requested, maxFrameBytes, ipv6),
        catch: (error) =>
          new IngressBindError({
            address: hostPort(options.iface, options.port),
            reason: describeListenFailure(error, "choose another --iface or --port")
          })
      })
      // Restarts bind the endpoint actually bound (port 0 became a real port), so senders find it again.
      const endpoint = socket.lastEndpoint ?? requested
      const handle = makeFrameHandler({ router: engine, stats, maxFrameBytes, log: runLog, journal })
      const supervision = yield* superviseReceiving({
        name: "heartbeat socket",
        first: socket,
        endpoint,
        bind: (at) => bindPull(at, maxFrameBytes, ipv6),
        afterReceive: probe.afterReceive,
        handle,
        onDefect: (error) => runLog(Effect.logError("heartbeat handling failed", { error: String(error) })),
        restartPolicy,
        clock
      })
      const status = supervision.status
      yield* Effect.addFinalizer(() => {
        const totals = stats.snapshot()
        return Effect.logInfo("heartbeat socket closed", {
          received: totals.received,
          accepted: totals.accepted,
          deregistered: totals.deregistered,
          rejected: totals.rejected
        })
      })
      yield* Effect.logInfo("listening for heartbeats", { endpoint })

      yield* liveCounter("ingress_restarts_total", "Restarts of the heartbeat socket loop after a failure", () => status().restarts)
      yield* liveGauge("ingress_up", "1 while the heartbeat socket loop runs, 0 while it waits for its restart", () => (status().up ? 1 : 0))

      return Ingress.of({ endpoint, counters: () => stats.snapshot(), status })
    })
  )
