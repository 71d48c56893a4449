import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { levels } from "../checks/thresholds.ts"
import { type ResourceStatus, resourceStatuses } from "../monitor/resourceStatus.ts"
import { defaultLimit, maxLimit } from "./resourceQuery.ts"
import { historyKinds } from "../monitor/historyRules.ts"
import { uptimeWindows } from "../monitor/uptime.ts"

// The receiver's REST API as typed endpoints: the handlers (StatusHttp.ts) and the OpenAPI document
// served at /api/openapi.json come from this one definition. Query values stay strings here and are
// checked by the handlers, so a bad value gets the same sentence it always got.

const Iso = Schema.NullOr(Schema.String).annotate({ description: "ISO 8601, UTC; null when unknown" })

/** An error answer: always `{ "error": "<a sentence>" }`. One class per status code. */
const errorFields = { error: Schema.String }
export class BadRequest extends Schema.Class<BadRequest>("BadRequest")(errorFields, { httpApiStatus: 400 }) {}
export class Unauthorized extends Schema.Class<Unauthorized>("Unauthorized")(errorFields, { httpApiStatus: 401 }) {}
export class Forbidden extends Schema.Class<Forbidden>("Forbidden")(errorFields, { httpApiStatus: 403 }) {}
export class NotFound extends Schema.Class<NotFound>("NotFound")(errorFields, { httpApiStatus: 404 }) {}
/** The history in state.db cannot be read right now (locked, I/O): try again. */
export class StoreUnavailable extends Schema.Class<StoreUnavailable>("StoreUnavailable")(errorFields, { httpApiStatus: 503 }) {}

export const ResourceViewSchema = Schema.Struct({
  client: Schema.String,
  resource: Schema.String,
  status: Schema.Literals(resourceStatuses).annotate({ description: "statusOf: the one status the API, dashboard, metrics and store share" }),
  configured: Schema.Boolean,
  severity: Schema.String,
  service: Schema.String,
  environment: Schema.NullOr(Schema.String),
  location: Schema.NullOr(Schema.String),
  firstSeen: Iso,
  lastSeen: Iso,
  deadline: Iso.annotate({ description: "when it turns (or turned) stale: last heartbeat + timeout + jitter" }),
  timeoutSeconds: Schema.NullOr(Schema.Number).annotate({ description: "null only for a stored value out of any range" })
}).annotate({ identifier: "Resource" })

/** A journal entry: its sequence number and time, then every field of the notification (SPEC 3.1). */
export const EventItemSchema = Schema.StructWithRest(
  Schema.Struct({ seq: Schema.Number, at: Schema.String }),
  [Schema.Record(Schema.String, Schema.Unknown)]
).annotate({ identifier: "Event", description: "seq, at, and the notification's fields (severity, event, text, resource, ...)" })

/** One check of a resource (sender plugins, issue 20), as the receiver holds it. */
export const CheckItemSchema = Schema.Struct({
  name: Schema.String,
  level: Schema.Literals(levels),
  value: Schema.Number,
  text: Schema.String,
  source: Schema.Literals(["sender", "receiver"]).annotate({ description: "whose threshold decided the level" }),
  since: Schema.String.annotate({ description: "when its level last changed (ISO 8601)" }),
  reportedAt: Schema.String.annotate({ description: "when it was last in a heartbeat (ISO 8601)" })
}).annotate({ identifier: "Check" })

const authorization = { authorization: Schema.optional(Schema.String) }

const StatusCountsSchema = Schema.Struct(
  Object.fromEntries(resourceStatuses.map((status) => [status, Schema.Number])) as Record<ResourceStatus, typeof Schema.Number>
).annotate({ identifier: "StatusCounts" })

const resources = HttpApiGroup.make("resources")
  .add(
    HttpApiEndpoint.get("list", "/api/resources", {
      query: {
        status: Schema.optional(Schema.String).annotate({ description: `${resourceStatuses.join(", ")}; several separated by commas` }),
        client: Schema.optional(Schema.String),
        q: Schema.optional(Schema.String).annotate({
          description: "search: every word must appear (any case) in the name, client, service, environment or location"
        }),
        sort: Schema.optional(Schema.String).annotate({
          description: "status (default: stale, not registered, paused, alive; then client and name in natural order), -lastSeen (newest heartbeat first), lastSeen (oldest first)"
        }),
        limit: Schema.optional(Schema.String).annotate({ description: `whole number, default ${defaultLimit}; more than ${maxLimit} gives ${maxLimit}` }),
        cursor: Schema.optional(Schema.String).annotate({ description: "the previous page's X-Next-Cursor: the page after it, stable while resources change" }),
        offset: Schema.optional(Schema.String).annotate({ description: "whole number, default 0: the page at this position (instead of a cursor)" }),
        format: Schema.optional(Schema.String).annotate({
          description: "json (default) or ndjson: every matching resource, one JSON object per line, streamed (no paging, no particular order)"
        })
      },
      headers: authorization,
      success: Schema.Array(ResourceViewSchema).annotate({
        description: "one page. Headers: X-Total-Count (resources matching every filter), X-Status-Counts (matching client and q, per status: stale=N, not_registered=N, paused=N, alive=N), X-Next-Cursor and Link rel=next (absent on the last page), ETag (If-None-Match gives 304)"
      }),
      error: [BadRequest, Unauthorized]
    }),
    HttpApiEndpoint.get("summary", "/api/summary", {
      headers: authorization,
      success: Schema.Struct({
        total: Schema.Number,
        counts: StatusCountsSchema,
        clients: Schema.Array(Schema.Struct({ client: Schema.String, total: Schema.Number, counts: StatusCountsSchema }))
          .annotate({ description: "every client with resources, in natural order" })
      }).annotate({ identifier: "Summary", description: "resources per status, in all and per client (costs the number of clients, not of resources)" }),
      error: [Unauthorized]
    }),
    HttpApiEndpoint.get("get", "/api/resources/:client/:resource", {
      params: { client: Schema.String, resource: Schema.String },
      headers: authorization,
      success: Schema.Struct({
        ...ResourceViewSchema.fields,
        payload: Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown)),
        checks: Schema.Array(CheckItemSchema),
        recentEvents: Schema.Array(EventItemSchema)
      }).annotate({ identifier: "ResourceDetail" }),
      error: [NotFound, Unauthorized]
    }),
    HttpApiEndpoint.post("act", "/api/resources/:client/:resource/:action", {
      params: {
        client: Schema.String,
        resource: Schema.String,
        action: Schema.String.annotate({ description: "deregister, pause, resume or dyndns (send the resource's DNS records again with the addresses last heard)" })
      },
      headers: authorization,
      success: Schema.Struct({ ok: Schema.Boolean, action: Schema.String, client: Schema.String, resource: Schema.String }),
      error: [Unauthorized, Forbidden, NotFound]
    }).annotate(OpenApi.Description, "Needs the admin token (http.admin_token) as a Bearer token, or a user whose role allows the action on this client (API token, or session cookie with X-CSRF-Token): 403 when the role is too low, 404 outside the user's clients.")
  )
  .annotate(OpenApi.Description, "Reads need the read token when http.read_token is set (or the admin token), or a user (API token or session cookie) when users: is set; a user sees only its clients.")

const timeQuery = (what: string) =>
  Schema.optional(Schema.String).annotate({ description: `${what}: ISO 8601 (2025-01-31T12:00:00Z) or milliseconds since 1970` })

const events = HttpApiGroup.make("events").add(
  HttpApiEndpoint.get("list", "/api/events", {
    query: {
      limit: Schema.optional(Schema.String).annotate({ description: "whole number, default 50, at most 1000" }),
      before: Schema.optional(Schema.String).annotate({ description: "the previous page's next" }),
      client: Schema.optional(Schema.String),
      resource: Schema.optional(Schema.String),
      event: Schema.optional(Schema.String).annotate({ description: "the event name, e.g. heartbeat_mesh_heartbeat_timeout" }),
      severity: Schema.optional(Schema.String),
      since: timeQuery("only notifications from this time on")
    },
    headers: authorization,
    success: Schema.Struct({
      items: Schema.Array(EventItemSchema),
      next: Schema.NullOr(Schema.Number).annotate({ description: "the before of the next page; null on the last page" })
    }),
    error: [BadRequest, Unauthorized, StoreUnavailable]
  }).annotate(
    OpenApi.Description,
    "The notifications the receiver sent, newest first, kept in state.db for history.retention_days (repeats only with history.repeats)."
  )
)

/** One entry of a resource's history (issue 18). */
export const HistoryItemSchema = Schema.Struct({
  seq: Schema.Number.annotate({ description: "increasing; the paging cursor" }),
  at: Schema.String.annotate({ description: "when it took effect (ISO 8601); a stale spell starts at the deadline" }),
  kind: Schema.Literals(historyKinds),
  status: Schema.NullOr(Schema.Literals(resourceStatuses)).annotate({ description: "the status from then on; null for check, dyndns, silenced and unsilenced entries" }),
  detail: Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown)).annotate({ description: "check: check, from, level, value, text; dyndns: address, name, outcome, error; silenced: by, from, until, reason, scope (resource or client); unsilenced: by, reason, ended (lifted or expired), scope" })
}).annotate({ identifier: "HistoryEntry" })

export const UptimeSchema = Schema.Struct({
  window: Schema.Literals(uptimeWindows.map((window) => window.name)),
  from: Schema.String,
  to: Schema.String,
  percent: Schema.NullOr(Schema.Number).annotate({ description: "up / (up + down) x 100; null when the window has neither" }),
  upSeconds: Schema.Number.annotate({ description: "alive" }),
  downSeconds: Schema.Number.annotate({ description: "stale" }),
  pausedSeconds: Schema.Number.annotate({ description: "paused: left out of percent" }),
  unmonitoredSeconds: Schema.Number.annotate({ description: "not registered or nothing recorded: left out of percent" })
}).annotate({ identifier: "Uptime" })

const history = HttpApiGroup.make("history")
  .add(
    HttpApiEndpoint.get("entries", "/api/resources/:client/:resource/history", {
      params: { client: Schema.String, resource: Schema.String },
      query: {
        since: timeQuery("entries from this time on"),
        until: timeQuery("entries before this time"),
        limit: Schema.optional(Schema.String).annotate({ description: "whole number, default 100, at most 1000" }),
        before: Schema.optional(Schema.String).annotate({ description: "the previous page's next" })
      },
      headers: authorization,
      success: Schema.Struct({
        items: Schema.Array(HistoryItemSchema),
        next: Schema.NullOr(Schema.Number).annotate({ description: "the before of the next page; null on the last page" })
      }),
      error: [BadRequest, Unauthorized, NotFound, StoreUnavailable]
    }).annotate(OpenApi.Description, "Status changes, check level changes and DNS updates of one resource, newest first."),
    HttpApiEndpoint.get("uptime", "/api/resources/:client/:resource/uptime", {
      params: { client: Schema.String, resource: Schema.String },
      headers: authorization,
      success: Schema.Struct({
        client: Schema.String,
        resource: Schema.String,
        windows: Schema.Array(UptimeSchema)
      }).annotate({ identifier: "ResourceUptime" }),
      error: [Unauthorized, NotFound, StoreUnavailable]
    }).annotate(OpenApi.Description, "Uptime over the last 24 h, 7 d and 30 d, computed from the recorded status changes.")
  )

/** A silence in force (issue 18.3): a runtime mute window an operator set on a resource or a whole client. */
export const SilenceSchema = Schema.Struct({
  client: Schema.String,
  resource: Schema.NullOr(Schema.String).annotate({ description: "null: the whole client" }),
  from: Schema.String.annotate({ description: "when it was set (ISO 8601)" }),
  until: Schema.String.annotate({ description: "when it ends by itself (ISO 8601)" }),
  reason: Schema.String,
  by: Schema.String.annotate({ description: "who set it: the user, or admin_token" })
}).annotate({ identifier: "Silence" })

const SilenceRequestSchema = Schema.Struct({
  duration: Schema.optional(Schema.Union([Schema.Number, Schema.String])).annotate({ description: "seconds, or 30m, 2h, 1d (give duration or until)" }),
  until: Schema.optional(Schema.String).annotate({ description: "ISO 8601 with its zone, e.g. 2026-12-24T18:00:00Z" }),
  reason: Schema.String.annotate({ description: "why (at most 500 characters, one line)" })
}).annotate({ identifier: "SilenceRequest" })

/** 409: the receiver already holds its most silences. */
export class Conflict extends Schema.Class<Conflict>("Conflict")(errorFields, { httpApiStatus: 409 }) {}

const silenceWho = "Needs a role that may silence (operator and up) on the client (API token, or session cookie with X-CSRF-Token), or the admin token: 403 when the role is too low, 404 outside the user's clients."
const silenceSet = `Holds the notifications back as a mute window does: state changes are held and the latest of each goes out when the silence ends, repeats are dropped. Setting it again replaces it. Kept in state.db; recorded in the history. ${silenceWho}`

const silences = HttpApiGroup.make("silences")
  .add(
    HttpApiEndpoint.get("list", "/api/silences", {
      headers: authorization,
      success: Schema.Struct({ items: Schema.Array(SilenceSchema) }).annotate({ description: "earliest end first; a user sees its clients' only" }),
      error: [Unauthorized]
    }).annotate(OpenApi.Description, "The silences in force."),
    HttpApiEndpoint.post("silenceResource", "/api/resources/:client/:resource/silence", {
      params: { client: Schema.String, resource: Schema.String },
      headers: authorization,
      payload: SilenceRequestSchema,
      success: SilenceSchema,
      error: [BadRequest, Unauthorized, Forbidden, NotFound, Conflict, StoreUnavailable]
    }).annotate(OpenApi.Description, `Silences one resource. ${silenceSet}`),
    HttpApiEndpoint.delete("liftResource", "/api/resources/:client/:resource/silence", {
      params: { client: Schema.String, resource: Schema.String },
      headers: authorization,
      success: SilenceSchema.annotate({ description: "the silence lifted" }),
      error: [Unauthorized, Forbidden, NotFound, StoreUnavailable]
    }).annotate(OpenApi.Description, `Lifts a resource's silence (404 when it has none); what it held goes out within a second. ${silenceWho}`),
    HttpApiEndpoint.post("silenceClient", "/api/clients/:client/silence", {
      params: { client: Schema.String },
      headers: authorization,
      payload: SilenceRequestSchema,
      success: SilenceSchema,
      error: [BadRequest, Unauthorized, Forbidden, NotFound, Conflict, StoreUnavailable]
    }).annotate(OpenApi.Description, `Silences every resource of a client. ${silenceSet}`),
    HttpApiEndpoint.delete("liftClient", "/api/clients/:client/silence", {
      params: { client: Schema.String },
      headers: authorization,
      success: SilenceSchema.annotate({ description: "the silence lifted" }),
      error: [Unauthorized, Forbidden, NotFound, StoreUnavailable]
    }).annotate(OpenApi.Description, `Lifts a client's silence (404 when it has none). ${silenceWho}`)
  )

/** 503: the receiver runs but cannot do its job; `problems` says why, one sentence each. */
export class NotReady extends Schema.Class<NotReady>("NotReady")({
  ready: Schema.Literal(false),
  problems: Schema.Array(Schema.String),
  endpoint: Schema.String,
  resources: Schema.Number
}, { httpApiStatus: 503 }) {}

const health = HttpApiGroup.make("health").add(
  HttpApiEndpoint.get("ready", "/readyz", {
    success: Schema.Struct({ ready: Schema.Literal(true), endpoint: Schema.String, resources: Schema.Number }),
    error: NotReady
  }).annotate(
    OpenApi.Description,
    "503 while the heartbeat socket loop is down, saving state has failed for more than 10 s, or a notifier is stuck past its timeout."
  )
)

export class StatusApi extends HttpApi.make("heartbeat-mesh")
  .add(resources)
  .add(events)
  .add(history)
  .add(silences)
  .add(health)
  .annotate(OpenApi.Title, "heartbeat-mesh receiver")
  .annotate(OpenApi.Description, "Status of the monitored resources, admin actions and recent notifications. Also served: /healthz, /metrics (Prometheus), /api/feed (Server-Sent Events), / (dashboard). JSON answers carry an ETag (If-None-Match gives 304) and are compressed (br, gzip) when the request accepts it.")
{}
