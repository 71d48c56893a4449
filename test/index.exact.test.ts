import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Layer } from "effect"
import { ResourceSupervisor } from "../src/actors/ResourceSupervisor.ts"
import { type IndexedResource, layerResourceIndex, ResourceIndex } from "../src/http/ResourceIndex.ts"
import { parseResourceQuery, type ResourceQueryParams, statusRank } from "../src/http/resourceQuery.ts"
import { statusOf } from "../src/monitor/resourceStatus.ts"
import { HeartbeatRouter } from "../src/routing/HeartbeatRouter.ts"
import { naturalCompare } from "../src/support/naturalOrder.ts"
import type { StoredResource } from "../src/store/StateStore.ts"
import { at, configFrom, receiverLayer, send } from "./support/receiverHarness.ts"

// Two clients, one minute and two minutes of timeout, jitter 60 s (the default), no grace.
const yaml = `
enabled: true
notify_devilry_sleep: 0
grace_period: 0
clients:
  Alpha:
    token: alpha-token
    timeout: 1
    resources:
      web2: {}
      web10: {service: shop, environment: prod, location: dc1}
  Beta:
    token: beta-token
    timeout: 2
    resources:
      db1: {}
`

const withIndex = (restored: ReadonlyArray<StoredResource> = []) =>
  layerResourceIndex.pipe(Layer.provideMerge(receiverLayer(yaml, restored)))

const query = (params: ResourceQueryParams) => {
  const parsed = parseResourceQuery(params)
  if ("error" in parsed) throw new Error(parsed.error)
  return parsed
}

const names = (items: ReadonlyArray<IndexedResource>) => items.map((entry) => `${entry.client}/${entry.name}:${entry.status}`)

/**
 * The index against the truth: every actor's status by `statusOf` now, the counts, and both
 * orders (status rank, client, name in natural order; last heartbeat).
 */
const assertExact = Effect.gen(function*() {
  const supervisor = yield* ResourceSupervisor
  const index = yield* ResourceIndex
  const now = supervisor.moment(yield* Clock.currentTimeMillis)
  const truth = [...supervisor.actors()].map((actor) => ({
    client: actor.profile.client,
    name: actor.profile.resource,
    status: statusOf(actor.state, actor.profile, now),
    lastSeenMs: actor.state.lastSeenMs
  }))
  truth.sort((a, b) => statusRank[a.status] - statusRank[b.status] || naturalCompare(a.client, b.client) || naturalCompare(a.name, b.name))
  assert.deepStrictEqual(names(index.data.tree.toArray()), truth.map((t) => `${t.client}/${t.name}:${t.status}`))
  const counts = { alive: 0, stale: 0, not_registered: 0, paused: 0, client_removed: 0 }
  for (const t of truth) counts[t.status]++
  assert.deepStrictEqual(index.counts(), counts)
  // Newest heartbeat first, then the never heard.
  const page = yield* index.read(query({ sort: "-lastSeen", limit: "10000" }))
  const seen = page.items.map((entry) => entry.state.lastSeenMs)
  const heard = truth.filter((t) => t.lastSeenMs !== undefined).map((t) => t.lastSeenMs!).sort((a, b) => b - a)
  assert.deepStrictEqual(seen, [...heard, ...truth.filter((t) => t.lastSeenMs === undefined).map(() => undefined)])
})

/** A small deterministic generator. */
const seeded = (seed: number) => {
  let state = seed
  return (below: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state % below
  }
}

describe("resource index", () => {
  it.effect("follows every change exactly: heartbeats, deadlines passing, pause, resume, deregistration, reconfiguration", () =>
    Effect.gen(function*() {
      const supervisor = yield* ResourceSupervisor
      const router = yield* HeartbeatRouter
      const random = seeded(11)
      let seconds = 0
      yield* assertExact
      for (let step = 0; step < 400; step++) {
        const client = random(2) === 0 ? "Alpha" : "Beta"
        const resource = ["web2", "web10", "db1", "host3", "host20", "host100"][random(6)]!
        switch (random(8)) {
          case 0:
          case 1:
          case 2:
            yield* send(`${client.toLowerCase()}-token`, resource, random(4) === 0 ? { timeout: 1 + random(3) } : {})
            break
          case 3:
            supervisor.setPaused(client, resource, random(2) === 0)
            break
          case 4:
            if (random(4) === 0) yield* router.deregister(client, resource)
            break
          case 5:
            if (random(8) === 0) {
              // A reload that changes the timeouts: every resource's deadline moves.
              supervisor.applyConfig(configFrom(yaml.replace("timeout: 1", `timeout: ${1 + random(3)}`)))
            }
            break
          default:
            // Time passes: deadlines go by and actors wake, now and then exactly on one.
            seconds += random(3) === 0 ? 120 : random(50)
        }
        yield* at(seconds)
        yield* assertExact
      }
    }).pipe(Effect.provide(withIndex())))

  it.effect("turns alive into stale at the deadline itself, without a heartbeat or a scan", () =>
    Effect.gen(function*() {
      const index = yield* ResourceIndex
      yield* at(10)
      yield* send("alpha-token", "web2")
      // Deadline: 10 s + 60 s timeout + 60 s jitter.
      yield* at(129.999)
      assert.deepStrictEqual(names((yield* index.read(query({ client: "Alpha", q: "web2" }))).items), ["Alpha/web2:alive"])
      yield* at(130)
      assert.deepStrictEqual(names((yield* index.read(query({ client: "Alpha", q: "web2" }))).items), ["Alpha/web2:stale"])
      yield* assertExact
    }).pipe(Effect.provide(withIndex())))

  it.effect("is built from what the supervisor already holds (restored at start), in last-heartbeat order", () =>
    Effect.gen(function*() {
      const index = yield* ResourceIndex
      yield* assertExact
      assert.deepStrictEqual(names(index.data.tree.toArray()), [
        "Alpha/old:stale",
        "Alpha/web2:not_registered",
        "Alpha/web10:not_registered",
        "Beta/db1:not_registered",
        "Beta/paused:paused",
        "Alpha/newer:alive"
      ])
      const newestFirst = yield* index.read(query({ sort: "-lastSeen", limit: "3" }))
      assert.deepStrictEqual(newestFirst.items.map((entry) => entry.name), ["newer", "paused", "old"])
      assert.strictEqual(newestFirst.total, 6)
    }).pipe(Effect.provide(withIndex([
      stored("Alpha", "old", -300_000),
      stored("Beta", "paused", -200_000, true),
      stored("Alpha", "newer", -1_000)
    ]))))
})

function stored(client: string, resource: string, lastSeenMs: number, paused = false): StoredResource {
  return { client, resource, firstSeenMs: lastSeenMs, lastSeenMs, timeoutOverrideMinutes: undefined, payload: undefined, status: "alive", paused }
}
