import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { NotificationConfig } from "../config/notificationConfig.ts"
import type { RouteSubscription } from "../config/routeSubscriptions.ts"
import type { Notification } from "../domain/Notification.ts"
import type { CompiledMute, CompiledRoute } from "../monitor/notificationRouting.ts"

export class NotifierError extends Schema.TaggedError<NotifierError>()("NotifierError", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

/** What a channel is told besides the notification itself. */
export interface DeliveryMeta {
  /** The notification's id: the same on every retry and after a restart (for deduplication). */
  readonly id: string
  /** E-mail: the addresses of users subscribed to the route it took (Bcc, beside the channel's `to`). */
  readonly subscribers?: ReadonlyArray<string>
}

/** How one kind of destination sends a notification: one attempt, no retry, no time limit. */
export interface Transport {
  readonly send: (notification: Notification, meta: DeliveryMeta) => Effect.Effect<void, NotifierError>
}

export interface RetryPolicy {
  /** Extra attempts after the first failed one. */
  readonly retries: number
  /** Delay before the first retry; doubled for each next one, up to `maxDelayMs`. */
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  /** Spread each delay randomly (80-120 %), so many failing sends do not retry in lockstep. */
  readonly jitter: boolean
}

/** How one channel delivers: how many at once, how far apart, how long, how often again. */
export interface DeliverySettings {
  readonly concurrency: number
  /** Least time between the starts of two sends on this channel (0: none). */
  readonly pacingMs: number
  /** Longest one attempt may take. */
  readonly attemptTimeoutMs: number
  readonly retry: RetryPolicy
  /** Queue caps: past either, repeats are shed, then state changes coalesced per resource. */
  readonly maxEntries: number
  readonly maxBytes: number
  /** Whether every repeat goes out here (machine consumers) or only state changes (people). */
  readonly repeats: boolean
}

/** One configured destination. */
export interface Channel {
  readonly name: string
  readonly type: string
  readonly settings: DeliverySettings
  readonly transport: Transport
}

/** The routes and mute windows that pick among the channels. */
export interface Routing {
  /** First match wins; channels are indexes into `Channels.all`. */
  readonly routes: ReadonlyArray<CompiledRoute>
  readonly mute: ReadonlyArray<CompiledMute>
}

/** What a reloaded receiver.yaml's `routes:` and `mute:` give with the channels running now. */
export interface Rerouting {
  readonly routing: Routing
  /**
   * The file's routes differ from the running ones but its `channels:` do too (which only a
   * restart changes): they may name channels that do not run yet, so the running routes stay
   * until the restart (mute windows are taken from the file all the same).
   */
  readonly routesWaiting: boolean
}

/** Every channel notifications can go to, and the routes and mute windows that pick among them. */
export class Channels extends Context.Service<Channels, Routing & {
  readonly all: ReadonlyArray<Channel>
  /** Users' subscriptions to named routes at start (a reload hands the outbox its own: `applyConfig`). */
  readonly subscriptions: ReadonlyArray<RouteSubscription>
  /** The routing of a reloaded configuration over these channels (`routes` are those running now). */
  readonly routingFor: (notifications: NotificationConfig, running: ReadonlyArray<CompiledRoute>) => Rerouting
}>()("heartbeat-mesh/notify/Channels") {}

/** One route, no condition, to every channel: what runs when no `routes:` are configured. */
export const everythingTo = (channels: ReadonlyArray<Channel>): ReadonlyArray<CompiledRoute> => [{
  client: undefined,
  resource: undefined,
  events: undefined,
  minRank: undefined,
  channels: channels.map((_, index) => index),
  renotifyEveryMs: undefined
}]

export const defaultRetry: RetryPolicy = { retries: 3, baseDelayMs: 1000, maxDelayMs: 60_000, jitter: true }
