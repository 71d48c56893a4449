import { ByteSize, Clock, Context, Effect, Layer, Option } from "effect"
import { HttpIncomingMessage, HttpServerRequest, HttpServerResponse } from "effect/http"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import type { HttpSettings } from "../../config/ReceiverConfig.ts"
import type { UserConfig } from "../../config/usersConfig.ts"
import { type Action, adminTokenHolder, decide, openReader, type Principal, readTokenHolder } from "../../monitor/access.ts"
import { SourceRateLimiter } from "../../ingress/SourceRateLimiter.ts"
import { liveCounter, liveGauge } from "../../support/liveMetrics.ts"
import { scryptDefaults, type ScryptHash, tokenDigest, verifyPassword } from "../../support/passwordHash.ts"
import { Forbidden, NotFound, Unauthorized } from "../StatusApi.ts"
import { indexUsers, UserDirectory } from "./UserDirectory.ts"

/**
 * The bounds of logins and sessions (README "Users and roles"): a session lasts `sessionLifetimeMs`
 * and at most `maxSessions` are kept (the oldest is ended first); failed logins are limited per
 * source address and per user name to a burst of `loginBurst`, then one per `loginRefillMs`
 * (answered 429 without checking the password); the login body is at most `loginBodyBytes`.
 */
export const authLimits = {
  sessionLifetimeMs: 12 * 3600_000,
  maxSessions: 10_000,
  loginBurst: 5,
  loginRefillMs: 12_000,
  loginTrackedKeys: 10_000,
  loginBodyBytes: 4096
} as const

export const sessionCookie = "heartbeat_mesh_session"
export const csrfHeader = "x-csrf-token"

const readMessage = "this receiver needs a Bearer token to read (http.read_token)"
const signInMessage = "sign in (POST /api/login) or send a Bearer token (http.read_token or a user's API token)"
const actMessage = "admin token required (Authorization: Bearer ...)"
const csrfMessage = `missing or wrong ${csrfHeader} header: a change made with a session cookie needs the session's CSRF token (GET /api/session)`

const digest = (text: string) => createHash("sha256").update(text).digest()

/** Compares a presented token with the accepted ones in constant time (fixed-length digests). */
const matchesAny = (presented: Buffer, accepted: ReadonlyArray<Buffer>) => {
  let match = false
  for (const candidate of accepted) match = timingSafeEqual(presented, candidate) || match
  return match
}

const bearerOf = (request: HttpServerRequest.HttpServerRequest): string | undefined => {
  const authorization = request.headers["authorization"]
  return authorization !== undefined && authorization.startsWith("Bearer ") ? authorization.slice("Bearer ".length).trim() : undefined
}

const mutating = (method: string) => method !== "GET" && method !== "HEAD" && method !== "OPTIONS"

interface Session {
  readonly user: string
  readonly csrf: string
  readonly csrfDigest: Buffer
  readonly expiresMs: number
}

const principalOf = (user: UserConfig, via: Principal["via"]): Principal => ({ name: user.name, role: user.role, scope: user.scope, via })

/** The clients `who` may see, as a filter; undefined when that is every client (no filtering to do). */
export const coversOf = (who: Principal): ((client: string) => boolean) | undefined => who.scope.all ? undefined : who.scope.covers

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  HttpServerResponse.jsonUnsafe(body, { status, headers: { "cache-control": "no-store", ...headers } })

/**
 * Who a request is and what it may do (issue 18.3). A request proves itself with a Bearer token
 * (`http.admin_token`: admin of every client; `http.read_token`: viewer of every client; a user's
 * API token: that user) or with a dashboard session cookie (HttpOnly, SameSite=Strict) from
 * `POST /api/login`; a change made with a session must carry the session's CSRF token in
 * `X-CSRF-Token`. Reads are open only while neither a read token nor users are configured.
 */
export class HttpAuth extends Context.Service<HttpAuth, {
  /** Whoever the request proves to be; undefined for nobody (open reads give the anonymous viewer). */
  readonly identify: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<Principal | undefined, Forbidden>
  /** The principal when it may do `action` (on `client`); a client outside its scope is answered 404. */
  readonly require: (
    request: HttpServerRequest.HttpServerRequest,
    action: Action,
    client?: string
  ) => Effect.Effect<Principal, Unauthorized | Forbidden | NotFound>
  /** `require` for the request being served. */
  readonly check: (action: Action, client?: string) => Effect.Effect<Principal, Unauthorized | Forbidden | NotFound, HttpServerRequest.HttpServerRequest>
  /** `POST /api/login`, `POST /api/logout`, `GET /api/session` (authRoutes.ts). */
  readonly login: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<HttpServerResponse.HttpServerResponse>
  readonly logout: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<HttpServerResponse.HttpServerResponse>
  readonly session: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<HttpServerResponse.HttpServerResponse>
}>()("heartbeat-mesh/http/HttpAuth") {}

export const layerHttpAuth = (settings: HttpSettings) =>
  Layer.effect(
    HttpAuth,
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      // The directory a reload updates (UserDirectory.ts); without one, the users the server started with.
      const directory = yield* Effect.serviceOption(UserDirectory)
      const fixed = indexUsers(settings.users ?? [])
      const current = Option.isSome(directory) ? directory.value.current : () => fixed
      const adminTokens = settings.adminToken === undefined ? [] : [digest(settings.adminToken)]
      const readTokens = settings.readToken === undefined ? [] : [digest(settings.readToken)]
      const haveUsers = () => current().list.length > 0
      const openReads = () => readTokens.length === 0 && !haveUsers()
      const canAct = () => adminTokens.length > 0 || haveUsers()
      // Checked when the user name is unknown or has no password, so that a miss costs what a hit does.
      const decoy: ScryptHash = { ...scryptDefaults, salt: randomBytes(16), hash: randomBytes(32) }

      const sessions = new Map<string, Session>()
      const limiter = new SourceRateLimiter({
        ratePerSecond: 1000 / authLimits.loginRefillMs,
        burst: authLimits.loginBurst,
        maxSources: authLimits.loginTrackedKeys
      })
      const counts = { ok: 0, failed: 0, limited: 0, csrf: 0, evicted: 0 }

      yield* liveCounter("auth_logins_total", "Dashboard logins, by outcome (limited: refused by the failed-login limit)", () => counts.ok, { outcome: "ok" })
      yield* liveCounter("auth_logins_total", "Dashboard logins, by outcome (limited: refused by the failed-login limit)", () => counts.failed, { outcome: "failed" })
      yield* liveCounter("auth_logins_total", "Dashboard logins, by outcome (limited: refused by the failed-login limit)", () => counts.limited, { outcome: "limited" })
      yield* liveCounter("auth_csrf_refused_total", "Changes made with a session cookie refused for a missing or wrong CSRF token", () => counts.csrf)
      yield* liveCounter("auth_sessions_evicted_total", "Sessions ended early to keep at most 10,000", () => counts.evicted)
      yield* liveGauge("auth_sessions", "Dashboard sessions open", () => sessions.size)

      const now = () => clock.currentTimeMillisUnsafe()

      const sessionOf = (request: HttpServerRequest.HttpServerRequest): { key: string; session: Session; user: UserConfig } | undefined => {
        const id = request.cookies[sessionCookie]
        if (id === undefined || id === "") return undefined
        const key = digest(id).toString("hex")
        const session = sessions.get(key)
        if (session === undefined) return undefined
        const user = current().byName.get(session.user)
        if (session.expiresMs <= now() || user === undefined) {
          sessions.delete(key)
          return undefined
        }
        return { key, session, user }
      }

      const identify = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Principal | undefined, Forbidden> => {
        const bearer = bearerOf(request)
        if (bearer !== undefined) {
          const presented = digest(bearer)
          if (matchesAny(presented, adminTokens)) return Effect.succeed(adminTokenHolder)
          if (matchesAny(presented, readTokens)) return Effect.succeed(readTokenHolder)
          const user = current().byToken.get(tokenDigest(bearer))
          if (user !== undefined) return Effect.succeed(principalOf(user, "token"))
          return Effect.succeed(openReads() ? openReader : undefined)
        }
        const found = sessionOf(request)
        if (found !== undefined) {
          if (mutating(request.method)) {
            const given = request.headers[csrfHeader]
            if (given === undefined || !timingSafeEqual(digest(given), found.session.csrfDigest)) {
              counts.csrf++
              return Effect.fail(new Forbidden({ error: csrfMessage }))
            }
          }
          return Effect.succeed(principalOf(found.user, "session"))
        }
        return Effect.succeed(openReads() ? openReader : undefined)
      }

      const require = (request: HttpServerRequest.HttpServerRequest, action: Action, client?: string) =>
        Effect.gen(function*() {
          const who = yield* identify(request)
          const reading = action === "read" || action === "metrics"
          if (who === undefined) {
            return yield* Effect.fail(new Unauthorized({ error: haveUsers() ? signInMessage : reading ? readMessage : actMessage }))
          }
          // The shortcut tokens keep their old meaning: the read token and open reads cannot act.
          if (!reading && (who === readTokenHolder || who === openReader)) {
            return yield* Effect.fail(
              canAct() ? new Unauthorized({ error: haveUsers() ? signInMessage : actMessage }) : new Forbidden({ error: "admin actions are disabled: set http.admin_token" })
            )
          }
          const decision = decide(who, action, client)
          if (decision === "hidden") return yield* Effect.fail(new NotFound({ error: "no such resource" }))
          if (decision === "forbidden") {
            return yield* Effect.fail(new Forbidden({ error: `user ${who.name} (${who.role}) may not ${action}${client === undefined ? "" : ` in client ${client}`}` }))
          }
          return who
        })

      const describe = (who: Principal, csrf: string | null) => ({
        user: who.name,
        role: who.role,
        clients: who.scope.patterns,
        via: who.via,
        csrf,
        login: haveUsers()
      })

      const cookie = (request: HttpServerRequest.HttpServerRequest, value: string, maxAgeSeconds: number) => {
        const tls = (request.source as { socket?: { encrypted?: boolean } }).socket?.encrypted === true
        return `${sessionCookie}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${tls ? "; Secure" : ""}`
      }

      const login = (request: HttpServerRequest.HttpServerRequest) =>
        Effect.gen(function*() {
          if (!haveUsers()) return json(404, { error: "no users are configured (users: in receiver.yaml)", login: false })
          // A form of another site cannot send JSON without asking first (CORS): no login CSRF.
          if (!(request.headers["content-type"] ?? "").startsWith("application/json")) {
            return json(415, { error: "send {\"user\": ..., \"password\": ...} as application/json" })
          }
          const body = yield* request.text.pipe(
            Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(authLimits.loginBodyBytes)),
            Effect.map((text): string | undefined => text),
            Effect.catch(() => Effect.succeed(undefined))
          )
          if (body === undefined) return json(413, { error: `the login body is limited to ${authLimits.loginBodyBytes} bytes` })
          let parsed: unknown
          try {
            parsed = JSON.parse(body)
          } catch {
            parsed = undefined
          }
          const { user: name, password } = (parsed ?? {}) as { user?: unknown; password?: unknown }
          if (typeof name !== "string" || typeof password !== "string" || name === "" || password === "") {
            return json(400, { error: "send {\"user\": ..., \"password\": ...} as application/json" })
          }
          const address = Option.getOrElse(request.remoteAddress, () => "unknown")
          const keys = [`address:${address}`, `user:${name}`]
          const startMs = now()
          if (!keys.every((key) => limiter.wouldAllow(key, startMs))) {
            counts.limited++
            return json(429, { error: "too many failed logins: try again in a minute" }, { "retry-after": String(Math.ceil(authLimits.loginRefillMs / 1000)) })
          }
          const user = current().byName.get(name)
          const hash = user?.passwordHash
          const matches = yield* Effect.promise(() => verifyPassword(password, hash ?? decoy))
          if (!matches || hash === undefined) {
            counts.failed++
            for (const key of keys) limiter.allow(key, now())
            yield* Effect.logWarning("failed dashboard login", { user: name.slice(0, 128), address })
            return json(401, { error: "wrong user name or password" })
          }
          counts.ok++
          const id = randomBytes(32).toString("base64url")
          const csrf = randomBytes(32).toString("base64url")
          const nowMs = now()
          for (const [key, session] of sessions) if (session.expiresMs <= nowMs) sessions.delete(key)
          while (sessions.size >= authLimits.maxSessions) {
            sessions.delete(sessions.keys().next().value!)
            counts.evicted++
          }
          sessions.set(digest(id).toString("hex"), { user: user!.name, csrf, csrfDigest: digest(csrf), expiresMs: nowMs + authLimits.sessionLifetimeMs })
          yield* Effect.logInfo("dashboard login", { user: user!.name, role: user!.role })
          return json(200, describe(principalOf(user!, "session"), csrf), {
            "set-cookie": cookie(request, id, authLimits.sessionLifetimeMs / 1000)
          })
        })

      const logout = (request: HttpServerRequest.HttpServerRequest) =>
        Effect.gen(function*() {
          const found = sessionOf(request)
          if (found !== undefined) {
            const refused = yield* identify(request).pipe(Effect.as(undefined), Effect.catch((error) => Effect.succeed(error)))
            if (refused !== undefined) return json(403, { error: refused.error })
            sessions.delete(found.key)
          }
          return json(200, { ok: true }, { "set-cookie": cookie(request, "", 0) })
        })

      const session = (request: HttpServerRequest.HttpServerRequest) =>
        Effect.gen(function*() {
          const found = sessionOf(request)
          if (found !== undefined) return json(200, describe(principalOf(found.user, "session"), found.session.csrf))
          const who = yield* identify(request).pipe(Effect.catch(() => Effect.succeed(undefined)))
          return who === undefined
            ? json(200, { user: null, role: null, clients: [], via: null, csrf: null, login: haveUsers() })
            : json(200, describe(who, null))
        })

      const check = (action: Action, client?: string) => Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => require(request, action, client))

      return HttpAuth.of({ identify, require, check, login, logout, session })
    })
  )
