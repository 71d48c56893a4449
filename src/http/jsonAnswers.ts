import { Effect } from "effect"
import { HttpMiddleware, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { createHash, type Hash } from "node:crypto"

/** Rows rendered between two yields when a big answer is built (about a millisecond of work). */
const rowsPerSlice = 500

/**
 * A JSON array built in slices with a yield between them, so a big page never holds the event
 * loop for long; the text is assembled once at the end (a page is bounded: `maxLimit` rows).
 */
export const jsonArrayInSlices = <T>(items: ReadonlyArray<T>, render: (item: T) => unknown): Effect.Effect<string> =>
  Effect.gen(function*() {
    const parts: Array<string> = []
    for (let start = 0; start < items.length; start += rowsPerSlice) {
      if (start > 0) yield* Effect.yieldNow
      const slice: Array<string> = []
      for (let i = start; i < Math.min(items.length, start + rowsPerSlice); i++) slice.push(JSON.stringify(render(items[i]!)))
      parts.push(slice.join(","))
    }
    return `[${parts.join(",")}]`
  })

/** Content types whose answers get an ETag: JSON and the dashboard's files. */
const taggable = (contentType: string | undefined) =>
  contentType !== undefined && /^(application\/json|text\/html|text\/css|text\/javascript)\b/.test(contentType)

/** A weak validator of `body`: the same for every encoding of the same answer. */
export const etagOf = (body: Uint8Array | string): string => {
  const hash: Hash = createHash("sha1")
  hash.update(body)
  return `W/"${hash.digest("base64url").slice(0, 22)}"`
}

/** If-None-Match holds `etag` (weak comparison, as RFC 9110 asks for GET). */
export const noneMatchHits = (ifNoneMatch: string | undefined, etag: string): boolean => {
  if (ifNoneMatch === undefined) return false
  if (ifNoneMatch.trim() === "*") return true
  const bare = etag.replace(/^W\//, "")
  return ifNoneMatch.split(",").some((candidate) => candidate.trim().replace(/^W\//, "") === bare)
}

/**
 * Every 200 answer with a JSON (or dashboard file) body gets a weak ETag and `Cache-Control:
 * no-cache` (a browser revalidates each time and gets `304 Not Modified`, no body, when nothing
 * changed); then bodies of 1 KiB and more are compressed (brotli, else gzip, as the request
 * accepts) by effect's compression middleware. The live feed (text/event-stream) is left alone.
 */
const cachedAndCompressed = <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  compression(
    Effect.flatMap(app, (response) =>
      Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
        const body = response.body
        if (response.status !== 200 || body._tag !== "Uint8Array" || !taggable(response.headers["content-type"] ?? body.contentType)) {
          return response
        }
        const etag = etagOf(body.body)
        const headers = { etag, "cache-control": response.headers["cache-control"] ?? "private, no-cache" }
        if (noneMatchHits(request.headers["if-none-match"], etag)) {
          return HttpServerResponse.empty({ status: 304, headers: { ...headers, vary: "Accept-Encoding" } })
        }
        return HttpServerResponse.setHeaders(response, headers)
      })
    )
  )

const compression = HttpMiddleware.compression({
  compressible: (contentType) => !contentType.startsWith("text/event-stream") && /^(application\/(json|x-ndjson)|text\/)/.test(contentType)
})

/** `cachedAndCompressed` for every route of the router (the API, metrics and the dashboard's files). */
export const layerCachedAnswers = HttpRouter.middleware(cachedAndCompressed, { global: true })
