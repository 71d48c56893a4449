import { Clock, Context, Effect, Layer, Queue, type Scope, Stream } from "effect"
import { Sse } from "effect/encoding"
import { type ResourceChanged, ResourceChanges } from "../changes/ResourceChanges.ts"
import { statusOf } from "../monitor/resourceStatus.ts"
import { type JournalEntry, NotificationJournal } from "../notify/NotificationJournal.ts"
import { wallOffsetMillis } from "../support/monotonicTime.ts"
import { isoOrNull, viewOf } from "./resourceView.ts"

/** One message of the live feed, the same for SSE (`event:` / `id:` / `data:`) and WebSocket (one JSON text frame). */
export interface FeedMessage {
  /** `keep-alive` every 15 s of silence (an SSE comment; a frame of its own on a WebSocket). */
  readonly event: "ready" | "heartbeats" | "resources" | "notification" | "keep-alive"
  readonly data: unknown
  /** Notifications: the journal's sequence number. */
  readonly id?: string | undefined
}

/**
 * What one subscriber wants (a WebSocket client's subscribe message); everything when empty.
 * `resource` and `event` are `*` globs; `event` narrows notifications by their event name.
 */
export interface FeedFilter {
  readonly client?: string | undefined
  readonly resource?: string | undefined
  readonly event?: string | undefined
  /**
   * false: no `heartbeats` messages; a heartbeat that changes a status (a first one, a comeback)
   * comes as a `resources` item. For a dashboard over a big fleet, which shows status changes
   * live and asks for the rows on screen now and then: its feed then costs nothing per routine
   * heartbeat (a million resources heard every minute would be 16,000 items a second).
   */
  readonly heartbeats?: boolean | undefined
}

/**
 * The clients whose changes and notifications a subscriber may see: its user's scope (issue 18.3,
 * set by StatusHttp from the request's principal); every client unless provided.
 */
export const FeedScope = Context.Reference<(client: string) => boolean>("heartbeat-mesh/http/FeedScope", { defaultValue: () => () => true })

const globMatcher = (glob: string | undefined): ((name: string) => boolean) => {
  if (glob === undefined || glob === "*") return () => true
  const pattern = new RegExp(`^${glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`)
  return (name) => pattern.test(name)
}

interface Subscriber {
  /** Latest heartbeat change per resource since the last tick: a busy fleet cannot flood a browser. */
  readonly heard: Map<string, ResourceChanged>
  /** Latest other change per resource since the last tick (went stale, paused, removed, ...). */
  readonly changed: Map<string, ResourceChanged>
  readonly notifications: Queue.Queue<JournalEntry>
  readonly wants: (client: string, resource: string) => boolean
  readonly wantsEvent: (event: string) => boolean
  readonly routineHeartbeats: boolean
}

/** Changes are batched per subscriber and sent this often. */
const tickMs = 1000
/** A keep-alive this often keeps proxies from closing an idle stream (SSE comments are not events). */
const keepAliveTicks = 15
const encoder = new TextEncoder()
const keepAlive: FeedMessage = { event: "keep-alive", data: null }

const sse = (message: FeedMessage) =>
  message === keepAlive
    ? ": keep-alive\n\n"
    : Sse.encoder.write({ _tag: "Event", event: message.event, id: message.id, data: JSON.stringify(message.data) })

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
 * The live feed: a subscriber of the change stream and of the notification journal. With nobody
 * watching, a change costs one size check. Each subscriber gets, once a second, the resources
 * heard since the last tick (`heartbeats`) and the resources that changed otherwise (`resources`:
 * went stale, paused, resumed, deregistered, reconfigured), each with the status the server
 * computed (`statusOf`), and notifications as they are decided (`notification`, id = journal seq;
 * the newest 1,000 if it falls behind). Served as Server-Sent Events (`/api/feed`, effect's `Sse`
 * encoder) and over WebSocket (`/api/feed/ws`, FeedSocket.ts) with the same messages; a
 * subscriber's filter is applied where the feed records, so a narrow one costs nothing for the rest.
 */
export class LiveFeed extends Context.Service<LiveFeed, {
  /** One subscriber's messages, narrowed by `filter`; it stops being fed when the scope closes. */
  readonly messages: (filter: FeedFilter) => Effect.Effect<Stream.Stream<FeedMessage>, never, Scope.Scope>
  /** One browser's SSE byte stream; it stops being fed when the stream's scope closes. */
  readonly subscribe: (filter?: FeedFilter) => Effect.Effect<Stream.Stream<Uint8Array>, never, Scope.Scope>
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
      const { client, resource } = change.profile
      let statusChanged: boolean | undefined
      for (const subscriber of subscribers) {
        if (!subscriber.wants(client, resource)) continue
        if (heard && !subscriber.routineHeartbeats) {
          statusChanged ??= change.before === undefined ||
            statusOf(change.before, change.profile, change.moment) !== statusOf(change.after!, change.profile, change.moment)
          if (statusChanged) subscriber.changed.set(change.key, change)
        } else if (heard) {
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
      const { client, resource, event } = entry.notification
      for (const subscriber of subscribers) {
        if (subscriber.wants(client ?? "", resource) && subscriber.wantsEvent(event)) Queue.offerUnsafe(subscriber.notifications, entry)
      }
    })
    yield* Effect.addFinalizer(() => Effect.sync(unsubscribe))

    const messages = (filter: FeedFilter) =>
      Effect.gen(function*() {
        const resourceMatches = globMatcher(filter.resource)
        const covers = yield* FeedScope
        const subscriber: Subscriber = {
          heard: new Map(),
          changed: new Map(),
          notifications: yield* Queue.sliding<JournalEntry>(1000),
          wants: (client, resource) => (filter.client === undefined || filter.client === client) && covers(client) && resourceMatches(resource),
          wantsEvent: globMatcher(filter.event),
          routineHeartbeats: filter.heartbeats !== false
        }
        subscribers.add(subscriber)
        yield* Effect.addFinalizer(() => Effect.sync(() => subscribers.delete(subscriber)))
        let ticks = 0
        const batches = Stream.tick(tickMs).pipe(
          Stream.flatMap(() => {
            ticks++
            const due: Array<FeedMessage> = []
            const wallOffsetMs = wallOffsetMillis(clock)
            if (subscriber.heard.size > 0) {
              due.push({ event: "heartbeats", data: [...subscriber.heard.values()].map((change) => heartbeatItem(change, wallOffsetMs)) })
              subscriber.heard.clear()
            }
            if (subscriber.changed.size > 0) {
              due.push({ event: "resources", data: [...subscriber.changed.values()].map((change) => resourceItem(change, wallOffsetMs)) })
              subscriber.changed.clear()
            }
            if (due.length === 0 && ticks % keepAliveTicks === 0) due.push(keepAlive)
            return Stream.fromIterable(due)
          })
        )
        const notifications = Stream.fromQueue(subscriber.notifications).pipe(
          Stream.map((entry): FeedMessage => ({ event: "notification", data: notificationItem(entry), id: String(entry.seq) }))
        )
        const ready: FeedMessage = { event: "ready", data: {} }
        return Stream.concat(Stream.succeed(ready), Stream.merge(batches, notifications))
      })

    const subscribe = (filter: FeedFilter = {}) =>
      Effect.map(messages(filter), (stream) => Stream.map(stream, (message) => encoder.encode(sse(message))))

    return LiveFeed.of({ messages, subscribe, subscribers: () => subscribers.size })
  })
)
