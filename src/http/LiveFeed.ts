import { Context, Effect, Layer, Queue, Stream } from "effect"
import type { JournalEntry } from "../notify/NotificationJournal.ts"
import type { HeartbeatObserver } from "../changes/ResourceChanges.ts"

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
 * The live feed (Server-Sent Events) of heartbeats and notifications. With no subscriber the
 * heartbeat path pays one size check; each subscriber gets heartbeats coalesced per resource once a
 * second and notifications as they are decided (the newest 1,000 if it falls behind).
 */
export class LiveFeed extends Context.Service<LiveFeed, {
  readonly observer: HeartbeatObserver
  readonly notification: (entry: JournalEntry) => void
  /** One subscriber's SSE byte stream; unsubscribes when the stream's scope closes. */
  readonly subscribe: Effect.Effect<Stream.Stream<Uint8Array>, never, import("effect").Scope.Scope>
  readonly subscribers: () => number
}>()("heartbeat-mesh/http/LiveFeed") {}

export const layerLiveFeed = Layer.sync(LiveFeed, () => {
  const subscribers = new Set<Subscriber>()

  const observer: HeartbeatObserver = {
    heartbeat: (client, heartbeat, nowMs) => {
      if (subscribers.size === 0) return
      const item = { client: client.name, resource: heartbeat.resource, at: new Date(nowMs).toISOString() }
      for (const subscriber of subscribers) subscriber.heartbeats.set(`${client.name}\u0000${heartbeat.resource}`, item)
    },
    deregistered: () => {}
  }

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

  return LiveFeed.of({
    observer,
    notification: (entry) => {
      for (const subscriber of subscribers) Queue.offerUnsafe(subscriber.notifications, entry)
    },
    subscribe,
    subscribers: () => subscribers.size
  })
})
