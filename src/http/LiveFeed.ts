import { Context, Effect, Layer, Queue, type Scope, Stream } from "effect"
import { ResourceChanges } from "../changes/ResourceChanges.ts"
import { type JournalEntry, NotificationJournal } from "../notify/NotificationJournal.ts"

interface Subscriber {
  /** Latest heartbeat per resource since the last tick: a busy fleet cannot flood a browser. */
  readonly heartbeats: Map<string, { client: string; resource: string; at: string }>
  readonly notifications: Queue.Queue<JournalEntry>
}

/** Heartbeats are batched per subscriber and sent this often. */
const tickMs = 1000
/** A comment line this often keeps proxies from closing an idle stream. */
const keepAliveTicks = 15
const encoder = new TextEncoder()

const sse = (event: string, data: unknown) => encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)

/**
 * The live feed (Server-Sent Events) of heartbeats and notifications: a subscriber of the change
 * stream and of the notification journal. With no browser watching, a change costs one size
 * check; each browser gets heartbeats coalesced per resource once a second and notifications as
 * they are decided (the newest 1,000 if it falls behind).
 */
export class LiveFeed extends Context.Service<LiveFeed, {
  /** One browser's SSE byte stream; it stops being fed when the stream's scope closes. */
  readonly subscribe: Effect.Effect<Stream.Stream<Uint8Array>, never, Scope.Scope>
  readonly subscribers: () => number
}>()("heartbeat-mesh/http/LiveFeed") {}

export const layerLiveFeed = Layer.effect(
  LiveFeed,
  Effect.gen(function*() {
    const subscribers = new Set<Subscriber>()

    const changes = yield* ResourceChanges
    yield* changes.subscribe((change) => {
      if (subscribers.size === 0 || change.cause !== "heartbeat" || change.after === undefined) return
      const { client, resource } = change.profile
      const item = { client, resource, at: new Date(change.moment.nowMs).toISOString() }
      for (const subscriber of subscribers) subscriber.heartbeats.set(change.key, item)
    })

    const journal = yield* NotificationJournal
    const unsubscribe = journal.subscribe((entry) => {
      for (const subscriber of subscribers) Queue.offerUnsafe(subscriber.notifications, entry)
    })
    yield* Effect.addFinalizer(() => Effect.sync(unsubscribe))

    const subscribe = Effect.gen(function*() {
      const subscriber: Subscriber = { heartbeats: new Map(), notifications: yield* Queue.sliding<JournalEntry>(1000) }
      subscribers.add(subscriber)
      yield* Effect.addFinalizer(() => Effect.sync(() => subscribers.delete(subscriber)))
      let ticks = 0
      const batches = Stream.tick(tickMs).pipe(
        Stream.map(() => {
          ticks++
          if (subscriber.heartbeats.size > 0) {
            const items = [...subscriber.heartbeats.values()]
            subscriber.heartbeats.clear()
            return sse("heartbeats", items)
          }
          return ticks % keepAliveTicks === 0 ? encoder.encode(": keep-alive\n\n") : new Uint8Array(0)
        })
      )
      const notifications = Stream.fromQueue(subscriber.notifications).pipe(
        Stream.map((entry) => sse("notification", { seq: entry.seq, at: new Date(entry.atMs).toISOString(), ...entry.notification }))
      )
      return Stream.concat(Stream.make(sse("ready", {})), Stream.merge(batches, notifications)).pipe(
        Stream.filter((chunk) => chunk.length > 0)
      )
    })

    return LiveFeed.of({ subscribe, subscribers: () => subscribers.size })
  })
)
