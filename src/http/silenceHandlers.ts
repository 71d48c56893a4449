import { Clock, Effect } from "effect"
import type { HttpServerRequest } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { ResourceSupervisor } from "../actors/ResourceSupervisor.ts"
import { readSilenceRequest, type Silence } from "../monitor/silences.ts"
import { Silences } from "../notify/Silences.ts"
import { HeartbeatRouter } from "../routing/HeartbeatRouter.ts"
import { coversOf, HttpAuth } from "./auth/HttpAuth.ts"
import { BadRequest, Conflict, NotFound, StatusApi, StoreUnavailable } from "./StatusApi.ts"

const iso = (ms: number) => new Date(ms).toISOString()

export const silenceView = (silence: Silence) => ({
  client: silence.client,
  resource: silence.resource ?? null,
  from: iso(silence.fromMs),
  until: iso(silence.untilMs),
  reason: silence.reason,
  by: silence.by
})

const unavailable = (error: { readonly reason: string }) => new StoreUnavailable({ error: `silences unavailable: ${error.reason}` })

/**
 * Silences through the API (issue 18.3): `GET /api/silences`, and set (`POST`) or lift (`DELETE`)
 * `/api/resources/{client}/{resource}/silence` and `/api/clients/{client}/silence`. The role and
 * the client scope decide first (HttpAuth: operator and up; outside the scope the target does not
 * exist); then the target must exist, then the body is read by `readSilenceRequest` (pure).
 */
export const layerSilenceHandlers = HttpApiBuilder.group(
  StatusApi,
  "silences",
  Effect.fn(function*(handlers) {
    const auth = yield* HttpAuth
    const silences = yield* Silences
    const supervisor = yield* ResourceSupervisor
    const router = yield* HeartbeatRouter
    const clock = yield* Clock.Clock

    /** The target exists: a known resource, or a configured client (or one whose resources are still kept). */
    const exists = (client: string, resource: string | undefined) =>
      resource !== undefined
        ? supervisor.find(client, resource) !== undefined
        : supervisor.sizeOf(client) > 0 || router.config().clients.some((known) => known.name === client)
    const missing = (resource: string | undefined) => new NotFound({ error: resource === undefined ? "no such client" : "no such resource" })

    const set = (request: HttpServerRequest.HttpServerRequest, client: string, resource: string | undefined) =>
      Effect.gen(function*() {
        const who = yield* auth.check("silence", client)
        if (!exists(client, resource)) return yield* Effect.fail(missing(resource))
        const body = yield* request.json.pipe(
          Effect.mapError(() => new BadRequest({ error: "the body must be JSON: {duration | until, reason}" }))
        )
        const nowMs = clock.currentTimeMillisUnsafe()
        const asked = readSilenceRequest(body, nowMs)
        if ("error" in asked) return yield* Effect.fail(new BadRequest({ error: asked.error }))
        const silence: Silence = { client, resource, fromMs: nowMs, untilMs: asked.untilMs, reason: asked.reason, by: who.name }
        yield* silences.silence(silence).pipe(
          Effect.catchTags({
            TooManySilences: (error) => Effect.fail(new Conflict({ error: error.reason })),
            SilenceStoreError: (error) => Effect.fail(unavailable(error))
          })
        )
        yield* Effect.logInfo("silenced through the API", {
          client,
          ...(resource === undefined ? {} : { resource }),
          until: iso(silence.untilMs),
          by: who.name,
          reason: silence.reason
        })
        return silenceView(silence)
      })

    const lift = (client: string, resource: string | undefined) =>
      Effect.gen(function*() {
        const who = yield* auth.check("silence", client)
        const lifted = yield* silences.lift(client, resource, who.name).pipe(Effect.mapError(unavailable))
        if (lifted === undefined) {
          return yield* Effect.fail(new NotFound({ error: resource === undefined ? "the client has no silence" : "the resource has no silence" }))
        }
        yield* Effect.logInfo("silence lifted through the API", { client, ...(resource === undefined ? {} : { resource }), by: who.name })
        return silenceView(lifted)
      })

    return handlers
      .handle("list", () =>
        Effect.map(auth.check("read"), (who) => {
          const covers = coversOf(who)
          const visible = covers === undefined ? silences.active() : silences.active().filter((silence) => covers(silence.client))
          return { items: visible.map(silenceView) }
        }))
      .handleRaw("silenceResource", ({ params, request }) => set(request, params.client, params.resource))
      .handle("liftResource", ({ params }) => lift(params.client, params.resource))
      .handleRaw("silenceClient", ({ params, request }) => set(request, params.client, undefined))
      .handle("liftClient", ({ params }) => lift(params.client, undefined))
  })
)
