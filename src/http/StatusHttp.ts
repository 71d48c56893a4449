import { Clock, Effect, Layer, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { createHash, timingSafeEqual } from "node:crypto"
import { ResourceSupervisor } from "../actors/ResourceSupervisor.ts"
import type { HttpSettings } from "../config/ReceiverConfig.ts"
import { Ingress } from "../ingress/ZmqIngress.ts"
import { type JournalEntry, NotificationJournal } from "../notify/NotificationJournal.ts"
import { CheckAlerts } from "../checkAlerts/CheckAlerts.ts"
import { HeartbeatRouter } from "../routing/HeartbeatRouter.ts"
import { LiveFeed } from "./LiveFeed.ts"
import { FeedSockets } from "./FeedSocket.ts"
import { layerNodeServer } from "./nodeServer.ts"
import { makePrometheus } from "./metrics.ts"
import { processMetrics } from "./processMetrics.ts"
import { monotonicMillis, wallOffsetMillis } from "../support/monotonicTime.ts"
import { isoOrNull, viewOf } from "./resourceView.ts"
import { makeResourceAnswers } from "./resourceAnswers.ts"
import { layerCachedAnswers } from "./jsonAnswers.ts"
import { layerDashboardFiles } from "./dashboardFiles.ts"
import { maxResourceNameLength } from "../domain/Heartbeat.ts"
import { BadRequest, Forbidden, NotFound, NotReady, StatusApi, Unauthorized } from "./StatusApi.ts"
import { readinessProblems } from "./readiness.ts"
import { StatePersistence } from "../store/StatePersistence.ts"
import { Outbox } from "../notify/Outbox.ts"
import { layerRequestBounds, makeSseAdmission } from "./requestBounds.ts"

const digest = (token: string) => createHash("sha256").update(token).digest()

/** Compares a presented Bearer token with the accepted ones in constant time (fixed-length digests). */
const bearerMatches = (authorization: string | undefined, accepted: ReadonlyArray<Buffer>): boolean => {
  if (authorization === undefined || !authorization.startsWith("Bearer ")) return false
  const presented = digest(authorization.slice("Bearer ".length).trim())
  let match = false
  for (const candidate of accepted) match = timingSafeEqual(presented, candidate) || match
  return match
}

const jsonError = (status: number, error: string) => HttpServerResponse.jsonUnsafe({ error }, { status })

const wholeNumber = (text: string | undefined, fallback: number, max: number): number | undefined => {
  if (text === undefined) return fallback
  const value = Number(text)
  return Number.isInteger(value) && value >= 0 && value <= max ? value : undefined
}

const eventItem = (entry: JournalEntry) => ({ seq: entry.seq, at: isoOrNull(entry.atMs) ?? "", ...entry.notification })


/** Who may read and act: the tokens of `http:` as SHA-256 digests. */
const makeAccess = (settings: HttpSettings) => {
  const adminTokens = settings.adminToken === undefined ? [] : [digest(settings.adminToken)]
  const readTokens = settings.readToken === undefined ? [] : [digest(settings.readToken), ...adminTokens]
  const readMessage = "this receiver needs a Bearer token to read (http.read_token)"
  return {
    /** Reads are open, or the request carries the read (or admin) token. */
    mayRead: (authorization: string | undefined) => readTokens.length === 0 || bearerMatches(authorization, readTokens),
    readMessage,
    read: (authorization: string | undefined) =>
      readTokens.length === 0 || bearerMatches(authorization, readTokens)
        ? Effect.void
        : Effect.fail(new Unauthorized({ error: readMessage })),
    admin: (authorization: string | undefined) =>
      adminTokens.length === 0
        ? Effect.fail(new Forbidden({ error: "admin actions are disabled: set http.admin_token" }))
        : bearerMatches(authorization, adminTokens)
        ? Effect.void
        : Effect.fail(new Unauthorized({ error: "admin token required (Authorization: Bearer ...)" }))
  }
}

/** The REST API (`StatusApi`): resources, admin actions, events, readiness. */
const layerApiHandlers = (settings: HttpSettings) => {
  const access = makeAccess(settings)
  const resources = HttpApiBuilder.group(
    StatusApi,
    "resources",
    Effect.fn(function*(handlers) {
      const supervisor = yield* ResourceSupervisor
      const journal = yield* NotificationJournal
      const router = yield* HeartbeatRouter
      const checkAlerts = yield* CheckAlerts
      const answers = yield* makeResourceAnswers
      const clock = yield* Clock.Clock
      const moment = () => supervisor.moment(monotonicMillis(clock))
      return handlers
        .handleRaw("list", ({ query, headers }) =>
          Effect.gen(function*() {
            yield* access.read(headers.authorization)
            // The index answers (ResourceIndex.ts, resourceAnswers.ts); raw: totals and cursors go in headers.
            const answer = yield* answers.list(query)
            if ("error" in answer) return yield* Effect.fail(new BadRequest({ error: answer.error }))
            return answer.response
          }))
        .handle("summary", ({ headers }) => Effect.map(access.read(headers.authorization), answers.summary))
        .handle("get", ({ params, headers }) =>
          Effect.gen(function*() {
            yield* access.read(headers.authorization)
            const actor = supervisor.find(params.client, params.resource)
            if (actor === undefined) return yield* Effect.fail(new NotFound({ error: "no such resource" }))
            return {
              ...viewOf(actor.profile, actor.state, moment(), wallOffsetMillis(clock)),
              payload: actor.state.payload ?? null,
              checks: checkAlerts.checksOf(actor.profile.client, actor.profile.resource).map((check) => ({
                name: check.name,
                level: check.level,
                value: check.value,
                text: check.text,
                source: check.source,
                since: isoOrNull(check.sinceMs + wallOffsetMillis(clock)) ?? "",
                reportedAt: isoOrNull(check.reportedAtMs + wallOffsetMillis(clock)) ?? ""
              })),
              recentEvents: journal.recent({ limit: 20, client: actor.profile.client, resource: actor.profile.resource }).map(eventItem)
            }
          }))
        .handle("act", ({ params, headers }) =>
          Effect.gen(function*() {
            yield* access.admin(headers.authorization)
            const { client, resource, action } = params
            if (action === "deregister") {
              if (supervisor.find(client, resource) === undefined) return yield* Effect.fail(new NotFound({ error: "no such resource" }))
              yield* router.deregister(client, resource)
              yield* Effect.logInfo("resource deregistered through the API", { client, resource })
              return { ok: true, action, client, resource }
            }
            if (action === "pause" || action === "resume") {
              if (!supervisor.setPaused(client, resource, action === "pause")) return yield* Effect.fail(new NotFound({ error: "no such resource" }))
              yield* Effect.logInfo(`resource ${action}d through the API`, { client, resource })
              return { ok: true, action, client, resource }
            }
            return yield* Effect.fail(new NotFound({ error: `unknown action "${action}": use deregister, pause or resume` }))
          }))
    })
  )
  const events = HttpApiBuilder.group(
    StatusApi,
    "events",
    Effect.fn(function*(handlers) {
      const journal = yield* NotificationJournal
      return handlers.handle("list", ({ query, headers }) =>
        Effect.gen(function*() {
          yield* access.read(headers.authorization)
          const limit = wholeNumber(query.limit, 50, 1000)
          const before = query.before === undefined ? undefined : wholeNumber(query.before, 0, Number.MAX_SAFE_INTEGER)
          if (limit === undefined || (query.before !== undefined && before === undefined)) {
            return yield* Effect.fail(new BadRequest({ error: "limit (at most 1000) and before must be whole numbers" }))
          }
          const entries = journal.recent({ limit, before, client: query.client, resource: query.resource })
          return {
            items: entries.map(eventItem),
            next: entries.length === limit ? entries[entries.length - 1]!.seq : null
          }
        }))
    })
  )
  const health = HttpApiBuilder.group(
    StatusApi,
    "health",
    Effect.fn(function*(handlers) {
      const supervisor = yield* ResourceSupervisor
      const ingress = yield* Ingress
      const persistence = yield* StatePersistence
      const outbox = yield* Outbox
      const clock = yield* Clock.Clock
      return handlers.handle("ready", () =>
        Effect.suspend(() => {
          const nowMs = monotonicMillis(clock)
          const problems = readinessProblems(
            { ingress: ingress.status(), state: persistence.counters(), stuckNotifiers: outbox.stuck(nowMs) },
            nowMs
          )
          const facts = { endpoint: ingress.endpoint, resources: supervisor.size() }
          return problems.length === 0
            ? Effect.succeed({ ready: true as const, ...facts })
            : Effect.fail(new NotReady({ ready: false, problems, ...facts }))
        }))
    })
  )
  return Layer.mergeAll(resources, events, health)
}

/** What is not JSON: health text, Prometheus metrics and the SSE feed (the dashboard's files: dashboardFiles.ts). */
const layerPlainRoutes = (settings: HttpSettings) =>
  HttpRouter.use((router) =>
    Effect.gen(function*() {
      const feed = yield* LiveFeed
      const feedSockets = yield* FeedSockets
      const access = makeAccess(settings)
      const prometheus = makePrometheus()
      yield* processMetrics
      const admitSse = yield* makeSseAdmission(() => feed.subscribers() - feedSockets.clients())
      const readable = <E, R>(handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
        Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
          access.mayRead(request.headers["authorization"]) ? handler : Effect.succeed(jsonError(401, access.readMessage)))

      yield* router.add("GET", "/healthz", HttpServerResponse.text("ok\n"))
      yield* router.add("GET", "/metrics", readable(
        Effect.map(prometheus, (text) => HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" }))
      ))
      // The same feed over WebSocket, with subscribe filters (FeedSocket.ts).
      yield* router.add("GET", "/api/feed/ws", readable(feedSockets.handle))
      // ?heartbeats=0: status changes without routine heartbeats (LiveFeed.ts, FeedFilter.heartbeats).
      yield* router.add("GET", "/api/feed", readable(admitSse(
        Effect.map(HttpServerRequest.HttpServerRequest, (request) => HttpServerResponse.stream(Stream.unwrap(feed.subscribe({
          heartbeats: new URL(request.url, "http://feed").searchParams.get("heartbeats") !== "0"
        })), {
          contentType: "text/event-stream",
          headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
        }))
      )))

    })
  )

/**
 * The receiver's HTTP side (enabled by `http:` in receiver.yaml): the REST API from its typed
 * definition (`StatusApi`, OpenAPI at /api/openapi.json), Prometheus metrics, the live feed and the
 * dashboard, on one loopback port by default.
 */
export const layerStatusRoutes = (settings: HttpSettings) =>
  Layer.mergeAll(
    HttpApiBuilder.layer(StatusApi, { openapiPath: "/api/openapi.json" }).pipe(Layer.provide(layerApiHandlers(settings))),
    layerPlainRoutes(settings),
    layerDashboardFiles,
    layerCachedAnswers
  )

/**
 * A resource name may be 512 characters, up to 12 bytes each once percent-encoded: the router's
 * default (100) would make long names unreachable. (Also the ping server's.)
 */
export const longNames = { maxParamLength: maxResourceNameLength * 12 }

/**
 * The HTTP(S) server on `settings.host:port` serving the status routes and `extraRoutes` (the ping
 * ingress when it has no address of its own), with the limits of `nodeServer.ts`.
 */
export const layerStatusHttp = <E, R>(
  settings: HttpSettings,
  tls: { readonly tlsCert: string | undefined; readonly tlsKey: string | undefined },
  extraRoutes: Layer.Layer<never, E, R>
) =>
  HttpRouter.serve(Layer.mergeAll(layerStatusRoutes(settings), extraRoutes, layerRequestBounds("api")), {
    disableLogger: true,
    disableListenLog: true,
    routerConfig: longNames
  }).pipe(
    Layer.provideMerge(layerNodeServer("api", { port: settings.port, host: settings.host, ...tls }))
  )
