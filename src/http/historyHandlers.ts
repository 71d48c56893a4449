import { Effect, Layer } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { History } from "../history/History.ts"
import type { HistoryRow, NotificationRow } from "../history/HistoryStore.ts"
import { coversOf, HttpAuth } from "./auth/HttpAuth.ts"
import { isoOrNull } from "./resourceView.ts"
import { BadRequest, StatusApi, StoreUnavailable } from "./StatusApi.ts"

/** A time in a query: ISO 8601 (a date, or a date and time) or milliseconds since 1970. */
export const parseQueryTime = (text: string | undefined): number | undefined | "invalid" => {
  if (text === undefined || text === "") return undefined
  if (/^-?\d{1,16}$/.test(text)) return Number(text)
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) return "invalid"
  const ms = Date.parse(text)
  return Number.isFinite(ms) ? ms : "invalid"
}

const wholeNumber = (text: string | undefined, fallback: number, max: number): number | undefined => {
  if (text === undefined) return fallback
  const value = Number(text)
  return Number.isInteger(value) && value >= 0 && value <= max ? value : undefined
}

/** How many stored notifications one events page looks at, at most, before it answers with a `next` to go on from. */
export const eventScanLimit = 100_000

const unavailable = (error: { readonly reason: string }) => new StoreUnavailable({ error: `history unavailable: ${error.reason}` })

export const eventItem = (row: NotificationRow) => ({ seq: row.id, at: isoOrNull(row.atMs) ?? "", ...row.notification })

const historyItem = (row: HistoryRow) => ({
  seq: row.id,
  at: isoOrNull(row.atMs) ?? "",
  kind: row.kind,
  status: row.status ?? null,
  detail: row.detail ?? null
})

const badPaging = (what: string, max: number) => new BadRequest({ error: `limit (at most ${max}) and before must be whole numbers; ${what}` })

/** `/api/events` (stored notifications) and a resource's history and uptime (issue 18). */
export const layerHistoryHandlers = Layer.merge(
    HttpApiBuilder.group(
      StatusApi,
      "events",
      Effect.fn(function*(handlers) {
        const history = yield* History
        const auth = yield* HttpAuth
        return handlers.handle("list", ({ query }) =>
          Effect.gen(function*() {
            // A user scoped to some clients sees their notifications only (issue 18.3).
            const covers = coversOf(yield* auth.check("read"))
            const limit = wholeNumber(query.limit, 50, 1000)
            const before = query.before === undefined ? undefined : wholeNumber(query.before, 0, Number.MAX_SAFE_INTEGER)
            if (limit === undefined || (query.before !== undefined && before === undefined)) {
              return yield* Effect.fail(badPaging("since is a time", 1000))
            }
            const since = parseQueryTime(query.since)
            if (since === "invalid") return yield* Effect.fail(new BadRequest({ error: "since must be ISO 8601 or milliseconds since 1970" }))
            const page = yield* history.events({
              before,
              limit,
              sinceMs: since,
              client: query.client,
              resource: query.resource,
              event: query.event,
              severity: query.severity,
              visible: covers === undefined ? () => true : (client) => covers(client ?? ""),
              maxScan: eventScanLimit
            }).pipe(Effect.mapError(unavailable))
            return { items: page.items.map(eventItem), next: page.next }
          }))
      })
    ),
    HttpApiBuilder.group(
      StatusApi,
      "history",
      Effect.fn(function*(handlers) {
        const history = yield* History
        const auth = yield* HttpAuth
        return handlers
          .handle("entries", ({ params, query }) =>
            Effect.gen(function*() {
              yield* auth.check("read", params.client)
              const limit = wholeNumber(query.limit, 100, 1000)
              const before = query.before === undefined ? undefined : wholeNumber(query.before, 0, Number.MAX_SAFE_INTEGER)
              if (limit === undefined || (query.before !== undefined && before === undefined)) {
                return yield* Effect.fail(badPaging("since and until are times", 1000))
              }
              const since = parseQueryTime(query.since)
              const until = parseQueryTime(query.until)
              if (since === "invalid" || until === "invalid") {
                return yield* Effect.fail(new BadRequest({ error: "since and until must be ISO 8601 or milliseconds since 1970" }))
              }
              const page = yield* history.resourceHistory({
                client: params.client,
                resource: params.resource,
                sinceMs: since,
                untilMs: until,
                before,
                limit
              }).pipe(Effect.mapError(unavailable))
              return { items: page.items.map(historyItem), next: page.next }
            }))
          .handle("uptime", ({ params }) =>
            Effect.gen(function*() {
              yield* auth.check("read", params.client)
              const windows = yield* history.uptime(params.client, params.resource).pipe(Effect.mapError(unavailable))
              return {
                client: params.client,
                resource: params.resource,
                windows: windows.map((window) => ({
                  window: window.window,
                  from: isoOrNull(window.fromMs) ?? "",
                  to: isoOrNull(window.toMs) ?? "",
                  percent: window.percent,
                  upSeconds: window.upMs / 1000,
                  downSeconds: window.downMs / 1000,
                  pausedSeconds: window.pausedMs / 1000,
                  unmonitoredSeconds: window.unmonitoredMs / 1000
                }))
              }
            }))
      })
    )
  )
