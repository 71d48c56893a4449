import { Cause, Clock, Context, Effect, Layer, Schedule, Schema } from "effect"
import { restartDelayMs } from "../actors/ResourceSupervisor.ts"
import { Pull } from "zeromq"
import { HeartbeatRouter } from "../routing/HeartbeatRouter.ts"
import { tcpEndpoint } from "../support/zmqEndpoint.ts"
import { liveCounter, liveGauge } from "../support/liveMetrics.ts"
import { describeListenFailure, hostPort } from "../support/listenFailure.ts"
import { defaultMaxFrameBytes, rejectReasons } from "./FrameDecoder.ts"
import { makeFrameHandler } from "./frameHandling.ts"
import { pullOptions } from "./zmqSockets.ts"
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

/** Whether the socket loop is running, for readiness and /metrics. */
export interface IngressStatus {
  readonly up: boolean
  /** On the receiver's timeline: since when it has been up, or down. */
  readonly sinceMs: number
  /** Why it is down (undefined while up). */
  readonly reason: string | undefined
  /** While down: how long the restart policy makes this restart wait. */
  readonly restartDelayMs: number | undefined
  /** Restarts since the receiver started. */
  readonly restarts: number
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

/** A loop that ran this long without failing counts as healthy: the next failure starts the back-off afresh. */
const healthyRunMs = 60_000

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

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error)).split("\n")[0]!

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
      const clock = yield* Clock.Clock
      const context = yield* Effect.context<never>()
      const runLog = Effect.runForkWith(context)
      const maxFrameBytes = options.maxFrameBytes ?? defaultMaxFrameBytes
      const restartPolicy = options.restartPolicy ?? ingressRestartPolicy
      const requested = tcpEndpoint(options.iface, options.port)
      const ipv6 = options.iface.includes(":")
      const stats = new IngressStats()
      let status: IngressStatus = { up: true, sinceMs: monotonicMillis(clock), reason: undefined, restartDelayMs: undefined, restarts: 0 }
      yield* liveCounter("heartbeats_received_total", "Heartbeat frames read from the socket", () => stats.received)
      yield* liveCounter("heartbeats_accepted_total", "Heartbeats authenticated and routed to their resource", () => stats.accepted)
      yield* liveCounter("heartbeats_deregistered_total", "Deregistrations received from senders", () => stats.deregistered)
      for (const reason of rejectReasons) {
        yield* liveCounter("heartbeats_rejected_total", "Frames dropped, by reason", () => stats.rejected[reason], { reason })
      }
      yield* liveCounter("ingress_restarts_total", "Restarts of the heartbeat socket loop after a failure", () => status.restarts)
      yield* liveGauge("ingress_up", "1 while the heartbeat socket loop runs, 0 while it waits for its restart", () => (status.up ? 1 : 0))

      // The first bind happens here: a receiver that cannot listen refuses to start.
      let socket: Pull = yield* Effect.tryPromise({
        try: () => bindPull(requested, maxFrameBytes, ipv6),
        catch: (error) =>
          new IngressBindError({
            address: hostPort(options.iface, options.port),
            reason: describeListenFailure(error, "choose another --iface or --port")
          })
      })
      // Restarts bind the endpoint actually bound (port 0 became a real port), so senders find it again.
      const endpoint = socket.lastEndpoint ?? requested
      let closing = false
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          closing = true
          socket.close()
        })
      )

      const handle = makeFrameHandler({ router: engine, stats, maxFrameBytes, log: runLog })

      // A plain async loop: one await per message and nothing else on the hot path. It returns when
      // the scope closes the socket, and throws when the socket (or the loop itself) fails.
      const receiveLoop = async (current: Pull) => {
        while (!current.closed) {
          let frames: Array<Buffer>
          try {
            frames = await current.receive()
            probe.afterReceive(frames)
          } catch (error) {
            if (current.closed && closing) return
            throw error
          }
          try {
            handle(frames, monotonicMillis(clock))
          } catch (error) {
            // A bug on one frame must not stop the socket.
            runLog(Effect.logError("heartbeat handling failed", { error: String(error) }))
          }
        }
      }

      /** Runs the loop; after a failure, waits the policy's delay, binds again and runs it again. */
      const supervised = Effect.gen(function*() {
        let failuresInARow = 0
        while (true) {
          const startedMs = monotonicMillis(clock)
          const exit = yield* Effect.exit(Effect.tryPromise({ try: () => receiveLoop(socket), catch: (error) => error }))
          if (closing) return
          const nowMs = monotonicMillis(clock)
          if (nowMs - startedMs >= healthyRunMs) failuresInARow = 0
          const reason = exit._tag === "Failure" ? describe(Cause.squash(exit.cause)) : "the socket closed"
          status = { ...status, up: false, sinceMs: nowMs, reason: `heartbeat socket loop failed: ${reason}` }
          socket.close()
          // Bound again after the policy's delay; a bind that fails (the port taken meanwhile) waits longer.
          while (!closing) {
            failuresInARow++
            const delayMs = (yield* restartDelayMs(restartPolicy, failuresInARow)) ?? 10_000
            status = { ...status, restartDelayMs: delayMs }
            yield* Effect.logError("heartbeat socket loop failed; restarting it", {
              endpoint,
              reason: status.reason,
              failuresInARow,
              restartInMs: delayMs
            })
            yield* Effect.sleep(delayMs)
            const bound = yield* Effect.exit(Effect.tryPromise({ try: () => bindPull(endpoint, maxFrameBytes, ipv6), catch: (error) => error }))
            if (bound._tag === "Success") {
              socket = bound.value
              break
            }
            status = { ...status, reason: `heartbeat socket cannot bind ${endpoint} again: ${describe(Cause.squash(bound.cause))}` }
          }
          if (closing) {
            socket.close()
            return
          }
          status = { up: true, sinceMs: monotonicMillis(clock), reason: undefined, restartDelayMs: undefined, restarts: status.restarts + 1 }
          yield* Effect.logInfo("heartbeat socket loop restarted", { endpoint, restarts: status.restarts })
        }
      })
      yield* Effect.forkScoped(supervised)
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

      return Ingress.of({ endpoint, counters: () => stats.snapshot(), status: () => status })
    })
  )
