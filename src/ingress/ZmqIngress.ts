import { Clock, Context, Effect, Layer, Schema } from "effect"
import { Pull } from "zeromq"
import { HeartbeatRouter } from "../routing/HeartbeatRouter.ts"
import { tcpEndpoint } from "../support/zmqEndpoint.ts"
import { liveCounter } from "../support/liveMetrics.ts"
import { describeListenFailure, hostPort } from "../support/listenFailure.ts"
import { decodeFrames, defaultMaxFrameBytes, rejectReasons } from "./FrameDecoder.ts"
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
}>()("heartbeat-mesh/ingress/Ingress") {}

export interface IngressOptions {
  readonly iface: string
  /** 0 picks a free port (tests). */
  readonly port: number
  readonly maxFrameBytes?: number
}

/**
 * The socket fiber: a ZeroMQ PULL socket bound on iface:port. Every message is decoded, its token
 * checked and the heartbeat routed to its actor, synchronously, so one bad frame can only cost
 * itself. Rejections are counted by reason and logged at most once per reason per 10 s.
 */
export const layerZmqIngress = (options: IngressOptions) =>
  Layer.effect(
    Ingress,
    Effect.gen(function*() {
      const engine = yield* HeartbeatRouter
      const clock = yield* Clock.Clock
      const context = yield* Effect.context<never>()
      const runLog = Effect.runForkWith(context)
      const maxFrameBytes = options.maxFrameBytes ?? defaultMaxFrameBytes
      const requested = tcpEndpoint(options.iface, options.port)
      const stats = new IngressStats()
      yield* liveCounter("heartbeats_received_total", "Heartbeat frames read from the socket", () => stats.received)
      yield* liveCounter("heartbeats_accepted_total", "Heartbeats authenticated and routed to their resource", () => stats.accepted)
      yield* liveCounter("heartbeats_deregistered_total", "Deregistrations received from senders", () => stats.deregistered)
      for (const reason of rejectReasons) {
        yield* liveCounter("heartbeats_rejected_total", "Frames dropped, by reason", () => stats.rejected[reason], { reason })
      }

      const socket = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            const socket = new Pull({
              // Past this libzmq drops the sender's connection unread; between our own limit and this
              // a frame is read, counted as oversized and dropped.
              maxMessageSize: maxFrameBytes * 16,
              receiveHighWaterMark: 100_000,
              linger: 0,
              ipv6: options.iface.includes(":")
            })
            try {
              await socket.bind(requested)
            } catch (error) {
              socket.close()
              throw error
            }
            return socket
          },
          catch: (error) =>
            new IngressBindError({
              address: hostPort(options.iface, options.port),
              reason: describeListenFailure(error, "choose another --iface or --port")
            })
        }),
        (socket) => Effect.sync(() => socket.close())
      )
      const endpoint = socket.lastEndpoint ?? requested

      const handle = (frames: ReadonlyArray<Uint8Array>, nowMs: number) => {
        stats.received++
        const decoded = decodeFrames(frames, maxFrameBytes)
        if (!decoded.ok) {
          const skipped = stats.reject(decoded.rejection.reason, nowMs)
          if (skipped !== undefined) {
            runLog(Effect.logWarning("heartbeat rejected", {
              reason: decoded.rejection.reason,
              detail: decoded.rejection.detail,
              similarSinceLastLog: skipped
            }))
          }
          return
        }
        const outcome = engine.accept(decoded.heartbeat, nowMs)
        if (outcome === "accepted") stats.accepted++
        else if (outcome === "deregistered") stats.deregistered++
        else {
          const skipped = stats.reject("unknown_token", nowMs)
          if (skipped !== undefined) {
            runLog(Effect.logWarning("heartbeat rejected", {
              reason: "unknown_token",
              resource: decoded.heartbeat.resource.slice(0, 120),
              similarSinceLastLog: skipped
            }))
          }
        }
      }

      // A plain async loop: one await per message and nothing else on the hot path. It ends when
      // the scope closes the socket.
      const receiveLoop = async () => {
        while (!socket.closed) {
          let frames: Array<Buffer>
          try {
            frames = await socket.receive()
          } catch (error) {
            if (socket.closed) return
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
      yield* Effect.forkScoped(Effect.promise(receiveLoop))
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

      return Ingress.of({ endpoint, counters: () => stats.snapshot() })
    })
  )
