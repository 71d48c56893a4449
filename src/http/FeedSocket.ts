import { NodeHttpServerRequest } from "@effect/platform-node"
import { Context, Deferred, Effect, Fiber, Layer, Stream } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { liveCounter, liveGauge } from "../support/liveMetrics.ts"
import { type FeedFilter, LiveFeed } from "./LiveFeed.ts"

/**
 * The bounds of the WebSocket feed: at most `maxClients` at once (more get 503); a client whose
 * unsent data passes `maxBufferedBytes` is too slow and is closed (1013) rather than buffered
 * without end; a client's own message (subscribe) is at most `maxMessageBytes`.
 */
export const feedSocketLimits = {
  maxClients: 256,
  maxBufferedBytes: 1024 * 1024,
  maxMessageBytes: 4096
} as const

/**
 * A subscribe message: `{"type":"subscribe","client":"Web","resource":"db*","event":"heartbeat_mesh_heartbeat_*"}`,
 * every key optional; `"heartbeats": false` leaves out routine heartbeats as `/api/feed?heartbeats=0`
 * does (LiveFeed.ts). Undefined when the text is not one (the client is told, and keeps its filter).
 */
export const parseSubscribe = (text: string): FeedFilter | undefined => {
  if (text.length > feedSocketLimits.maxMessageBytes) return undefined
  let message: unknown
  try {
    message = JSON.parse(text)
  } catch {
    return undefined
  }
  if (message === null || typeof message !== "object" || (message as { type?: unknown }).type !== "subscribe") return undefined
  const filter: { -readonly [K in keyof FeedFilter]: FeedFilter[K] } = {}
  for (const key of ["client", "resource", "event"] as const) {
    const value = (message as Record<string, unknown>)[key]
    if (value === undefined || value === null) continue
    if (typeof value !== "string" || value.length > 512) return undefined
    filter[key] = value
  }
  const heartbeats = (message as Record<string, unknown>)["heartbeats"]
  if (heartbeats !== undefined && heartbeats !== null) {
    if (typeof heartbeats !== "boolean") return undefined
    filter.heartbeats = heartbeats
  }
  return filter
}

export class FeedSockets extends Context.Service<FeedSockets, {
  /** `GET /api/feed/ws`: upgrades, then feeds the client until it or the receiver closes. */
  readonly handle: Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>
  readonly clients: () => number
}>()("heartbeat-mesh/http/FeedSockets") {}

/**
 * The live feed over WebSocket (effect's own upgrade on the Node server; the `ws` package under it
 * comes with @effect/platform-node): the same messages as the SSE feed, one JSON text frame each
 * (`{"event": ..., "data": ...}`), narrowed by the client's subscribe messages. A slow client is
 * closed, never waited for: the feed only ever offers to it.
 */
export const layerFeedSockets = Layer.effect(
  FeedSockets,
  Effect.gen(function*() {
    const feed = yield* LiveFeed
    let clients = 0
    let droppedSlow = 0
    let refusedFull = 0
    let sent = 0
    let badMessages = 0
    yield* liveGauge("feed_ws_clients", "WebSocket feed clients connected", () => clients)
    yield* liveCounter("feed_ws_dropped_total", "WebSocket feed clients closed, by reason", () => droppedSlow, { reason: "slow" })
    yield* liveCounter("feed_ws_dropped_total", "WebSocket feed clients closed, by reason", () => refusedFull, { reason: "full" })
    yield* liveCounter("feed_ws_messages_sent_total", "Messages written to WebSocket feed clients", () => sent)
    yield* liveCounter("feed_ws_bad_messages_total", "Messages from WebSocket feed clients that were not a subscribe (or over 4 KiB)", () => badMessages)

    const serve = (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function*() {
        const connection = NodeHttpServerRequest.toIncomingMessage(request).socket
        const socket = yield* request.upgrade
        const scope = yield* Effect.scope
        const writer = yield* socket.writer
        const reader = yield* socket.reader
        const slow = yield* Deferred.make<void>()
        const send = (text: string) =>
          Effect.suspend(() => {
            if (connection.writableLength > feedSocketLimits.maxBufferedBytes) return Deferred.succeed(slow, undefined).pipe(Effect.andThen(Effect.never))
            sent++
            return writer.write(text)
          })
        const start = (filter: FeedFilter) =>
          Effect.gen(function*() {
            const messages = yield* feed.messages(filter)
            yield* Stream.runForEach(messages, (message) => send(JSON.stringify(message)))
          }).pipe(Effect.scoped, Effect.ignore, Effect.forkIn(scope))
        let feeding = yield* start({})
        const readLoop = Effect.forever(Effect.flatMap(reader.pull, (chunks) =>
          Effect.forEach(chunks, (chunk) =>
            Effect.gen(function*() {
              const filter = parseSubscribe(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk))
              if (filter === undefined) {
                badMessages++
                yield* send(JSON.stringify({ event: "error", data: { error: 'expected {"type":"subscribe","client":...,"resource":"glob*","event":"glob*"}' } }))
                return
              }
              yield* Fiber.interrupt(feeding)
              yield* send(JSON.stringify({ event: "subscribed", data: filter }))
              feeding = yield* start(filter)
            }), { discard: true })))
        yield* Effect.raceFirst(
          Effect.ignore(readLoop),
          Effect.andThen(Deferred.await(slow), Effect.gen(function*() {
            droppedSlow++
            yield* Effect.logWarning("WebSocket feed client too slow: closed", { buffered: connection.writableLength })
            connection.destroy()
          }))
        )
      }).pipe(Effect.scoped, Effect.ignore)

    const handle = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (clients >= feedSocketLimits.maxClients) {
        refusedFull++
        return HttpServerResponse.jsonUnsafe({ error: `the feed has ${feedSocketLimits.maxClients} WebSocket clients already` }, { status: 503 })
      }
      clients++
      yield* serve(request).pipe(Effect.ensuring(Effect.sync(() => clients--)))
      return HttpServerResponse.empty()
    })

    return FeedSockets.of({ handle, clients: () => clients })
  })
)
