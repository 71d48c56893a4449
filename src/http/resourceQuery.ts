import { type ResourceStatus, resourceStatuses } from "../monitor/resourceStatus.ts"

/**
 * The order of the resource list: problems first (stale, not registered, paused, then alive, then
 * resources of a client removed from the configuration),
 * then client, then resource in natural order; or by last heartbeat, newest first
 * (`-lastSeen`) or oldest first (`lastSeen`; never heard counts as oldest).
 */
export const resourceSorts = ["status", "-lastSeen", "lastSeen"] as const
export type ResourceSort = (typeof resourceSorts)[number]

/** Statuses in the list's order: problems first. */
export const statusOrder: ReadonlyArray<ResourceStatus> = ["stale", "not_registered", "paused", "alive", "client_removed"]
export const statusRank: Readonly<Record<ResourceStatus, number>> = { stale: 0, not_registered: 1, paused: 2, alive: 3, client_removed: 4 }

/**
 * Where a page starts: after an item of an earlier page (`cursor`, stable while the list
 * changes), or at a position (`offset`, for jumping anywhere, as a scrolled table does).
 */
export type ResourceCursor =
  /** After this sort key (sort=status). */
  | { readonly sort: "status"; readonly rank: number; readonly client: string; readonly resource: string }
  /** After this place in the last-heartbeat order: `heard` or never-heard part, and its sequence number. */
  | { readonly sort: "-lastSeen" | "lastSeen"; readonly part: "heard" | "never"; readonly seq: number }

export interface ResourceQuery {
  /** Only these statuses; undefined for all. */
  readonly statuses: ReadonlyArray<ResourceStatus> | undefined
  readonly client: string | undefined
  /** Lower-case words that must each appear in the name, client, service, environment or location. */
  readonly words: ReadonlyArray<string>
  readonly sort: ResourceSort
  readonly limit: number
  readonly offset: number
  readonly cursor: ResourceCursor | undefined
  /**
   * Only clients this says yes to: the scope of a user (issue 18.3). Like a search, it makes the
   * page a walk over the client's (or every) resource, and the counts cover only what it covers.
   */
  readonly covers?: ((client: string) => boolean) | undefined
}

/** The query parameters of `GET /api/resources` as they arrive (strings, each optional). */
export interface ResourceQueryParams {
  readonly status?: string | undefined
  readonly client?: string | undefined
  readonly q?: string | undefined
  readonly sort?: string | undefined
  readonly limit?: string | undefined
  readonly offset?: string | undefined
  readonly cursor?: string | undefined
}

export const defaultLimit = 1000
/** The largest page: one page is built in memory and must stay well inside a 20 ms slice. */
export const maxLimit = 10_000
/** A search longer than this is refused (it could never match a name anyway: names are shorter). */
export const maxSearchLength = 1024

const wholeNumber = (text: string | undefined, fallback: number): number | undefined => {
  if (text === undefined || text === "") return fallback
  if (!/^\d{1,15}$/.test(text)) return undefined
  return Number(text)
}

/** The search words of `q`: split on white space, lower case, duplicates dropped. */
export const searchWords = (q: string | undefined): ReadonlyArray<string> =>
  q === undefined ? [] : [...new Set(q.toLowerCase().split(/\s+/).filter((word) => word !== ""))]

export const encodeCursor = (cursor: ResourceCursor): string =>
  Buffer.from(
    JSON.stringify(cursor.sort === "status" ? [cursor.sort, cursor.rank, cursor.client, cursor.resource] : [cursor.sort, cursor.part, cursor.seq]),
    "utf8"
  ).toString("base64url")

export const decodeCursor = (text: string): ResourceCursor | undefined => {
  let parts: unknown
  try {
    parts = JSON.parse(Buffer.from(text, "base64url").toString("utf8"))
  } catch {
    return undefined
  }
  if (!Array.isArray(parts)) return undefined
  const [sort, a, b, c] = parts as Array<unknown>
  if (sort === "status" && parts.length === 4 && typeof a === "number" && Number.isInteger(a) && a >= 0 && a < statusOrder.length && typeof b === "string" && typeof c === "string") {
    return { sort, rank: a, client: b, resource: c }
  }
  if ((sort === "-lastSeen" || sort === "lastSeen") && parts.length === 3 && (a === "heard" || a === "never") && typeof b === "number" && Number.isSafeInteger(b) && b >= 0) {
    return { sort, part: a, seq: b }
  }
  return undefined
}

/**
 * Checks the query of `GET /api/resources`: a query, or the sentence that says what is wrong.
 * `status` takes one status or several separated by commas; `limit` above the largest page
 * gives the largest page (the rest follows the cursor), as a client asking for "everything"
 * gets all of it page by page rather than an error.
 */
export const parseResourceQuery = (params: ResourceQueryParams): ResourceQuery | { readonly error: string } => {
  let statuses: Array<ResourceStatus> | undefined
  if (params.status !== undefined && params.status !== "") {
    statuses = []
    for (const status of params.status.split(",")) {
      if (!resourceStatuses.includes(status as ResourceStatus)) {
        return { error: `status must be one of ${resourceStatuses.join(", ")} (or several, separated by commas), got "${status}"` }
      }
      if (!statuses.includes(status as ResourceStatus)) statuses.push(status as ResourceStatus)
    }
  }
  const sort = params.sort === undefined || params.sort === "" ? "status" : params.sort
  if (!resourceSorts.includes(sort as ResourceSort)) return { error: `sort must be one of ${resourceSorts.join(", ")}, got "${sort}"` }
  const limit = wholeNumber(params.limit, defaultLimit)
  const offset = wholeNumber(params.offset, 0)
  if (limit === undefined || offset === undefined) return { error: "limit and offset must be whole numbers" }
  if (params.q !== undefined && params.q.length > maxSearchLength) return { error: `q must be at most ${maxSearchLength} characters` }
  let cursor: ResourceCursor | undefined
  if (params.cursor !== undefined && params.cursor !== "") {
    cursor = decodeCursor(params.cursor)
    if (cursor === undefined) return { error: "cursor is not one this receiver gave (pass X-Next-Cursor as it came)" }
    if (cursor.sort !== sort) return { error: `this cursor belongs to sort=${cursor.sort}, not sort=${sort}` }
    if (offset !== 0) return { error: "give cursor or offset, not both" }
  }
  return {
    statuses,
    client: params.client === undefined || params.client === "" ? undefined : params.client,
    words: searchWords(params.q),
    sort: sort as ResourceSort,
    limit: Math.min(limit, maxLimit),
    offset,
    cursor
  }
}
