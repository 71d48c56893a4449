import { ByteSize, Clock, Context, Effect, Layer, Option } from "effect"
import { HttpIncomingMessage, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { registerIngressMetrics } from "../ingress/frameHandling.ts"
import { IngressStats } from "../ingress/IngressStats.ts"
import { MessageJournal } from "../ingress/MessageJournal.ts"
import { SourceRateLimiter } from "../ingress/SourceRateLimiter.ts"
import { interpretHeartbeat } from "../domain/Heartbeat.ts"
import type { RunSignal } from "../monitor/runRules.ts"
import { HeartbeatRouter } from "../routing/HeartbeatRouter.ts"
import { monotonicMillis } from "../support/monotonicTime.ts"
import { liveCounter } from "../support/liveMetrics.ts"

/** A ping's body (payload.log, or a JSON payload) is read up to this many bytes; more is refused with 413. */
export const pingBodyLimitBytes = 10 * 1024
/** Pings per second one source address may send, after a burst; more get 429. */
export const pingRatePerSource = 20
export const pingBurstPerSource = 40
/** Source addresses the ping limiter remembers (least recently seen forgotten first). */
export const pingMaxSources = 10_000

/** What the last path segment asks: nothing (a success), start, fail, or an exit code. */
export const parsePingSignal = (segment: string | undefined): "success" | "start" | "fail" | number | undefined => {
  if (segment === undefined || segment === "") return "success"
  if (segment === "start" || segment === "fail") return segment
  if (!/^\d{1,3}$/.test(segment)) return undefined
  const code = Number(segment)
  return code <= 255 ? (code === 0 ? "success" : code) : undefined
}

/** The token of a ping: `Authorization: Bearer ...`, else `?token=` (weaker: it ends up in URLs and proxy logs). */
export const pingToken = (authorization: string | undefined, query: URLSearchParams): string | undefined => {
  if (authorization !== undefined && authorization.startsWith("Bearer ")) return authorization.slice("Bearer ".length).trim()
  const token = query.get("token")
  return token === null || token === "" ? undefined : token
}

/** The HTTP ping ingress: its counters and the one handler both HTTP servers mount. */
export class PingIngress extends Context.Service<PingIngress, {
  readonly handle: Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest | HttpRouter.RouteContext>
  readonly counters: () => ReturnType<IngressStats["snapshot"]>
}>()("heartbeat-mesh/http/PingIngress") {}

const answer = (status: number, text: string) => HttpServerResponse.text(`${text}\n`, { status })

/**
 * `GET|POST /ping/<resource>[/start|/fail|/<exit code>]` (issue 19): the cron job's own signals,
 * authenticated and validated like a ZeroMQ heartbeat (the same token index and field checks), then
 * handed to the resource's actor as a run signal (src/monitor/runRules.ts). A body up to 10 KiB
 * becomes `payload.log` (a JSON object sent as application/json becomes the payload). Counted as
 * `ingress_*_total{transport="http"}`; each source address is rate limited.
 */
export const layerPingIngress = Layer.effect(
  PingIngress,
  Effect.gen(function*() {
    const router = yield* HeartbeatRouter
    const journal = yield* MessageJournal
    const clock = yield* Clock.Clock
    const stats = new IngressStats()
    const limiter = new SourceRateLimiter({ ratePerSecond: pingRatePerSource, burst: pingBurstPerSource, maxSources: pingMaxSources })
    let rateLimited = 0
    yield* registerIngressMetrics("http", stats, { rate_limited: () => rateLimited })
    yield* liveCounter("http_ping_rate_limit_evictions_total", "Source addresses forgotten to keep the ping rate limiter in bounds", () => limiter.evicted)

    /**
     * The request as the message journal keeps it: method, path, query and payload, never the
     * token (the Authorization header is not kept; `token` is taken out of the query).
     */
    const journalFrame = (request: HttpServerRequest.HttpServerRequest, payload: Record<string, unknown> | undefined) => {
      const url = new URL(request.url, "http://receiver")
      const query = Object.fromEntries([...url.searchParams].filter(([key]) => key !== "token"))
      return { method: request.method, path: url.pathname, query, ...(payload === undefined ? {} : { payload }) }
    }

    /** What became of a ping: the answer, and for the journal why it was refused and what it carried. */
    interface PingOutcome {
      readonly response: HttpServerResponse.HttpServerResponse
      readonly reason: string | undefined
      readonly payload?: Record<string, unknown> | undefined
    }

    const rejected = (
      reason: Parameters<IngressStats["reject"]>[0],
      nowMs: number,
      status: number,
      text: string,
      details: Record<string, unknown> = {},
      payload?: Record<string, unknown>
    ) =>
      Effect.gen(function*() {
        const skipped = stats.reject(reason, nowMs)
        if (skipped !== undefined) yield* Effect.logWarning("heartbeat rejected", { transport: "http", reason, ...details, similarSinceLastLog: skipped })
        return { response: answer(status, text), reason, payload } satisfies PingOutcome
      })

    const handle = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const nowMs = monotonicMillis(clock)
      const outcome = yield* handleRequest(request, nowMs)
      if (journal.enabled) {
        journal.record(
          "http",
          Option.getOrElse(request.remoteAddress, () => null),
          journalFrame(request, outcome.payload),
          Number(request.headers["content-length"] ?? 0) || 0,
          outcome.reason === undefined ? "accepted" : "rejected",
          outcome.reason,
          nowMs
        )
      }
      return outcome.response
    })

    const handleRequest = (request: HttpServerRequest.HttpServerRequest, nowMs: number) => Effect.gen(function*() {
      const params = yield* HttpRouter.params
      stats.received++
      const source = Option.getOrElse(request.remoteAddress, () => "unknown")
      if (!limiter.allow(source, nowMs)) {
        rateLimited++
        return { response: answer(429, "too many pings from this address"), reason: "rate_limited" } satisfies PingOutcome
      }
      const url = new URL(request.url, "http://receiver")
      const signal = parsePingSignal(params["signal"])
      if (signal === undefined) {
        return yield* rejected("invalid_field", nowMs, 400, "the last part must be start, fail or an exit code 0-255")
      }
      const token = pingToken(request.headers["authorization"], url.searchParams)
      let payload: Record<string, unknown> = {}
      if (request.method === "POST") {
        const body = yield* request.text.pipe(
          Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(pingBodyLimitBytes)),
          Effect.map((text): string | undefined => text),
          Effect.catch(() => Effect.succeed(undefined))
        )
        if (body === undefined) return yield* rejected("oversized", nowMs, 413, `the body is limited to ${pingBodyLimitBytes} bytes`)
        if ((request.headers["content-type"] ?? "").startsWith("application/json") && body !== "") {
          let parsed: unknown
          try {
            parsed = JSON.parse(body)
          } catch {
            return yield* rejected("not_json", nowMs, 400, "the body is not JSON (Content-Type: application/json)")
          }
          if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
            return yield* rejected("not_object", nowMs, 400, "a JSON body must be an object (it becomes the payload)")
          }
          payload = parsed as Record<string, unknown>
        } else if (body !== "") payload = { log: body }
      }
      if (typeof signal === "number") payload = { ...payload, exit_code: signal }
      const timeoutText = url.searchParams.get("timeout")
      // Read like a frame (compat: domain/Heartbeat.ts): the same name rules, payload bounds and
      // timeout range; an unusable ?timeout= is a repair (the client's timeout applies), not a refusal.
      const interpreted = interpretHeartbeat({
        token: token ?? "",
        resource: params["resource"] ?? "",
        payload,
        ...(timeoutText === null ? {} : { timeout: timeoutText })
      }, "")
      if (!interpreted.ok) {
        return yield* rejected(interpreted.problem, nowMs, token === undefined ? 401 : 400, token === undefined
          ? "a token is needed: Authorization: Bearer <token> (or ?token=)"
          : interpreted.detail, {}, payload)
      }
      const heartbeat = interpreted.heartbeat
      const facts = { resource: heartbeat.resource, timeoutMinutes: heartbeat.timeout ?? undefined, payload: heartbeat.payload ?? undefined }
      const runSignal: RunSignal = signal === "start"
        ? { kind: "start" }
        : signal === "success"
        ? { kind: "success", heartbeat: facts }
        : { kind: "fail", heartbeat: facts, exitCode: signal === "fail" ? undefined : signal }
      const outcome = router.acceptSignal(heartbeat.token, heartbeat.resource, runSignal, nowMs, source)
      if (outcome === "unknown_token") {
        return yield* rejected("unknown_token", nowMs, 401, "unknown token", { resource: heartbeat.resource.slice(0, 120) }, payload)
      }
      if (outcome === "new_resource_limit") {
        return yield* rejected("new_resource_limit", nowMs, 429, "this client may not add more resources now", { resource: heartbeat.resource.slice(0, 120) })
      }
      stats.accepted++
      for (const reason of interpreted.repairs) {
        const skipped = stats.repair(reason, nowMs)
        if (skipped !== undefined) {
          yield* Effect.logWarning("heartbeat taken with a repair", { transport: "http", reason, resource: heartbeat.resource.slice(0, 120), similarSinceLastLog: skipped })
        }
      }
      return { response: answer(200, "OK"), reason: undefined, payload } satisfies PingOutcome
    })

    return PingIngress.of({ handle, counters: () => stats.snapshot() })
  })
)

/** The ping routes, for whichever HTTP server carries them. */
export const layerPingRoutes = HttpRouter.use((router) =>
  Effect.gen(function*() {
    const ping = yield* PingIngress
    for (const method of ["GET", "POST"] as const) {
      yield* router.add(method, "/ping/:resource", ping.handle)
      yield* router.add(method, "/ping/:resource/:signal", ping.handle)
    }
  })
)
