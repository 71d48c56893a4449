import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { ResourceSupervisor } from "../src/actors/ResourceSupervisor.ts"
import { type IndexedResource, layerResourceIndex, ResourceIndex } from "../src/http/ResourceIndex.ts"
import { encodeCursor, parseResourceQuery, type ResourceQuery, type ResourceQueryParams, statusOrder, statusRank } from "../src/http/resourceQuery.ts"
import { naturalCompare } from "../src/support/naturalOrder.ts"
import { at, receiverLayer, send } from "./support/receiverHarness.ts"

// Three clients; enough resources (5,000) for several tree levels and several scan slices.
const yaml = `
enabled: true
notify_devilry_sleep: 0
grace_period: 0
clients:
  Web:
    token: web-token
    timeout: 1
    resources:
      shop10: {service: shop, environment: prod, location: Paris}
      shop9: {service: shop, environment: staging, location: Berlin}
  Db:
    token: db-token
    timeout: 5
  Batch:
    token: batch-token
    timeout: 30
`

const query = (params: ResourceQueryParams): ResourceQuery => {
  const parsed = parseResourceQuery(params)
  if ("error" in parsed) throw new Error(parsed.error)
  return parsed
}

/** What a query must give, worked out the slow way from every resource the index holds. */
const expected = (all: ReadonlyArray<IndexedResource>, q: ResourceQuery) => {
  const wanted = all.filter((entry) => {
    if (q.client !== undefined && entry.client !== q.client) return false
    const text = [entry.name, entry.client, entry.profile.service, entry.profile.environment ?? "", entry.profile.location ?? ""].join("\n").toLowerCase()
    return q.words.every((word) => text.includes(word))
  })
  const counts = { alive: 0, stale: 0, not_registered: 0, paused: 0, client_removed: 0 }
  for (const entry of wanted) counts[entry.status]++
  const items = wanted.filter((entry) => q.statuses === undefined || q.statuses.includes(entry.status))
  const byRecency = (a: IndexedResource, b: IndexedResource) => {
    const heardA = a.state.lastSeenMs !== undefined
    const heardB = b.state.lastSeenMs !== undefined
    if (heardA !== heardB) return heardA ? -1 : 1
    return heardA ? b.state.lastSeenMs! - a.state.lastSeenMs! || b.logSeq - a.logSeq : b.logSeq - a.logSeq
  }
  items.sort(
    q.sort === "status"
      ? (a, b) => a.rank - b.rank || naturalCompare(a.client, b.client) || naturalCompare(a.name, b.name)
      : q.sort === "-lastSeen"
      ? byRecency
      : (a, b) => byRecency(b, a)
  )
  return { keys: items.map((entry) => entry.key), counts }
}

/** Every page of a query, following the cursors. */
const walk = (params: ResourceQueryParams) =>
  Effect.gen(function*() {
    const index = yield* ResourceIndex
    const keys: Array<string> = []
    let cursor: string | undefined
    for (let pages = 0; pages < 10_000; pages++) {
      const page = yield* index.read(query({ ...params, ...(cursor === undefined ? {} : { cursor }) }))
      keys.push(...page.items.map((entry) => entry.key))
      if (page.next === undefined) return { keys, total: page.total, counts: page.counts, pages: pages + 1 }
      cursor = encodeCursor(page.next)
    }
    throw new Error("endless paging")
  })

const fleet = Effect.gen(function*() {
  const supervisor = yield* ResourceSupervisor
  // 5,000 resources heard over 50 s: web (1 min timeout), db (5 min), batch (30 min).
  for (let i = 0; i < 5000; i++) {
    if (i % 100 === 0) yield* at(i / 100)
    const client = ["web", "db", "batch"][i % 3]!
    yield* send(`${client}-token`, `${client === "web" ? "node" : client}${i}.${i % 2 === 0 ? "eu" : "us"}.example.com`)
  }
  // Two minutes later the web ones are stale (1 min + 60 s jitter), the rest alive; some paused.
  yield* at(170)
  for (let i = 1; i < 5000; i += 37) supervisor.setPaused(["Web", "Db", "Batch"][i % 3]!, `${["node", "db", "batch"][i % 3]}${i}.${i % 2 === 0 ? "eu" : "us"}.example.com`, true)
})

describe("resource index reads", () => {
  it.effect("pages by cursor and by offset give exactly the filtered, ordered list, with exact totals and counts", () =>
    Effect.gen(function*() {
      yield* fleet
      const index = yield* ResourceIndex
      const all = [...index.data.byKey.values()]
      assert.strictEqual(all.length, 5002)
      const counts = index.counts()
      assert.deepStrictEqual(counts, expected(all, query({})).counts)
      // Every status is there: web resources went stale, a few of all paused, two never heard.
      assert.isAbove(counts.stale, 1500)
      assert.isAbove(counts.alive, 3000)
      assert.strictEqual(counts.not_registered, 2)
      assert.isAbove(counts.paused, 100)
      const cases: Array<ResourceQueryParams> = [
        {},
        { status: "stale" },
        { status: "paused,not_registered" },
        { client: "Db" },
        { client: "Web", status: "alive" },
        { q: "EU" },
        { q: "eu 12" },
        { q: "shop paris" },
        { q: "batch", status: "alive,paused" },
        { q: "nothing-matches-this" },
        { sort: "-lastSeen" },
        { sort: "lastSeen" },
        { sort: "-lastSeen", status: "paused" },
        { sort: "lastSeen", client: "Batch", q: "us" }
      ]
      for (const params of cases) {
        for (const limit of ["97", "1000"]) {
          const walked = yield* walk({ ...params, limit })
          const truth = expected(all, query(params))
          assert.deepStrictEqual(walked.keys, truth.keys, JSON.stringify(params))
          assert.strictEqual(walked.total, truth.keys.length, JSON.stringify(params))
          assert.deepStrictEqual(walked.counts, truth.counts, JSON.stringify(params))
          assert.strictEqual(walked.pages, Math.max(1, Math.ceil(truth.keys.length / Number(limit))), JSON.stringify(params))
        }
        // Any offset gives the slice at that position.
        const truth = expected(all, query(params))
        for (const offset of [0, 1, 96, 1000, 2047, 2048, 4999, 5002, 9000]) {
          const page = yield* index.read(query({ ...params, offset: String(offset), limit: "50" }))
          assert.deepStrictEqual(page.items.map((entry) => entry.key), truth.keys.slice(offset, offset + 50), `${JSON.stringify(params)} at ${offset}`)
        }
      }
    }).pipe(Effect.provide(layerResourceIndex.pipe(Layer.provideMerge(receiverLayer(yaml))))), { timeout: 120_000 })

  it.effect("a cursor stays valid while resources change: what did not move is neither lost nor repeated", () =>
    Effect.gen(function*() {
      yield* fleet
      const index = yield* ResourceIndex
      const supervisor = yield* ResourceSupervisor
      const first = yield* index.read(query({ limit: "500" }))
      // Before the next page: the last resource shown comes back (stale -> alive) and others go.
      const shown = first.items[first.items.length - 1]!
      // A copy: index entries are live (this one's status is about to change).
      const last = { rank: shown.rank, client: shown.client, name: shown.name }
      yield* send("web-token", last.name)
      supervisor.setPaused("Db", "db4999.us.example.com", true)
      const second = yield* index.read(query({ limit: "500", cursor: encodeCursor(first.next!) }))
      const wholeNow = expected([...index.data.byKey.values()], query({})).keys
      // The second page starts right after where the cursor's key sorts now.
      const cut = wholeNow.findIndex((key) => {
        const entry = index.data.byKey.get(key)!
        return entry.rank > last.rank || (entry.rank === last.rank && (naturalCompare(entry.client, last.client) > 0 ||
          (entry.client === last.client && naturalCompare(entry.name, last.name) > 0)))
      })
      assert.deepStrictEqual(second.items.map((entry) => entry.key), wholeNow.slice(cut, cut + 500))
      assert.strictEqual(statusOrder[first.items[0]!.rank], "stale")
      assert.strictEqual(statusRank.stale, 0)
    }).pipe(Effect.provide(layerResourceIndex.pipe(Layer.provideMerge(receiverLayer(yaml))))), { timeout: 120_000 })

  it.effect("a search that yields while a resource changes status shows it once", () =>
    Effect.gen(function*() {
      yield* fleet
      const index = yield* ResourceIndex
      const supervisor = yield* ResourceSupervisor
      // node75: a Web resource paused by the fleet. Its alive place (client Web) is after the first
      // slice of the alive rank, so a walk that has passed the paused rank meets it again there.
      const name = "node75.us.example.com"
      assert.strictEqual(index.data.byKey.get([...index.data.byKey.keys()].find((key) => key.endsWith(name))!)!.status, "paused")
      const search = yield* Effect.forkChild(index.read(query({ q: name })))
      // The search runs up to its first yield (paused rank walked, first alive slice), then this.
      yield* Effect.yieldNow
      supervisor.setPaused("Web", name, false)
      yield* send("web-token", name)
      const page = yield* Fiber.join(search)
      assert.deepStrictEqual(page.items.map((entry) => `${entry.name} ${entry.status}`), [`${name} alive`])
      assert.strictEqual(page.total, 1)
    }).pipe(Effect.provide(layerResourceIndex.pipe(Layer.provideMerge(receiverLayer(yaml))))), { timeout: 120_000 })
})
