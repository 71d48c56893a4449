import { Effect } from "effect"
import { HttpEffect, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { liveCounter } from "../support/liveMetrics.ts"

/**
 * Sent with every answer of the receiver's HTTP servers (issue 13.9), errors and 404s included: the
 * dashboard's script and style come from files of the receiver only (no inline script, no other
 * origin), no page may frame it, browsers must not guess content types, and no URL (a read token in
 * a fragment never is, but a ping's `?token=` is) leaks through a Referer header.
 */
export const securityHeaders: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer"
}

/**
 * The bounds every route of both HTTP servers shares, on top of the server's own (nodeServer.ts):
 * a request declaring a body over `maxBodyBytes` is answered 413 unread and its connection closed
 * (no route takes more: a ping's body is cut at 10 KiB by its own limit), and at most
 * `maxSseClients` browsers follow the SSE feed at once (more get 503).
 */
export const httpRequestLimits = {
  maxBodyBytes: 64 * 1024,
  maxSseClients: 256
} as const

const withSecurityHeaders = (_request: HttpServerRequest.HttpServerRequest, response: HttpServerResponse.HttpServerResponse) =>
  Effect.succeed(HttpServerResponse.setHeaders(response, securityHeaders))

/** The declared body length: a number, or 0 when there is none (a chunked body is cut by the route that reads it). */
const declaredLength = (request: HttpServerRequest.HttpServerRequest): number => {
  const header = request.headers["content-length"]
  if (header === undefined) return 0
  const length = Number(header)
  return Number.isFinite(length) ? length : Number.POSITIVE_INFINITY
}

/**
 * Global middleware of one HTTP server (`server` labels its counter): the security headers on every
 * answer, through a pre-response hook so that answers made from failures (404, 401, 503, a defect's
 * 500) carry them too, and the body bound, counted in `http_requests_refused_total{server,reason}`.
 */
export const layerRequestBounds = (server: string) =>
  HttpRouter.middleware(
    Effect.gen(function*() {
      let bodyTooLarge = 0
      yield* liveCounter(
        "http_requests_refused_total",
        "HTTP requests refused before their route ran, by reason",
        () => bodyTooLarge,
        { server, reason: "body_too_large" }
      )
      return (httpEffect) =>
        HttpEffect.withPreResponseHandler(
          Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
            if (declaredLength(request) <= httpRequestLimits.maxBodyBytes) return httpEffect
            bodyTooLarge++
            return Effect.succeed(HttpServerResponse.jsonUnsafe(
              { error: `request bodies are limited to ${httpRequestLimits.maxBodyBytes} bytes` },
              { status: 413, headers: { connection: "close" } }
            ))
          }),
          withSecurityHeaders
        )
    }),
    { global: true }
  )

/**
 * Admission to the SSE feed: at most `maxSseClients` at once, refusals counted in
 * `feed_sse_refused_total`. `openSubscriptions` reads how many follow it now.
 */
export const makeSseAdmission = (openSubscriptions: () => number) =>
  Effect.gen(function*() {
    let refused = 0
    yield* liveCounter("feed_sse_refused_total", "SSE feed requests refused because the feed had its maximum of clients", () => refused)
    return <E, R>(open: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
      Effect.suspend(() => {
        if (openSubscriptions() < httpRequestLimits.maxSseClients) return open
        refused++
        return Effect.succeed(HttpServerResponse.jsonUnsafe(
          { error: `the feed has ${httpRequestLimits.maxSseClients} SSE clients already` },
          { status: 503 }
        ))
      })
  })
