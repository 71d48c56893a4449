import { Clock, Context, Effect, Layer } from "effect"
import { ResourceSupervisor } from "../actors/ResourceSupervisor.ts"
import { type ResourceChanged, ResourceChanges } from "../changes/ResourceChanges.ts"
import type { MonitorMoment } from "../monitor/MonitorMoment.ts"
import type { ResourceProfile } from "../monitor/ResourceProfile.ts"
import type { ResourceState } from "../monitor/resourceRules.ts"
import { type ResourceStatus, statusOf } from "../monitor/resourceStatus.ts"
import { CountedTree } from "../support/CountedTree.ts"
import { liveGauge } from "../support/liveMetrics.ts"
import { monotonicMillis } from "../support/monotonicTime.ts"
import { naturalCompare } from "../support/naturalOrder.ts"
import { type Direction, type LogMember, RecencyLog } from "../support/RecencyLog.ts"
import { type ResourceCursor, type ResourceQuery, statusOrder, statusRank } from "./resourceQuery.ts"

/** Where a resource sorts in the status order: problems first, then client, then name. */
interface SortKey {
  readonly rank: number
  readonly client: string
  readonly name: string
}

/** One resource as the index holds it: its place in both orders and what the API shows of it. */
export interface IndexedResource extends SortKey, LogMember {
  readonly key: string
  rank: number
  status: ResourceStatus
  profile: ResourceProfile
  state: ResourceState
}

/** Resources per status, in `resourceStatuses` terms. */
export type StatusCounts = Record<ResourceStatus, number>

export interface ResourcePage {
  readonly items: ReadonlyArray<IndexedResource>
  /** Resources matching every filter (X-Total-Count). */
  readonly total: number
  /** Resources matching the client and the search, per status (whatever the status filter). */
  readonly counts: StatusCounts
  /** Where the next page starts; undefined on the last page. */
  readonly next: ResourceCursor | undefined
}

const compareKeys = (a: SortKey, b: SortKey): number =>
  a.rank - b.rank ||
  (a.client === b.client ? 0 : naturalCompare(a.client, b.client)) ||
  (a.name === b.name ? 0 : naturalCompare(a.name, b.name))

const keyOf = (entry: SortKey): SortKey => ({ rank: entry.rank, client: entry.client, name: entry.name })

const countsOf = (byRank: ArrayLike<number>): StatusCounts => ({
  alive: byRank[statusRank.alive]!,
  stale: byRank[statusRank.stale]!,
  not_registered: byRank[statusRank.not_registered]!,
  paused: byRank[statusRank.paused]!,
  client_removed: byRank[statusRank.client_removed]!
})

/** Items processed between two yields of a scan: about a millisecond of work. */
const sliceSize = 2048

/**
 * The slice of one scan while `scans` run: the fibers that yielded all run again in the same turn
 * of the event loop (effect's scheduler runs what is queued), so ten scans of full slices would
 * hold it ten times as long. Sharing one slice's worth keeps a turn short however many read.
 */
const sliceFor = (scans: number) => Math.max(128, Math.floor(sliceSize / Math.max(1, scans)))

/**
 * Matches resources against search words: every word must appear (case-insensitively) in the
 * name, client, service, environment or location. The fields other than the name repeat across
 * resources, so what they contain is remembered per query.
 */
const makeMatcher = (words: ReadonlyArray<string>, covers?: (client: string) => boolean): ((entry: IndexedResource) => boolean) => {
  if (covers !== undefined) {
    const matches = makeMatcher(words)
    return (entry) => covers(entry.client) && matches(entry)
  }
  if (words.length === 0) return () => true
  const all = (1 << Math.min(words.length, 30)) - 1
  const remembered = new Map<string, number>()
  const maskOf = (text: string) => {
    let mask = 0
    const lower = text.toLowerCase()
    for (let i = 0; i < words.length && i < 30; i++) if (lower.includes(words[i]!)) mask |= 1 << i
    return mask
  }
  const sharedMask = (text: string | undefined) => {
    if (text === undefined) return 0
    let mask = remembered.get(text)
    if (mask === undefined) {
      mask = maskOf(text)
      if (remembered.size < 10_000) remembered.set(text, mask)
    }
    return mask
  }
  return (entry) => {
    const profile = entry.profile
    let mask = sharedMask(profile.client) | sharedMask(profile.service) | sharedMask(profile.environment) | sharedMask(profile.location)
    if (mask === all) return true
    mask |= maskOf(profile.resource)
    return mask === all
  }
}

/**
 * The resources in the two orders the API serves, kept up to date by the change stream: a
 * counted B+tree by (status rank, client, name) for the status order with positions, and two
 * recency logs (heard, never heard) for the last-heartbeat order. A routine heartbeat of a
 * resource whose status stays the same costs a map lookup, `statusOf` and moving it to the
 * newest end of the heard log: no reordering.
 */
export class ResourceIndexData {
  readonly byKey = new Map<string, IndexedResource>()
  readonly tree = new CountedTree<SortKey, IndexedResource>(compareKeys, keyOf)
  heard = new RecencyLog<IndexedResource>()
  readonly never = new RecencyLog<IndexedResource>()
  readonly byRank = statusOrder.map(() => 0)
  readonly byClient = new Map<string, Array<number>>()
  /** Scans (searches, filtered walks) running now: they share one slice per turn (`sliceFor`). */
  scans = 0

  /** Runs a scan counted in `scans`. */
  scanning<A>(scan: Effect.Effect<A>): Effect.Effect<A> {
    return Effect.acquireUseRelease(Effect.sync(() => this.scans++), () => scan, () => Effect.sync(() => this.scans--))
  }

  /** The change stream's listener: on the heartbeat path, so a routine heartbeat costs a few field writes. */
  readonly apply = (change: ResourceChanged): void => {
    const after = change.after
    const entry = this.byKey.get(change.key)
    if (after === undefined) {
      if (entry !== undefined) this.remove(entry)
      return
    }
    const status = statusOf(after, change.profile, change.moment)
    if (entry === undefined) {
      this.insert(change.key, change.profile, after, status)
      return
    }
    entry.state = after
    if (status !== entry.status) this.move(entry, status)
    if (change.profile !== entry.profile) entry.profile = change.profile
    // A heartbeat makes it the most recently heard; other changes only when they changed when it was last heard.
    if (change.cause === "heartbeat" || after.lastSeenMs !== change.before?.lastSeenMs || entry.logChunk === undefined) this.placeByRecency(entry)
  }

  /** A resource found by the scan at start: taken unless a change brought it first. */
  adopt(key: string, profile: ResourceProfile, state: ResourceState, moment: MonitorMoment): IndexedResource | undefined {
    if (this.byKey.has(key)) return undefined
    return this.insert(key, profile, state, statusOf(state, profile, moment), false)
  }

  private insert(key: string, profile: ResourceProfile, state: ResourceState, status: ResourceStatus, placeInLog = true): IndexedResource {
    const entry: IndexedResource = {
      key,
      client: profile.client,
      name: profile.resource,
      rank: statusRank[status],
      status,
      profile,
      state,
      logChunk: undefined,
      logSlot: 0,
      logSeq: 0
    }
    this.byKey.set(key, entry)
    this.tree.insert(entry)
    this.count(entry, 1)
    if (placeInLog) (state.lastSeenMs === undefined ? this.never : this.heard).append(entry)
    return entry
  }

  /** Takes the resource out of the tree and puts it back under its new status. */
  private move(entry: IndexedResource, status: ResourceStatus): void {
    this.tree.remove(entry)
    this.count(entry, -1)
    entry.status = status
    entry.rank = statusRank[status]
    this.tree.insert(entry)
    this.count(entry, 1)
  }

  /** The newest end of the heard log, or the never log when it was never heard (again, after a deregistration). */
  private placeByRecency(entry: IndexedResource): void {
    if (entry.state.lastSeenMs !== undefined) {
      if (!this.heard.remove(entry)) this.never.remove(entry)
      this.heard.append(entry)
    } else if (!this.never.has(entry)) {
      this.heard.remove(entry)
      this.never.append(entry)
    }
  }

  private remove(entry: IndexedResource): void {
    this.byKey.delete(entry.key)
    this.tree.remove(entry)
    this.heard.remove(entry)
    this.never.remove(entry)
    this.count(entry, -1)
  }

  private count(entry: IndexedResource, delta: number): void {
    this.byRank[entry.rank]! += delta
    let client = this.byClient.get(entry.client)
    if (client === undefined) {
      // One count per status rank, then the client's total.
      client = statusOrder.map(() => 0).concat(0)
      this.byClient.set(entry.client, client)
    }
    client[entry.rank]! += delta
    client[statusOrder.length]! += delta
    if (client[statusOrder.length] === 0) this.byClient.delete(entry.client)
  }

  /**
   * Puts the resources the scan at start found, in order of their last heartbeat, before the ones
   * heard since the scan began (which are newer), and the never-heard ones in the never log.
   */
  placeAdopted(heardOldestFirst: ReadonlyArray<IndexedResource>, neverHeard: ReadonlyArray<IndexedResource>): void {
    const since: Array<IndexedResource> = []
    this.heard.forEachFrom("oldest", 0, (entry) => since.push(entry) > 0)
    this.heard = new RecencyLog<IndexedResource>()
    for (const entry of heardOldestFirst) {
      if (this.byKey.get(entry.key) === entry && entry.logChunk === undefined) this.heard.append(entry)
    }
    for (const entry of since) this.heard.append(entry)
    for (const entry of neverHeard) {
      if (this.byKey.get(entry.key) === entry && entry.logChunk === undefined) this.never.append(entry)
    }
  }

  counts(): StatusCounts {
    return countsOf(this.byRank)
  }

  clientCounts(client: string): StatusCounts {
    return countsOf(this.byClient.get(client) ?? statusOrder.map(() => 0))
  }

  clients(): ReadonlyArray<string> {
    return [...this.byClient.keys()].sort(naturalCompare)
  }
}

/** The bounds of the status order that one rank (and client, when given) occupies. */
const rangeOf = (data: ResourceIndexData, rank: number, client: string | undefined): [number, number] => {
  const start = data.tree.countBefore((key) =>
    key.rank < rank || (key.rank === rank && client !== undefined && key.client !== client && naturalCompare(key.client, client) < 0))
  const end = data.tree.countBefore((key) =>
    key.rank < rank || (key.rank === rank && (client === undefined || key.client === client || naturalCompare(key.client, client) < 0)))
  return [start, end]
}

/** A page in the status order without a search: positions only, O(log n + page). */
const statusPage = (data: ResourceIndexData, query: ResourceQuery): ResourcePage => {
  const ranks = statusOrder.map((_, rank) => rank).filter((rank) => query.statuses === undefined || query.statuses.includes(statusOrder[rank]!))
  const ranges = ranks.map((rank) => rangeOf(data, rank, query.client))
  const total = ranges.reduce((sum, [start, end]) => sum + end - start, 0)
  // Where the page starts among the matching resources.
  let first = query.offset
  const cursor = query.cursor
  if (cursor !== undefined && cursor.sort === "status") {
    const after = { rank: cursor.rank, client: cursor.client, name: cursor.resource }
    const through = data.tree.countBefore((key) => compareKeys(key, after) <= 0)
    first = ranges.reduce((sum, [start, end]) => sum + Math.min(Math.max(through, start), end) - start, 0)
  }
  const items: Array<IndexedResource> = []
  let skip = first
  for (const [start, end] of ranges) {
    if (items.length >= query.limit) break
    if (skip >= end - start) {
      skip -= end - start
      continue
    }
    let position = start + skip
    skip = 0
    data.tree.forEachFrom(position, (entry) => {
      if (position++ >= end || items.length >= query.limit) return false
      items.push(entry)
      return true
    })
  }
  return {
    items,
    total,
    counts: query.client === undefined ? data.counts() : data.clientCounts(query.client),
    next: items.length > 0 && first + items.length < total ? statusCursor(items[items.length - 1]!) : undefined
  }
}

const statusCursor = (entry: IndexedResource): ResourceCursor => ({ sort: "status", rank: entry.rank, client: entry.client, resource: entry.name })

/**
 * A page in the status order with a search: every resource of the client (or all) is looked at,
 * in slices with a yield between them, since the counts cover them all. The walk resumes from
 * the last key it saw, so changes between slices never derail it.
 */
const statusSearch = (data: ResourceIndexData, query: ResourceQuery) =>
  Effect.gen(function*() {
    const matches = makeMatcher(query.words, query.covers)
    const byRank = statusOrder.map(() => 0)
    const items: Array<IndexedResource> = []
    const taken = new Set<IndexedResource>()
    let total = 0
    let hasMore = false
    const cursor = query.cursor?.sort === "status" ? { rank: query.cursor.rank, client: query.cursor.client, name: query.cursor.resource } : undefined
    for (let rank = 0; rank < statusOrder.length; rank++) {
      const selected = query.statuses === undefined || query.statuses.includes(statusOrder[rank]!)
      let last: SortKey | undefined
      for (;;) {
        const [start, end] = rangeOf(data, rank, query.client)
        const from = last === undefined ? start : Math.max(start, data.tree.countBefore((key) => compareKeys(key, last!) <= 0))
        if (from >= end) break
        const stop = Math.min(end, from + sliceFor(data.scans))
        let position = from
        let lastEntry: IndexedResource | undefined
        data.tree.forEachFrom(from, (entry) => {
          if (position >= stop) return false
          position++
          lastEntry = entry
          if (!matches(entry)) return true
          // Met again under its new rank: it changed status while this walk yielded.
          if (taken.has(entry)) return true
          byRank[rank]!++
          if (!selected) return true
          total++
          if (cursor !== undefined ? compareKeys(entry, cursor) <= 0 : total <= query.offset) return true
          if (items.length < query.limit) {
            items.push(entry)
            taken.add(entry)
          } else hasMore = true
          return true
        })
        // A copy: the entry's rank may change while this walk yields.
        if (lastEntry !== undefined) last = keyOf(lastEntry)
        if (stop >= end) break
        yield* Effect.yieldNow
      }
    }
    return {
      items,
      total,
      counts: countsOf(byRank),
      next: hasMore && items.length > 0 ? statusCursor(items[items.length - 1]!) : undefined
    } satisfies ResourcePage
  })

/** The parts of the last-heartbeat order, in the order a sort walks them. */
const partsOf = (data: ResourceIndexData, sort: "-lastSeen" | "lastSeen"): ReadonlyArray<{ part: "heard" | "never"; log: RecencyLog<IndexedResource>; direction: Direction }> =>
  sort === "-lastSeen"
    ? [{ part: "heard", log: data.heard, direction: "newest" }, { part: "never", log: data.never, direction: "newest" }]
    : [{ part: "never", log: data.never, direction: "oldest" }, { part: "heard", log: data.heard, direction: "oldest" }]

/**
 * A page in the last-heartbeat order. Without filters it is found by position (chunk counts);
 * with filters the logs are walked in slices with a yield between them: all of them when there is
 * a search (its counts need every match), otherwise only until the page is full and one more
 * match shows there is a next page (the counts then come from the index).
 */
const recencyPage = (data: ResourceIndexData, query: ResourceQuery, sort: "-lastSeen" | "lastSeen") =>
  Effect.gen(function*() {
    const searching = query.words.length > 0 || query.covers !== undefined
    const filtered = searching || query.statuses !== undefined || query.client !== undefined
    const matches = makeMatcher(query.words, query.covers)
    const byRank = statusOrder.map(() => 0)
    const items: Array<IndexedResource> = []
    const taken = new Set<IndexedResource>()
    let total = 0
    let hasMore = false
    let skip = query.offset
    const cursor = query.cursor?.sort === sort ? query.cursor : undefined
    // Before the cursor's part, and in it before the cursor, nothing is taken; a search still
    // walks there (its counts need every match), a filter alone starts at the cursor.
    let reached = cursor === undefined
    for (const { part, log, direction } of partsOf(data, sort)) {
      let after: number | undefined
      let takeAfter: number | undefined
      if (!reached) {
        if (cursor!.part !== part) {
          if (!searching) continue
        } else {
          reached = true
          if (searching) takeAfter = cursor!.seq
          else after = cursor!.seq
        }
      }
      const taking = reached
      if (!filtered && after === undefined && skip >= log.size) {
        skip -= log.size
        continue
      }
      for (;;) {
        let seen = 0
        let sliceFull = false
        const slice = sliceFor(data.scans)
        const visit = (entry: IndexedResource) => {
          if (filtered && seen === slice) {
            sliceFull = true
            return false
          }
          seen++
          after = entry.logSeq
          // Met again at the newest end: it was heard while this walk yielded.
          if (taken.has(entry)) return true
          if (filtered) {
            if (query.client !== undefined && entry.client !== query.client) return true
            if (!matches(entry)) return true
            byRank[entry.rank]!++
            if (query.statuses !== undefined && !query.statuses.includes(entry.status)) return true
            total++
          }
          if (!taking) return true
          if (takeAfter !== undefined && (direction === "newest" ? entry.logSeq >= takeAfter : entry.logSeq <= takeAfter)) return true
          if (skip > 0) {
            skip--
            return true
          }
          if (items.length < query.limit) {
            items.push(entry)
            taken.add(entry)
            return true
          }
          hasMore = true
          return searching
        }
        if (after !== undefined) {
          log.forEachAfter(direction, after, visit)
        } else if (filtered) {
          log.forEachFrom(direction, 0, visit)
        } else {
          const offset = skip
          skip = 0
          log.forEachFrom(direction, offset, visit)
        }
        if (!sliceFull || (hasMore && !searching)) break
        yield* Effect.yieldNow
      }
      if (hasMore && !searching) break
    }
    const counts = searching ? countsOf(byRank) : query.client === undefined ? data.counts() : data.clientCounts(query.client)
    const lastItem = items[items.length - 1]
    return {
      items,
      total: searching ? total : (query.statuses ?? statusOrder).reduce((sum, status) => sum + counts[status], 0),
      counts,
      next: lastItem !== undefined && hasMore
        ? { sort, part: lastItem.state.lastSeenMs === undefined ? "never" : "heard", seq: lastItem.logSeq }
        : undefined
    } satisfies ResourcePage
  })

/**
 * The resource index (issue 17): what the list API, the dashboard and the status gauges read,
 * at a cost that depends on the page, not on the fleet. Built at start from the supervisor's
 * actors (in slices, yielding), then kept up to date by the change stream. A status changes with
 * time alone (alive turns stale at its deadline): the actor publishes that change when it wakes at
 * the deadline, so the index follows without rescanning.
 */
export class ResourceIndex extends Context.Service<ResourceIndex, {
  readonly read: (query: ResourceQuery) => Effect.Effect<ResourcePage>
  readonly counts: () => StatusCounts
  /** Every client with resources, in natural order, with its counts. */
  readonly clients: () => ReadonlyArray<{ readonly client: string; readonly counts: StatusCounts }>
  /**
   * Every resource matching the filters, each once, in no particular order, as a puller: each
   * call gives up to `max` of them (looking at no more than 4 x `max`), undefined once done.
   * Changes between calls are fine: a resource present throughout is given exactly once.
   */
  readonly matching: (query: Pick<ResourceQuery, "statuses" | "client" | "words" | "covers">) => (max: number) => ReadonlyArray<IndexedResource> | undefined
  /** The data itself, for tests that compare it with the actors. */
  readonly data: ResourceIndexData
}>()("heartbeat-mesh/http/ResourceIndex") {}

/** Sorts in slices with a yield between them (a bottom-up merge sort over Array.sort'ed runs). */
export const sortInSlices = <T>(items: Array<T>, compare: (a: T, b: T) => number) =>
  Effect.gen(function*() {
    const run = 8192
    for (let start = 0; start < items.length; start += run) {
      const sorted = items.slice(start, start + run).sort(compare)
      for (let i = 0; i < sorted.length; i++) items[start + i] = sorted[i]!
      yield* Effect.yieldNow
    }
    let source = items
    let target: Array<T> = new Array(items.length)
    for (let width = run; width < items.length; width *= 2) {
      let moved = 0
      for (let start = 0; start < items.length; start += 2 * width) {
        const middle = Math.min(start + width, items.length)
        const end = Math.min(start + 2 * width, items.length)
        let i = start
        let j = middle
        let k = start
        while (i < middle && j < end) target[k++] = compare(source[j]!, source[i]!) < 0 ? source[j++]! : source[i++]!
        while (i < middle) target[k++] = source[i++]!
        while (j < end) target[k++] = source[j++]!
        moved += end - start
        if (moved >= 65_536) {
          moved = 0
          yield* Effect.yieldNow
        }
      }
      ;[source, target] = [target, source]
    }
    if (source !== items) for (let i = 0; i < items.length; i++) items[i] = source[i]!
    return items
  })

export const layerResourceIndex = Layer.effect(
  ResourceIndex,
  Effect.gen(function*() {
    const supervisor = yield* ResourceSupervisor
    const changes = yield* ResourceChanges
    const clock = yield* Clock.Clock
    const data = new ResourceIndexData()
    // Subscribed first: a change during the scan below is applied, and the scan then skips that resource.
    yield* changes.subscribe(data.apply)
    const heard: Array<IndexedResource> = []
    const never: Array<IndexedResource> = []
    let scanned = 0
    for (const actor of supervisor.actors()) {
      const entry = data.adopt(actor.key, actor.profile, actor.state, supervisor.moment(monotonicMillis(clock)))
      if (entry !== undefined) (entry.state.lastSeenMs === undefined ? never : heard).push(entry)
      if (++scanned % sliceSize === 0) yield* Effect.yieldNow
    }
    yield* sortInSlices(heard, (a, b) => a.state.lastSeenMs! - b.state.lastSeenMs!)
    data.placeAdopted(heard, never)

    for (const status of statusOrder) {
      yield* liveGauge("resources", "Resources by status", () => data.byRank[statusRank[status]]!, { status })
    }

    return ResourceIndex.of({
      read: (query) => {
        if (query.sort !== "status") return data.scanning(recencyPage(data, query, query.sort))
        return query.words.length === 0 && query.covers === undefined ? Effect.sync(() => statusPage(data, query)) : data.scanning(statusSearch(data, query))
      },
      counts: () => data.counts(),
      clients: () => data.clients().map((client) => ({ client, counts: data.clientCounts(client) })),
      matching: (query) => {
        const matches = makeMatcher(query.words, query.covers)
        // A map's iterator is live: every resource present throughout is visited exactly once.
        const iterator = data.byKey.values()
        let done = false
        return (max) => {
          if (done) return undefined
          const slice: Array<IndexedResource> = []
          for (let looked = 0; looked < 4 * max && slice.length < max; looked++) {
            const next = iterator.next()
            if (next.done === true) {
              done = true
              break
            }
            const entry = next.value
            if (query.client !== undefined && entry.client !== query.client) continue
            if (query.statuses !== undefined && !query.statuses.includes(entry.status)) continue
            if (matches(entry)) slice.push(entry)
          }
          return slice.length === 0 && done ? undefined : slice
        }
      },
      data
    })
  })
)
