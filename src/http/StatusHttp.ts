import { NodeHttpServer } from "@effect/platform-node"
import { Clock, Effect, Layer, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { createHash, timingSafeEqual } from "node:crypto"
import { readFileSync } from "node:fs"
import { createServer } from "node:http"
import { join } from "node:path"
import { ResourceSupervisor } from "../actors/ResourceSupervisor.ts"
import type { HttpSettings } from "../config/ReceiverConfig.ts"
import { Ingress } from "../ingress/ZmqIngress.ts"
import { NotificationJournal } from "../notify/NotificationJournal.ts"
import { HeartbeatRouter } from "../routing/HeartbeatRouter.ts"
import { CheckAlerts } from "../checkAlerts/CheckAlerts.ts"
import { LiveFeed } from "./LiveFeed.ts"
import { makePrometheus } from "./metrics.ts"
import { type ResourceStatus, resourceStatuses } from "../monitor/resourceStatus.ts"
import { viewOf } from "./resourceView.ts"

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

const positiveInt = (text: string | null, fallback: number, max: number): number | undefined => {
  if (text === null) return fallback
  const value = Number(text)
  return Number.isInteger(value) && value >= 0 && value <= max ? value : undefined
}

const dashboardDir = join(import.meta.dirname, "dashboard")
const asset = (file: string) => readFileSync(join(dashboardDir, file), "utf8")

/**
 * The receiver's HTTP side (enabled by `http:` in receiver.yaml): status API, admin actions,
 * Prometheus metrics, the live feed and the dashboard, on one loopback port by default.
 */
export const layerStatusRoutes = (settings: HttpSettings) =>
  HttpRouter.use((router) =>
    Effect.gen(function*() {
      const supervisor = yield* ResourceSupervisor
      const journal = yield* NotificationJournal
      const engine = yield* HeartbeatRouter
      const checkAlerts = yield* CheckAlerts
      const ingress = yield* Ingress
      const feed = yield* LiveFeed
      const clock = yield* Clock.Clock
      const prometheus = makePrometheus()

      const adminTokens = settings.adminToken === undefined ? [] : [digest(settings.adminToken)]
      const readTokens = settings.readToken === undefined ? [] : [digest(settings.readToken), ...adminTokens]
      const authorization = (request: HttpServerRequest.HttpServerRequest) => request.headers["authorization"]
      /** Runs `handler` when reads are open or the request carries the read (or admin) token. */
      const readable = <E, R>(handler: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
        (request: HttpServerRequest.HttpServerRequest) =>
          readTokens.length === 0 || bearerMatches(authorization(request), readTokens)
            ? handler(request)
            : Effect.succeed(jsonError(401, "this receiver needs a Bearer token to read (http.read_token)"))
      const query = (request: HttpServerRequest.HttpServerRequest) => new URL(request.url, "http://receiver").searchParams
      const moment = () => supervisor.moment(clock.currentTimeMillisUnsafe())

      yield* router.add("GET", "/healthz", HttpServerResponse.text("ok\n"))
      yield* router.add("GET", "/readyz", Effect.sync(() =>
        HttpServerResponse.jsonUnsafe({ ready: true, endpoint: ingress.endpoint, resources: supervisor.size() })))

      yield* router.add("GET", "/metrics", readable(() =>
        Effect.map(prometheus, (text) => HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" }))))

      yield* router.add("GET", "/api/resources", readable((request) =>
        Effect.sync(() => {
          const params = query(request)
          const client = params.get("client")
          const status = params.get("status")
          if (status !== null && !resourceStatuses.includes(status as ResourceStatus)) {
            return jsonError(400, `status must be one of ${resourceStatuses.join(", ")}, got "${status}"`)
          }
          const limit = positiveInt(params.get("limit"), 10_000, 1_000_000)
          const offset = positiveInt(params.get("offset"), 0, Number.MAX_SAFE_INTEGER)
          if (limit === undefined || offset === undefined) return jsonError(400, "limit and offset must be whole numbers")
          const now = moment()
          const views = []
          for (const actor of supervisor.actors()) {
            if (client !== null && actor.profile.client !== client) continue
            const view = viewOf(actor.profile, actor.state, now)
            if (status !== null && view.status !== status) continue
            views.push(view)
          }
          views.sort((a, b) => a.client.localeCompare(b.client) || a.resource.localeCompare(b.resource))
          return HttpServerResponse.jsonUnsafe(views.slice(offset, offset + limit), {
            headers: { "x-total-count": String(views.length) }
          })
        })))

      yield* router.add("GET", "/api/resources/:client/:resource", readable(() =>
        Effect.map(HttpRouter.params, (params) => {
          const actor = supervisor.find(params["client"] ?? "", params["resource"] ?? "")
          if (actor === undefined) return jsonError(404, "no such resource")
          return HttpServerResponse.jsonUnsafe({
            ...viewOf(actor.profile, actor.state, moment()),
            payload: actor.state.payload ?? null,
            checks: checkAlerts.checksOf(actor.profile.client, actor.profile.resource).map((check) => ({
              name: check.name,
              level: check.level,
              value: check.value,
              text: check.text,
              source: check.source,
              since: new Date(check.sinceMs).toISOString(),
              reportedAt: new Date(check.reportedAtMs).toISOString()
            })),
            recentEvents: journal.recent({ limit: 20, client: actor.profile.client, resource: actor.profile.resource })
              .map((entry) => ({ seq: entry.seq, at: new Date(entry.atMs).toISOString(), ...entry.notification }))
          })
        })))

      yield* router.add("POST", "/api/resources/:client/:resource/:action", (request) =>
        Effect.gen(function*() {
          if (adminTokens.length === 0) return jsonError(403, "admin actions are disabled: set http.admin_token")
          if (!bearerMatches(authorization(request), adminTokens)) return jsonError(401, "admin token required (Authorization: Bearer ...)")
          const params = yield* HttpRouter.params
          const client = params["client"] ?? ""
          const resource = params["resource"] ?? ""
          const action = params["action"]
          if (action === "deregister") {
            if (supervisor.find(client, resource) === undefined) return jsonError(404, "no such resource")
            yield* engine.deregister(client, resource)
            yield* Effect.logInfo("resource deregistered through the API", { client, resource })
            return HttpServerResponse.jsonUnsafe({ ok: true, action, client, resource })
          }
          if (action === "pause" || action === "resume") {
            if (!supervisor.setPaused(client, resource, action === "pause")) return jsonError(404, "no such resource")
            yield* Effect.logInfo(`resource ${action}d through the API`, { client, resource })
            return HttpServerResponse.jsonUnsafe({ ok: true, action, client, resource })
          }
          return jsonError(404, `unknown action "${action}": use deregister, pause or resume`)
        }))

      yield* router.add("GET", "/api/events", readable((request) =>
        Effect.sync(() => {
          const params = query(request)
          const limit = positiveInt(params.get("limit"), 50, 1000)
          const beforeText = params.get("before")
          const before = beforeText === null ? undefined : positiveInt(beforeText, 0, Number.MAX_SAFE_INTEGER)
          if (limit === undefined || (beforeText !== null && before === undefined)) {
            return jsonError(400, "limit (at most 1000) and before must be whole numbers")
          }
          const entries = journal.recent({
            limit,
            before,
            client: params.get("client") ?? undefined,
            resource: params.get("resource") ?? undefined
          })
          return HttpServerResponse.jsonUnsafe({
            items: entries.map((entry) => ({ seq: entry.seq, at: new Date(entry.atMs).toISOString(), ...entry.notification })),
            next: entries.length === limit ? entries[entries.length - 1]!.seq : null
          })
        })))

      yield* router.add("GET", "/api/feed", readable(() =>
        Effect.succeed(HttpServerResponse.stream(Stream.unwrap(feed.subscribe), {
          contentType: "text/event-stream",
          headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
        }))))

      const page = asset("index.html")
      const script = asset("app.js")
      const style = asset("style.css")
      yield* router.add("GET", "/", HttpServerResponse.text(page, { contentType: "text/html; charset=utf-8" }))
      yield* router.add("GET", "/app.js", HttpServerResponse.text(script, { contentType: "text/javascript; charset=utf-8" }))
      yield* router.add("GET", "/style.css", HttpServerResponse.text(style, { contentType: "text/css; charset=utf-8" }))
    })
  )

/** The HTTP server on `settings.host:port` serving the status routes. */
export const layerStatusHttp = (settings: HttpSettings) =>
  HttpRouter.serve(layerStatusRoutes(settings), { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: settings.port, host: settings.host }))
  )
