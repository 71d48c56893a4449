import { Clock, Effect, Layer, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { ResourceSupervisor } from "../actors/ResourceSupervisor.ts"
import type { HttpSettings } from "../config/ReceiverConfig.ts"
import { Ingress } from "../ingress/ZmqIngress.ts"
import { type JournalEntry, NotificationJournal } from "../notify/NotificationJournal.ts"
import { CheckAlerts } from "../checkAlerts/CheckAlerts.ts"
import { HeartbeatRouter } from "../routing/HeartbeatRouter.ts"
import { FeedScope, LiveFeed } from "./LiveFeed.ts"
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
import { BadRequest, Forbidden, NotFound, NotReady, StatusApi } from "./StatusApi.ts"
import { coversOf, HttpAuth, layerHttpAuth } from "./auth/HttpAuth.ts"
import { layerAuthRoutes } from "./auth/authRoutes.ts"
import type { Action, Principal } from "../monitor/access.ts"
import { readinessProblems } from "./readiness.ts"
import { DynDns } from "../dyndns/DynDns.ts"
import { StatePersistence } from "../store/StatePersistence.ts"
import { layerHistoryHandlers } from "./historyHandlers.ts"
import { layerSilenceHandlers } from "./silenceHandlers.ts"
import { Outbox } from "../notify/Outbox.ts"
import { layerRequestBounds, makeSseAdmission } from "./requestBounds.ts"

const jsonError = (status: number, error: string) => HttpServerResponse.jsonUnsafe({ error }, { status })

const eventItem = (entry: JournalEntry) => ({ seq: entry.seq, at: isoOrNull(entry.atMs) ?? "", ...entry.notification })


/** The REST API (`StatusApi`): resources, admin actions, events, readiness. */
const layerApiHandlers = () => {
  const resources = HttpApiBuilder.group(
    StatusApi,
    "resources",
    Effect.fn(function*(handlers) {
      const auth = yield* HttpAuth
      const supervisor = yield* ResourceSupervisor
      const journal = yield* NotificationJournal
      const router = yield* HeartbeatRouter
      const dyndns = yield* DynDns
      const checkAlerts = yield* CheckAlerts
      const answers = yield* makeResourceAnswers
      const clock = yield* Clock.Clock
      const moment = () => supervisor.moment(monotonicMillis(clock))
      return handlers
        .handleRaw("list", ({ query }) =>
          Effect.gen(function*() {
            const who = yield* auth.check("read")
            // The index answers (ResourceIndex.ts, resourceAnswers.ts); raw: totals and cursors go in headers.
            const answer = yield* answers.list(query, coversOf(who))
            if ("error" in answer) return yield* Effect.fail(new BadRequest({ error: answer.error }))
            return answer.response
          }))
        .handle("summary", () => Effect.map(auth.check("read"), (who) => answers.summary(coversOf(who))))
        .handle("get", ({ params }) =>
          Effect.gen(function*() {
            yield* auth.check("read", params.client)
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
        .handle("act", ({ params }) =>
          Effect.gen(function*() {
            const { client, resource, action } = params
            // The role and the client scope decide (monitor/access.ts); an unknown action is a 404 for whoever may read.
            yield* auth.check(action === "deregister" || action === "pause" || action === "resume" || action === "dyndns" ? action : "read", client)
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
            if (action === "dyndns") {
              // Dynamic DNS (issue 18.4): the resource's records sent again with the addresses last heard.
              const outcome = dyndns.reregister(client, resource, monotonicMillis(clock))
              if (outcome === "not_configured") return yield* Effect.fail(new NotFound({ error: "this resource has no dyndns: settings" }))
              if (outcome === "no_address") return yield* Effect.fail(new NotFound({ error: "no address heard from this resource since the receiver started; its next heartbeat writes the record" }))
              yield* Effect.logInfo("dynamic DNS re-registration asked through the API", { client, resource })
              return { ok: true, action, client, resource }
            }
            return yield* Effect.fail(new NotFound({ error: `unknown action "${action}": use deregister, pause, resume or dyndns` }))
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
  return Layer.mergeAll(resources, layerHistoryHandlers, layerSilenceHandlers, health)
}

/** What is not JSON: health text, Prometheus metrics and the SSE feed (the dashboard's files: dashboardFiles.ts). */
const layerPlainRoutes = HttpRouter.use((router) =>
    Effect.gen(function*() {
      const feed = yield* LiveFeed
      const feedSockets = yield* FeedSockets
      const auth = yield* HttpAuth
      const prometheus = makePrometheus()
      yield* processMetrics
      const admitSse = yield* makeSseAdmission(() => feed.subscribers() - feedSockets.clients())
      /** The handler for whoever may do `action` (HttpAuth); the feeds see only the principal's clients (FeedScope). */
      const allowed = <E, R>(action: Action, handler: (who: Principal) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
        auth.check(action).pipe(
          Effect.matchEffect({
            onFailure: (refused) => Effect.succeed(jsonError(refused instanceof Forbidden ? 403 : refused instanceof NotFound ? 404 : 401, refused.error)),
            onSuccess: (who) => Effect.provideService(handler(who), FeedScope, who.scope.covers)
          })
        )
      const readable = <E, R>(handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) => allowed("read", () => handler)

      yield* router.add("GET", "/healthz", HttpServerResponse.text("ok\n"))
      // Metrics count every client: only for whoever covers every client.
      yield* router.add("GET", "/metrics", allowed("metrics", () =>
        Effect.map(prometheus, (text) => HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" }))
      ))
      // The same feed over WebSocket, with subscribe filters (FeedSocket.ts).
      yield* router.add("GET", "/api/feed/ws", readable(feedSockets.handle))
      // ?heartbeats=0: status changes without routine heartbeats (LiveFeed.ts, FeedFilter.heartbeats).
      yield* router.add("GET", "/api/feed", allowed("read", (who) => admitSse(
        Effect.map(HttpServerRequest.HttpServerRequest, (request) => HttpServerResponse.stream(Stream.unwrap(feed.subscribe({
          heartbeats: new URL(request.url, "http://feed").searchParams.get("heartbeats") !== "0"
        }).pipe(Effect.provideService(FeedScope, who.scope.covers))), {
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
    HttpApiBuilder.layer(StatusApi, { openapiPath: "/api/openapi.json" }).pipe(Layer.provide(layerApiHandlers())),
    layerPlainRoutes,
    layerAuthRoutes,
    layerDashboardFiles,
    layerCachedAnswers
  ).pipe(Layer.provide(layerHttpAuth(settings)))

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
