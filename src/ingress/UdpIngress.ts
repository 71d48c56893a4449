import { Clock, Context, Effect, Layer } from "effect"
import { createSocket, type RemoteInfo, type Socket } from "node:dgram"
import type { UdpSettings } from "../config/receiverIngress.ts"
import { describeListenFailure, hostPort } from "../support/listenFailure.ts"
import { HeartbeatRouter } from "../routing/HeartbeatRouter.ts"
import { monotonicMillis } from "../support/monotonicTime.ts"
import { liveCounter, liveGauge } from "../support/liveMetrics.ts"
import { defaultMaxFrameBytes } from "./FrameDecoder.ts"
import { type FrameResult, makeFrameHandler, registerIngressMetrics } from "./frameHandling.ts"
import { MessageJournal } from "./MessageJournal.ts"
import { type IngressCounters, IngressStats } from "./IngressStats.ts"
import { SourceRateLimiter } from "./SourceRateLimiter.ts"
import { IngressBindError } from "./ZmqIngress.ts"

/** The kernel's receive buffer we ask for: bursts queue here while the event loop is busy. */
export const udpReceiveBufferBytes = 4 * 1024 * 1024

/** The bound UDP heartbeat socket. */
export class UdpIngress extends Context.Service<UdpIngress, {
  /** host:port it is bound to, with the real port when 0 was asked for. */
  readonly address: string
  readonly counters: () => IngressCounters & { readonly rateLimited: number; readonly acksSent: number }
}>()("heartbeat-mesh/ingress/UdpIngress") {}

const ackOk = Buffer.from('{"ok":true}')

/** A datagram's source as the journal names it: `address:port` (`[address]:port` for IPv6). */
const sourceOf = (from: RemoteInfo) => hostPort(from.address, from.port)

/**
 * The answer to a frame that asked for one (`"ack": true`): `{"ok":true}` or
 * `{"ok":false,"reason":"..."}`. Undefined when it would be larger than the datagram it answers: a
 * spoofed source address can never be sent more bytes than it made us read (no amplification).
 */
export const ackFor = (result: FrameResult, datagramBytes: number): Buffer | undefined => {
  const answer = result.outcome === "accepted" || result.outcome === "deregistered"
    ? ackOk
    : Buffer.from(`{"ok":false,"reason":"${result.outcome}"}`)
  return answer.length <= datagramBytes ? answer : undefined
}

/**
 * UDP heartbeats (`udp: { listen }` in receiver.yaml): one datagram is one frame in the same JSON
 * as the ZeroMQ wire, through the same decoder, authentication, routing and counters. Each source
 * address is rate limited (token bucket) before anything is parsed; what a flood costs is one map
 * lookup per datagram.
 */
export const layerUdpIngress = (settings: UdpSettings) =>
  Layer.effect(
    UdpIngress,
    Effect.gen(function*() {
      const router = yield* HeartbeatRouter
      const journal = yield* MessageJournal
      const clock = yield* Clock.Clock
      const context = yield* Effect.context<never>()
      const log = (effect: Effect.Effect<void>) => void Effect.runForkWith(context)(effect)
      const stats = new IngressStats()
      const limiter = new SourceRateLimiter({
        ratePerSecond: settings.ratePerSource,
        burst: settings.burstPerSource,
        maxSources: settings.maxSources
      })
      let rateLimited = 0
      let acksSent = 0
      let sendErrors = 0
      const handle = makeFrameHandler({ router, stats, maxFrameBytes: defaultMaxFrameBytes, log, journal, transport: "udp" })
      yield* registerIngressMetrics("udp", stats, { rate_limited: () => rateLimited })
      yield* liveCounter("udp_acks_sent_total", "Acks answered to UDP heartbeats that asked for one", () => acksSent)
      yield* liveCounter("udp_send_errors_total", "Acks the socket could not send", () => sendErrors)
      yield* liveGauge("udp_rate_limit_sources", "Source addresses tracked by the UDP rate limiter", () => limiter.sources)
      yield* liveCounter("udp_rate_limit_evictions_total", "Source addresses forgotten to keep the rate limiter in bounds", () => limiter.evicted)

      const requested = hostPort(settings.host, settings.port)
      const socket = yield* Effect.acquireRelease(
        Effect.callback<Socket, IngressBindError>((resume) => {
          const socket = createSocket({ type: settings.host.includes(":") ? "udp6" : "udp4", recvBufferSize: udpReceiveBufferBytes })
          const failed = (error: Error) => {
            socket.close()
            resume(Effect.fail(new IngressBindError({ address: `udp ${requested}`, reason: describeListenFailure(error, "choose another udp.listen") })))
          }
          socket.once("error", failed)
          socket.bind(settings.port, settings.host, () => {
            socket.off("error", failed)
            resume(Effect.succeed(socket))
          })
        }),
        (socket) =>
          Effect.callback<void>((resume) => {
            socket.close(() => resume(Effect.void))
          })
      )
      const bound = socket.address()
      const address = hostPort(bound.address, bound.port)

      let rateLogMs = Number.NEGATIVE_INFINITY
      let rateSuppressed = 0
      const onMessage = (datagram: Buffer, from: RemoteInfo) => {
        const nowMs = monotonicMillis(clock)
        if (!limiter.allow(from.address, nowMs)) {
          rateLimited++
          stats.received++
          if (journal.enabled) journal.record("udp", sourceOf(from), undefined, datagram.length, "rejected", "rate_limited", nowMs)
          if (nowMs - rateLogMs >= 10_000) {
            log(Effect.logWarning("heartbeat rejected", { transport: "udp", reason: "rate_limited", source: from.address, similarSinceLastLog: rateSuppressed }))
            rateLogMs = nowMs
            rateSuppressed = 0
          } else rateSuppressed++
          return
        }
        const result = handle([datagram], nowMs, from)
        if (!result.ack) return
        const answer = ackFor(result, datagram.length)
        if (answer === undefined) return
        socket.send(answer, from.port, from.address, (error) => {
          if (error) sendErrors++
          else acksSent++
        })
      }
      socket.on("message", (datagram, from) => {
        try {
          onMessage(datagram, from)
        } catch (error) {
          log(Effect.logError("UDP heartbeat handling failed", { error: String(error) }))
        }
      })
      // After binding, socket errors (an ICMP unreachable for an ack, say) are logged, never fatal.
      socket.on("error", (error) => log(Effect.logWarning("UDP socket error", { error: error.message })))

      yield* Effect.addFinalizer(() => {
        const totals = stats.snapshot()
        return Effect.logInfo("UDP heartbeat socket closed", {
          received: totals.received,
          accepted: totals.accepted,
          deregistered: totals.deregistered,
          rateLimited,
          rejected: totals.rejected
        })
      })
      yield* Effect.logInfo("listening for UDP heartbeats", { address })
      return UdpIngress.of({ address, counters: () => ({ ...stats.snapshot(), rateLimited, acksSent }) })
    })
  )
