import { Clock, Context, Effect, Layer } from "effect"
import { Pull, Router } from "zeromq"
import type { CurveSettings } from "../config/receiverIngress.ts"
import { HeartbeatRouter } from "../routing/HeartbeatRouter.ts"
import { monotonicMillis } from "../support/monotonicTime.ts"
import { readCurveKeyFile } from "../support/curveKeys.ts"
import { liveCounter, liveGauge } from "../support/liveMetrics.ts"
import { describeListenFailure, hostPort } from "../support/listenFailure.ts"
import { tcpEndpoint } from "../support/zmqEndpoint.ts"
import { defaultMaxFrameBytes } from "./FrameDecoder.ts"
import { makeFrameHandler, registerIngressMetrics } from "./frameHandling.ts"
import { MessageJournal } from "./MessageJournal.ts"
import { type IngressCounters, IngressStats } from "./IngressStats.ts"
import { IngressBindError, ingressRestartPolicy } from "./ZmqIngress.ts"
import { acquireBound, pullOptions } from "./zmqSockets.ts"
import { type IngressStatus, superviseReceiving } from "./supervisedSocket.ts"
import { type ZapDecision, zapDecision } from "./zapPolicy.ts"

/** The bound CURVE heartbeat socket. */
export class CurveIngress extends Context.Service<CurveIngress, {
  readonly endpoint: string
  /** The receiver's public key, for senders' `curve_server_key`. */
  readonly publicKey: string
  readonly counters: () => IngressCounters & { readonly handshakes: Readonly<Record<ZapDecision | "failed", number>> }
  readonly status: () => IngressStatus
}>()("heartbeat-mesh/ingress/CurveIngress") {}

/** Where libzmq asks for authentication of every handshake in its context (ZMQ RFC 27). */
const zapEndpoint = "inproc://zeromq.zap.01"
const zapDomain = "heartbeat-mesh"

/**
 * The encrypted ZeroMQ listener (`curve: { listen, secret_key_file }`): a PULL socket with CURVE
 * (CurveZMQ: X25519 key exchange, every frame encrypted and authenticated) next to the plain one.
 * A ZAP handler in the same process decides each handshake: with keys pinned in the configuration
 * (`clients.<name>.curve_public_key`) only those keys may connect; with none, any key may (the
 * channel is still encrypted, the token still names the client). Frames then take the same path as
 * the plain socket's.
 */
export const layerCurveIngress = (settings: CurveSettings) =>
  Layer.effect(
    CurveIngress,
    Effect.gen(function*() {
      const router = yield* HeartbeatRouter
      const journal = yield* MessageJournal
      const clock = yield* Clock.Clock
      const context = yield* Effect.context<never>()
      const log = (effect: Effect.Effect<void>) => void Effect.runForkWith(context)(effect)
      const keys = yield* Effect.tryPromise({
        try: () => readCurveKeyFile(settings.secretKeyFile),
        catch: (error) => new IngressBindError({ address: `curve ${hostPort(settings.host, settings.port)}`, reason: (error as Error).message })
      })
      const stats = new IngressStats()
      const handshakes = { accepted: 0, refused: 0, failed: 0 }
      yield* registerIngressMetrics("curve", stats)
      yield* liveCounter("curve_handshakes_total", "CURVE handshakes, by outcome (refused: key not pinned; failed: bad handshake)", () => handshakes.accepted, { outcome: "accepted" })
      yield* liveCounter("curve_handshakes_total", "CURVE handshakes, by outcome (refused: key not pinned; failed: bad handshake)", () => handshakes.refused, { outcome: "refused" })
      yield* liveCounter("curve_handshakes_total", "CURVE handshakes, by outcome (refused: key not pinned; failed: bad handshake)", () => handshakes.failed, { outcome: "failed" })

      // The ZAP handler first: a handshake that finds no handler is let through unchecked.
      const zap = yield* acquireBound(
        () => new Router({ linger: 0 }),
        zapEndpoint,
        (error) => new IngressBindError({ address: zapEndpoint, reason: describeListenFailure(error, "is another ZAP handler running in this process?") })
      )
      const zapLoop = async () => {
        while (!zap.closed) {
          let request: Array<Buffer>
          try {
            request = await zap.receive()
          } catch (error) {
            if (zap.closed) return
            throw error
          }
          // [peer, "", version, request id, domain, address, identity, mechanism, credentials...]
          const [peer, delimiter, version, requestId, , address, , mechanism, credential] = request
          if (peer === undefined || delimiter === undefined || requestId === undefined) continue
          const pinned = router.config().ingress?.curveKeys ?? new Map<string, string>()
          const decision = version?.toString() !== "1.0" || mechanism?.toString() !== "CURVE" || credential?.length !== 32
            ? { outcome: "refused" as const }
            : zapDecision(credential, pinned)
          handshakes[decision.outcome]++
          if (decision.outcome === "refused") {
            log(Effect.logWarning("CURVE connection refused: its key is not pinned by any client", { address: address?.toString() ?? "" }))
          }
          await zap.send([
            peer,
            delimiter,
            "1.0",
            requestId,
            decision.outcome === "accepted" ? "200" : "400",
            decision.outcome === "accepted" ? "OK" : "key not allowed",
            decision.outcome === "accepted" ? decision.client ?? "" : "",
            ""
          ])
        }
      }
      yield* Effect.forkScoped(Effect.promise(zapLoop))

      const requested = tcpEndpoint(settings.host, settings.port)
      /** A bound CURVE PULL socket, its failed handshakes counted from its events. */
      const bindCurve = async (endpoint: string) => {
        const socket = new Pull({
          ...pullOptions(defaultMaxFrameBytes, settings.host),
          curveServer: true,
          curveSecretKey: keys.secretKey,
          curvePublicKey: keys.publicKey,
          zapDomain
        })
        try {
          await socket.bind(endpoint)
        } catch (error) {
          socket.close()
          throw error
        }
        const watchEvents = async () => {
          try {
            for await (const event of socket.events) {
              // A ZAP refusal shows up here too (handshake:error:auth): counted once, as refused.
              if (event.type.startsWith("handshake:error") && event.type !== "handshake:error:auth") handshakes.failed++
            }
          } catch {
            // The events end with the socket.
          }
        }
        void watchEvents()
        return socket
      }
      // The first bind fails the start; restarts bind the endpoint actually bound.
      const first = yield* Effect.tryPromise({
        try: () => bindCurve(requested),
        catch: (error) =>
          new IngressBindError({
            address: `curve ${hostPort(settings.host, settings.port)}`,
            reason: describeListenFailure(error, "choose another curve.listen")
          })
      })
      const endpoint = first.lastEndpoint ?? requested
      const handle = makeFrameHandler({ router, stats, maxFrameBytes: defaultMaxFrameBytes, log, journal, transport: "curve" })
      // The plain socket's supervision (issue 13.4): a failed loop is logged, the socket bound again after a delay.
      const { status } = yield* superviseReceiving({
        name: "CURVE heartbeat socket",
        first,
        endpoint,
        bind: bindCurve,
        afterReceive: () => {},
        handle,
        onDefect: (error) => log(Effect.logError("heartbeat handling failed", { transport: "curve", error: String(error) })),
        restartPolicy: ingressRestartPolicy,
        clock
      })
      yield* liveCounter("curve_restarts_total", "Restarts of the CURVE socket loop after a failure", () => status().restarts)
      yield* liveGauge("curve_up", "1 while the CURVE socket loop runs, 0 while it waits for its restart", () => (status().up ? 1 : 0))
      yield* Effect.addFinalizer(() => {
        const totals = stats.snapshot()
        return Effect.logInfo("CURVE heartbeat socket closed", {
          received: totals.received,
          accepted: totals.accepted,
          deregistered: totals.deregistered,
          rejected: totals.rejected,
          handshakes
        })
      })
      yield* Effect.logInfo("listening for CURVE heartbeats", { endpoint, publicKey: keys.publicKey })
      return CurveIngress.of({
        endpoint,
        publicKey: keys.publicKey,
        counters: () => ({ ...stats.snapshot(), handshakes: { ...handshakes } }),
        status
      })
    })
  )
