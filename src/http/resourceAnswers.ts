import { Clock, Effect, Stream } from "effect"
import { HttpServerResponse } from "effect/http"
import { ResourceSupervisor } from "../actors/ResourceSupervisor.ts"
import { type IndexedResource, ResourceIndex, type StatusCounts } from "./ResourceIndex.ts"
import { encodeCursor, parseResourceQuery, type ResourceQueryParams, statusOrder } from "./resourceQuery.ts"
import { monotonicMillis, wallOffsetMillis } from "../support/monotonicTime.ts"
import { viewOf } from "./resourceView.ts"
import { jsonArrayInSlices } from "./jsonAnswers.ts"

/** `X-Status-Counts`: `stale=1, not_registered=0, paused=2, alive=40, client_removed=0` (problems first). */
export const statusCountsHeader = (counts: StatusCounts) => statusOrder.map((status) => `${status}=${counts[status]}`).join(", ")

const totalOf = (counts: StatusCounts) => statusOrder.reduce((sum, status) => sum + counts[status], 0)

/**
 * Resources per slice of the ndjson export: one write of about 30 KB. Small on purpose: a string
 * this size dies young (a scavenge), where a large one would go to the old generation and bring
 * on the full collections that hold the event loop at a million resources.
 */
const exportSlice = 100

/**
 * The answers of the resource list (issue 17): a page of `GET /api/resources` from the index,
 * the whole list as a stream (`format=ndjson`), and `GET /api/summary`.
 */
export const makeResourceAnswers = Effect.gen(function*() {
  const index = yield* ResourceIndex
  const supervisor = yield* ResourceSupervisor
  const clock = yield* Clock.Clock
  const moment = () => supervisor.moment(monotonicMillis(clock))
  /** The API's view of an indexed resource, with the status the index orders and counts it by. */
  const render = (now: ReturnType<typeof moment>) => {
    const wallOffsetMs = wallOffsetMillis(clock)
    return (entry: IndexedResource) => ({ ...viewOf(entry.profile, entry.state, now, wallOffsetMs), status: entry.status })
  }

  /** A page, or the error sentence for a bad query. */
  /** `covers`: the clients a scoped user may see (issue 18.3); undefined for every client. */
  const list = (params: ResourceQueryParams & { readonly format?: string | undefined }, covers?: (client: string) => boolean) =>
    Effect.gen(function*() {
      const parsed = parseResourceQuery(params)
      if ("error" in parsed) return { error: parsed.error }
      const query = covers === undefined ? parsed : { ...parsed, covers }
      if (params.format !== undefined && params.format !== "" && params.format !== "json" && params.format !== "ndjson") {
        return { error: `format must be json or ndjson, got "${params.format}"` }
      }
      if (params.format === "ndjson") return { response: exportAll(query) }
      const page = yield* index.read(query)
      const body = yield* jsonArrayInSlices(page.items, render(moment()))
      const headers: Record<string, string> = {
        "x-total-count": String(page.total),
        "x-status-counts": statusCountsHeader(page.counts)
      }
      if (page.next !== undefined) {
        const cursor = encodeCursor(page.next)
        headers["x-next-cursor"] = cursor
        const next = new URLSearchParams()
        for (const [key, value] of Object.entries(params)) {
          if (value !== undefined && value !== "" && key !== "offset" && key !== "cursor") next.set(key, value)
        }
        next.set("cursor", cursor)
        headers["link"] = `</api/resources?${next.toString()}>; rel="next"`
      }
      return { response: HttpServerResponse.text(body, { contentType: "application/json", headers }) }
    })

  /**
   * Every matching resource, one JSON object per line, written slice by slice as the client
   * reads (the server waits for the socket to drain): the list is never built in memory.
   */
  const exportAll = (query: Exclude<ReturnType<typeof parseResourceQuery>, { error: string }>) =>
    HttpServerResponse.stream(
      Stream.suspend(() => {
        const slices = index.matching(query)
        return Stream.unfold(undefined, () =>
          Effect.gen(function*() {
            for (;;) {
              yield* Effect.yieldNow
              const slice = slices(exportSlice)
              if (slice === undefined) return undefined
              if (slice.length === 0) continue
              const view = render(moment())
              const lines: Array<string> = []
              for (const entry of slice) lines.push(JSON.stringify(view(entry)))
              lines.push("")
              return [Buffer.from(lines.join("\n"), "utf8"), undefined] as const
            }
          }))
      }),
      { contentType: "application/x-ndjson", headers: { "cache-control": "no-store" } }
    )

  /** `covers`: only the clients a scoped user may see, and the counts of those alone. */
  const summary = (covers?: (client: string) => boolean) => {
    const clients = covers === undefined ? index.clients() : index.clients().filter(({ client }) => covers(client))
    const counts = covers === undefined ? index.counts() : Object.fromEntries(
      statusOrder.map((status) => [status, clients.reduce((sum, client) => sum + client.counts[status], 0)])
    ) as StatusCounts
    return {
      total: totalOf(counts),
      counts,
      clients: clients.map(({ client, counts }) => ({ client, total: totalOf(counts), counts }))
    }
  }

  return { list, summary }
})
