import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import { readFile } from "node:fs/promises"
import { createServer, type Server } from "node:http"
import { createServer as createTlsServer } from "node:https"
import { liveCounter } from "../support/liveMetrics.ts"
import { securityHeaders } from "./requestBounds.ts"

/**
 * The bounds of every HTTP server of the receiver (API and ping ingress): a client that sends its
 * headers slowly (slowloris) is cut off after `headersTimeoutMs`, a whole request after
 * `requestTimeoutMs`; idle keep-alive connections close after `keepAliveTimeoutMs`; headers are at
 * most `maxHeaderBytes`; past `maxConnections` open connections new ones are dropped at once; a
 * WebSocket message is at most `maxWebSocketMessageBytes` (ws closes the connection, 1009: the
 * feed answers messages over 4 KiB with an error, and bigger ones are never buffered).
 */
export const httpServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxHeaderBytes: 16 * 1024,
  maxConnections: 1_000,
  maxWebSocketMessageBytes: 64 * 1024
} as const

/** The security headers as raw header lines, for the answers Node's parser makes before any route. */
const rawSecurityHeaders = Object.entries(securityHeaders).map(([name, value]) => `${name}: ${value}\r\n`).join("")

/** The TLS files of `http:` cannot be read or used. */
export class TlsFilesError extends Schema.TaggedError<TlsFilesError>()("TlsFilesError", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

export interface ServerSettings {
  readonly host: string
  readonly port: number
  /** PEM files: with both, the server speaks HTTPS. */
  readonly tlsCert: string | undefined
  readonly tlsKey: string | undefined
}

/**
 * A Node HTTP(S) server with the limits above, as effect's `HttpServer`. `name` labels its counters:
 * `http_client_errors_total{server}` (malformed requests, header or request timeouts: the
 * connection is answered 400/408 and closed) and `http_connections_dropped_total{server}`.
 */
export const layerNodeServer = (name: string, settings: ServerSettings) =>
  Layer.unwrap(Effect.gen(function*() {
    const tls = settings.tlsCert === undefined || settings.tlsKey === undefined ? undefined : yield* Effect.tryPromise({
      try: async () => ({ cert: await readFile(settings.tlsCert!), key: await readFile(settings.tlsKey!) }),
      catch: (error) => new TlsFilesError({ reason: `cannot read http.tls_cert / http.tls_key: ${(error as Error).message}` })
    })
    const options = {
      headersTimeout: httpServerLimits.headersTimeoutMs,
      requestTimeout: httpServerLimits.requestTimeoutMs,
      keepAliveTimeout: httpServerLimits.keepAliveTimeoutMs,
      maxHeaderSize: httpServerLimits.maxHeaderBytes,
      // How often Node checks those timeouts; its default (30 s) would let a slow client stay longer.
      connectionsCheckingInterval: 1000
    }
    let server: Server
    try {
      // An https.Server is an http.Server for everything effect's adapter uses (request and upgrade events).
      server = tls === undefined ? createServer(options) : createTlsServer({ ...options, ...tls }) as unknown as Server
    } catch (error) {
      return yield* new TlsFilesError({ reason: `cannot use the TLS certificate and key: ${(error as Error).message}` })
    }
    server.maxConnections = httpServerLimits.maxConnections
    let clientErrors = 0
    let dropped = 0
    server.on("clientError", (error: Error & { code?: string }, socket) => {
      clientErrors++
      const status = error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "408 Request Timeout" : error.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : "400 Bad Request"
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\n${rawSecurityHeaders}Connection: close\r\n\r\n`)
      else socket.destroy()
    })
    server.on("drop", () => {
      dropped++
    })
    yield* liveCounter("http_client_errors_total", "HTTP connections closed for a malformed or too slow request", () => clientErrors, { server: name })
    yield* liveCounter("http_connections_dropped_total", "HTTP connections refused past the connection limit", () => dropped, { server: name })
    return NodeHttpServer.layer(() => server, {
      port: settings.port,
      host: settings.host,
      websocket: { maxPayload: httpServerLimits.maxWebSocketMessageBytes }
    })
  }))
