import { Clock, Context, Effect, Layer, Queue, type Scope, Stream } from "effect"
import { Sse } from "effect/encoding"
import { type ResourceChanged, ResourceChanges } from "../changes/ResourceChanges.ts"
import { type JournalEntry, NotificationJournal } from "../notify/NotificationJournal.ts"
import { wallOffsetMillis } from "../support/monotonicTime.ts"
import { isoOrNull, viewOf } from "./resourceView.ts"

interface Subscriber {
  /** Latest heartbeat change per resource since the last tick: a busy fleet cannot flood a browser. */
  readonly heard: Map<string, ResourceChanged>
  /** Latest other change per resource since the last tick (went stale, paused, removed, ...). */
  readonly changed: Map<string, ResourceChanged>
  readonly notifications: Queue.Queue<JournalEntry>
}

/** Changes are batched per subscriber and sent this often. */
const tickMs = 1000
/** A comment line this often keeps proxies from closing an idle stream (SSE comments are not events). */
const keepAliveTicks = 15
const keepAlive = ": keep-alive\n\n"
const encoder = new TextEncoder()

const event = (name: string, data: unknown, id?: string) =>
  Sse.encoder.write({ _tag: "Event", event: name, id, data: JSON.stringify(data) })

/** A heard resource: when, and its status and deadline as the server computes them. */
const heartbeatItem = ({ profile, after, moment }: ResourceChanged, wallOffsetMs: number) => {
  const view = viewOf(profile, after!, moment, wallOffsetMs)
  return { client: view.client, resource: view.resource, at: view.lastSeen, status: view.status, deadline: view.deadline }
}

/** A resource whose status or settings changed otherwise, or that is gone. */
const resourceItem = ({ profile, after, moment }: ResourceChanged, wallOffsetMs: number) =>
  after === undefined
    ? { client: profile.client, resource: profile.resource, removed: true }
    : viewOf(profile, after, moment, wallOffsetMs)

const notificationItem = (entry: JournalEntry) => ({ seq: entry.seq, at: isoOrNull(entry.atMs), ...entry.notification })

/**
 * The live feed (Server-Sent Events, encoded by effect's `Sse` encoder): a subscriber of the
 * change stream and of the notification journal. With no browser watching, a change costs one
 * size check. Each browser gets, once a second, the resources heard since the last tick
 * (`heartbeats`) and the resources that changed otherwise (`resources`: went stale, paused,
 * resumed, deregistered, reconfigured), each with the status the server computed (`statusOf`),
 * and notifications as they are decided (`notification`, id = journal seq; the newest 1,000 if
 * it falls behind).
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
    const clock = yield* Clock.Clock

    const changes = yield* ResourceChanges
    yield* changes.subscribe((change) => {
      if (subscribers.size === 0 || change.cause === "rare_check" || change.cause === "restore") return
      const heard = change.cause === "heartbeat" && change.after !== undefined
      for (const subscriber of subscribers) {
        if (heard) {
          subscriber.heard.set(change.key, change)
          subscriber.changed.delete(change.key)
        } else {
          subscriber.changed.set(change.key, change)
          subscriber.heard.delete(change.key)
        }
      }
    })

    const journal = yield* NotificationJournal
    const unsubscribe = journal.subscribe((entry) => {
      for (const subscriber of subscribers) Queue.offerUnsafe(subscriber.notifications, entry)
    })
    yield* Effect.addFinalizer(() => Effect.sync(unsubscribe))

    const subscribe = Effect.gen(function*() {
      const subscriber: Subscriber = {
        heard: new Map(),
        changed: new Map(),
        notifications: yield* Queue.sliding<JournalEntry>(1000)
      }
      subscribers.add(subscriber)
      yield* Effect.addFinalizer(() => Effect.sync(() => subscribers.delete(subscriber)))
      let ticks = 0
      const batches = Stream.tick(tickMs).pipe(
        Stream.map(() => {
          ticks++
          let text = ""
          const wallOffsetMs = wallOffsetMillis(clock)
          if (subscriber.heard.size > 0) {
            text += event("heartbeats", [...subscriber.heard.values()].map((change) => heartbeatItem(change, wallOffsetMs)))
            subscriber.heard.clear()
          }
          if (subscriber.changed.size > 0) {
            text += event("resources", [...subscriber.changed.values()].map((change) => resourceItem(change, wallOffsetMs)))
            subscriber.changed.clear()
          }
          if (text === "" && ticks % keepAliveTicks === 0) text = keepAlive
          return text
        })
      )
      const notifications = Stream.fromQueue(subscriber.notifications).pipe(
        Stream.map((entry) => event("notification", notificationItem(entry), String(entry.seq)))
      )
      return Stream.concat(Stream.make(event("ready", {})), Stream.merge(batches, notifications)).pipe(
        Stream.filter((text) => text.length > 0),
        Stream.map((text) => encoder.encode(text))
      )
    })

    return LiveFeed.of({ subscribe, subscribers: () => subscribers.size })
  })
)
