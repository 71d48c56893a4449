import { Clock, Context, Effect, Latch, Layer, Metric, Schedule } from "effect"
import type { ReceiverConfig } from "../config/ReceiverConfig.ts"
import type { Notification, ReceiverIdentity } from "../domain/Notification.ts"
import { firstRoute, mutedBy, renotifyDue, subscriberAddresses, type Subscribers, subscribersByRoute } from "../monitor/notificationRouting.ts"
import { queueThresholdNotification } from "../monitor/notifications.ts"
import { isRepeat } from "../monitor/repeats.ts"
import { liveCounter, liveGauge } from "../support/liveMetrics.ts"
import { monotonicMillis } from "../support/monotonicTime.ts"
import { runWriteBehind, throttledLog } from "../support/writeBehind.ts"
import { type Channel, Channels, NotifierError, type Rerouting, type RetryPolicy } from "./Channel.ts"
import { ChannelQueue, estimateBytes, type Lane, type Outgoing, stateKeyOf } from "./ChannelQueue.ts"
import { NotificationJournal } from "./NotificationJournal.ts"
import { type DeliveryRef, OutboxStore, type PendingDelivery } from "./OutboxStore.ts"
import { Silences } from "./Silences.ts"

export interface OutboxCounters {
  readonly sent: number
  readonly failed: number
  readonly queued: number
  readonly shed: number
}

/**
 * The queues between the monitor and the channels. Actors and the heartbeat path hand
 * notifications over synchronously and never wait for a send: `enqueue` routes the notification
 * and puts it in each target channel's bounded queue (O(1)); each channel's workers send from it.
 */
export class Outbox extends Context.Service<Outbox, {
  readonly enqueue: (notification: Notification) => void
  readonly enqueueAll: (notifications: ReadonlyArray<Notification>) => void
  /** Completes once everything queued so far has been handed to the channels (held mutes aside). */
  readonly drained: Effect.Effect<void>
  readonly counters: () => OutboxCounters
  /** Per channel: queue entries and bytes, sent, failed. */
  readonly channelCounters: () => ReadonlyArray<ChannelCounters>
  /** Writes pending durable changes now (tests, shutdown). */
  readonly flush: Effect.Effect<void>
  /**
   * Channels with an attempt still running past its own time limit (the transport did not stop
   * when told to): the notifier is stuck. Times on the receiver's timeline. For readiness.
   */
  readonly stuck: (nowMs: number) => ReadonlyArray<StuckChannel>
  /**
   * A reloaded receiver.yaml: its `routes:` and `mute:` take effect from the next notification
   * (routes only while its `channels:` are the running ones: see `Rerouting.routesWaiting`). State changes held
   * by a window that is gone now go out at the next look (within a second).
   */
  readonly applyConfig: (config: ReceiverConfig) => Rerouting
}>()("heartbeat-mesh/notify/Outbox") {}

export interface StuckChannel {
  readonly channel: string
  /** When the oldest running attempt started (receiver's timeline). */
  readonly sinceMs: number
  readonly timeoutMs: number
}

export interface ChannelCounters {
  readonly channel: string
  readonly type: string
  readonly entries: number
  readonly bytes: number
  readonly sent: number
  readonly failed: number
  readonly shed: number
  readonly storms: number
}

export interface OutboxOptions {
  readonly receiver: ReceiverIdentity
  /** On shutdown, how long queued notifications may still take to go out. */
  readonly drainOnCloseMs: number
  /** Undelivered state changes reach the durable store within about this long. */
  readonly persistIntervalMs?: number
}

const attributes = (channel: Channel) => ({ channel: channel.name, type: channel.type })

const metrics = {
  sent: Metric.counter("channel_sent_total", {
    description: "Notifications a channel delivered",
    incremental: true
  }),
  failed: Metric.counter("channel_failed_total", {
    description: "Notifications a channel gave up on after every retry (state changes stay in state.db for the next start)",
    incremental: true
  }),
  attemptFailures: Metric.counter("channel_attempt_failures_total", {
    description: "Failed attempts (errors and timeouts), retries included",
    incremental: true
  }),
  latency: Metric.histogram("channel_send_seconds", {
    description: "Time one delivery attempt took, per channel",
    boundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
  }),
  muted: Metric.counter("notifications_muted_total", {
    description: "Notifications a mute window held back (state changes) or dropped (repeats)",
    incremental: true
  }),
  unrouted: Metric.counter("notifications_unrouted_total", {
    description: "Notifications no route matched",
    incremental: true
  })
}

/** Exponential back-off with optional jitter, capped per delay, for `retries` more attempts. */
export const retrySchedule = (policy: RetryPolicy) => {
  const capped = Schedule.min([Schedule.exponential(policy.baseDelayMs, 2), Schedule.spaced(policy.maxDelayMs)])
  return policy.jitter ? Schedule.jittered(capped) : capped
}

interface ChannelRuntime {
  readonly channel: Channel
  readonly queue: ChannelQueue
  readonly work: Latch.Latch
  inflight: number
  /** Start (receiver's timeline) of each running attempt. */
  readonly attemptStarts: Set<{ readonly startMs: number }>
  nextStartMs: number
  sent: number
  failed: number
}

/** Rows of undelivered state changes written to the store in one transaction, at most. */
export const flushChunkRows = 1000

export const layerOutbox = (options: OutboxOptions) =>
  Layer.effect(
    Outbox,
    Effect.gen(function*() {
      const channelSet = yield* Channels
      const channels = channelSet.all
      // Replaced as a whole by a reload (applyConfig), read afresh by every notification.
      let { routes, mute } = channelSet
      // Users subscribed to named routes (issue 18.3): their addresses go with the route's e-mail deliveries.
      let subscribers: Subscribers = subscribersByRoute(channelSet.subscriptions)
      const journal = yield* NotificationJournal
      const store = yield* OutboxStore
      const silences = yield* Silences
      const clock = yield* Clock.Clock
      const context = yield* Effect.context<never>()
      const idle = Latch.makeUnsafe(true)
      const runId = clock.currentTimeMillisUnsafe().toString(36)
      let nextSeq = 0
      const nextId = () => `${runId}-${(nextSeq++).toString(36)}`

      const runtimes: Array<ChannelRuntime> = channels.map((channel) => ({
        channel,
        queue: new ChannelQueue({
          maxEntries: channel.settings.maxEntries,
          maxBytes: channel.settings.maxBytes,
          stormNotification: (backlog) =>
            outgoing(queueThresholdNotification(options.receiver, backlog, channel.settings.maxEntries), "change"),
          // A state change coalesced away is no longer owed: forget it in the durable store too.
          onDropped: (entry) => forget(channel.name, entry)
        }),
        work: Latch.makeUnsafe(false),
        inflight: 0,
        attemptStarts: new Set(),
        nextStartMs: 0,
        sent: 0,
        failed: 0
      }))
      const byName = new Map(runtimes.map((runtime) => [runtime.channel.name, runtime]))

      const outgoing = (
        notification: Notification,
        lane: Lane,
        id = nextId(),
        attempts = 0,
        to: ReadonlyArray<string> = []
      ): Outgoing => ({
        id,
        notification,
        lane,
        bytes: estimateBytes(notification),
        attempts,
        ...(to.length === 0 ? {} : { subscribers: to })
      })

      /** The subscribers' addresses for an e-mail channel on the route the notification takes now. */
      const subscribersFor = (runtime: ChannelRuntime, notification: Notification, routeIndex: number) =>
        runtime.channel.type !== "email" || routeIndex < 0 ? [] : subscriberAddresses(subscribers, routes[routeIndex]!, notification)

      // Durable state changes: written behind, deleted once delivered. A change delivered before
      // the next write never touches the disk.
      const unsaved = new Map<string, PendingDelivery>()
      let flushChunks = 0
      let saved = new Set<string>()
      let toDelete: Array<DeliveryRef> = []
      const durableKey = (channel: string, id: string) => `${channel}\u0000${id}`
      const durable = store.location !== undefined

      const remember = (runtime: ChannelRuntime, entry: Outgoing, nowMs: number) => {
        if (!durable || entry.lane !== "change") return
        unsaved.set(durableKey(runtime.channel.name, entry.id), {
          channel: runtime.channel.name,
          id: entry.id,
          notification: entry.notification,
          attempts: entry.attempts,
          createdMs: nowMs
        })
      }

      const forget = (channel: string, entry: Outgoing) => {
        if (!durable || entry.lane !== "change") return
        const key = durableKey(channel, entry.id)
        if (unsaved.delete(key)) return
        if (saved.delete(key)) toDelete.push({ channel, id: entry.id })
      }

      const logStoreFailure = throttledLog(60_000)
      /**
       * Writes what is owed in transactions of at most `flushChunkRows` rows, the event loop free
       * between them (a burst of 200,000 new resources owes one row each). Each chunk is taken and
       * written in one synchronous step, so flushes that overlap never lose or repeat a row.
       */
      const flush = Effect.gen(function*() {
        while (unsaved.size > 0 || toDelete.length > 0) {
          const deletes = toDelete.splice(0, flushChunkRows)
          const inserts: Array<PendingDelivery> = []
          for (const [key, row] of unsaved) {
            if (deletes.length + inserts.length >= flushChunkRows) break
            inserts.push(row)
            unsaved.delete(key)
          }
          const written = yield* Effect.result(store.write(inserts, deletes))
          if (written._tag === "Failure") {
            for (const row of inserts) {
              const key = durableKey(row.channel, row.id)
              if (!unsaved.has(key)) unsaved.set(key, row)
            }
            toDelete.push(...deletes)
            return yield* logStoreFailure(Effect.logError("undelivered notifications could not be saved; will retry", {
              store: store.location,
              reason: written.failure.reason
            }))
          }
          for (const row of inserts) saved.add(durableKey(row.channel, row.id))
          flushChunks++
          if (unsaved.size > 0 || toDelete.length > 0) yield* Effect.yieldNow
        }
      })

      const wake = (runtime: ChannelRuntime) => {
        Latch.closeUnsafe(idle)
        Latch.openUnsafe(runtime.work)
      }

      const put = (runtime: ChannelRuntime, entry: Outgoing, nowMs: number) => {
        runtime.queue.push(entry)
        remember(runtime, entry, nowMs)
        wake(runtime)
      }

      // Mute windows hold the latest state change per resource and state; repeats are dropped.
      const held = new Map<string, Notification>()
      const holding = Latch.makeUnsafe(false)
      /** A `mute:` window or an operator's silence (issue 18.3: a runtime mute window) open now. */
      const muted = (notification: Notification, nowMs: number) =>
        (mute.length > 0 && mutedBy(mute, notification, nowMs) !== undefined) ||
        silences.silencing(notification, nowMs) !== undefined
      // A lifted or ended silence needs no signal: while anything is held the loop below looks every second.
      // Routes with renotify_every: when a (resource, event) last went out on them.
      const lastSent = new Map<string, number>()

      const route = (notification: Notification, lane: Lane, nowMs: number) => {
        const routeIndex = firstRoute(routes, notification)
        if (routeIndex < 0) {
          metrics.unrouted.updateUnsafe(1, context)
          return
        }
        const target = routes[routeIndex]!
        let renotify = false
        if (target.renotifyEveryMs !== undefined) {
          const key = `${routeIndex}\u0000${notification.client ?? ""}\u0000${notification.resource}\u0000${notification.event}`
          if (lane === "change") lastSent.set(key, nowMs)
          else if (renotifyDue(target, notification.severity, lastSent.get(key), nowMs)) {
            renotify = true
            lastSent.set(key, nowMs)
          }
        }
        // One id per notification: every channel that carries ids sees the same one.
        const id = nextId()
        for (const index of target.channels) {
          const runtime = runtimes[index]!
          if (lane === "repeat" && !runtime.channel.settings.repeats && !renotify) continue
          put(runtime, outgoing(notification, lane, id, 0, subscribersFor(runtime, notification, routeIndex)), nowMs)
        }
      }

      const enqueue = (notification: Notification) => {
        journal.record(notification)
        const nowMs = clock.currentTimeMillisUnsafe()
        const lane: Lane = isRepeat(notification) ? "repeat" : "change"
        if (muted(notification, nowMs)) {
          metrics.muted.updateUnsafe(1, context)
          if (lane === "change") {
            held.set(stateKeyOf(notification), notification)
            Latch.openUnsafe(holding)
          }
          return
        }
        route(notification, lane, nowMs)
      }

      /** Sends what mute windows held once they have closed: the current state of each resource. */
      const releaseHeld = Effect.sync(() => {
        if (held.size === 0) return
        const nowMs = clock.currentTimeMillisUnsafe()
        for (const [key, notification] of held) {
          if (muted(notification, nowMs)) continue
          held.delete(key)
          route(notification, "change", nowMs)
        }
      })

      const isIdle = () => runtimes.every((runtime) => runtime.queue.size === 0 && runtime.inflight === 0)

      const deliver = (runtime: ChannelRuntime, entry: Outgoing) => {
        const { channel } = runtime
        const labels = attributes(channel)
        const attempt = Effect.gen(function*() {
          const started = clock.currentTimeMillisUnsafe()
          const running = { startMs: monotonicMillis(clock) }
          runtime.attemptStarts.add(running)
          const result = yield* Effect.result(
            channel.transport.send(entry.notification, entry.subscribers === undefined ? { id: entry.id } : { id: entry.id, subscribers: entry.subscribers }).pipe(
              // Until the transport itself has stopped: an attempt the time limit could not stop
              // (a child that ignores its kill) keeps counting, and the notifier is stuck.
              Effect.ensuring(Effect.sync(() => runtime.attemptStarts.delete(running))),
              Effect.timeoutOrElse({
                duration: channel.settings.attemptTimeoutMs,
                orElse: () =>
                  Effect.fail(new NotifierError({ reason: `no answer within ${channel.settings.attemptTimeoutMs} ms` }))
              })
            )
          )
          yield* Metric.update(
            Metric.withAttributes(metrics.latency, labels),
            (clock.currentTimeMillisUnsafe() - started) / 1000
          )
          if (result._tag === "Failure") {
            entry.attempts++
            yield* Metric.update(Metric.withAttributes(metrics.attemptFailures, labels), 1)
            return yield* result.failure
          }
        })
        return attempt.pipe(
          Effect.retry({ schedule: retrySchedule(channel.settings.retry), times: channel.settings.retry.retries }),
          Effect.matchEffect({
            onSuccess: () =>
              Effect.gen(function*() {
                runtime.sent++
                forget(runtime.channel.name, entry)
                yield* Metric.update(Metric.withAttributes(metrics.sent, labels), 1)
              }),
            onFailure: (error) =>
              Effect.gen(function*() {
                runtime.failed++
                yield* Metric.update(Metric.withAttributes(metrics.failed, labels), 1)
                yield* Effect.logError(`notification not delivered through channel ${channel.name}`, {
                  channel: channel.name,
                  event: entry.notification.event,
                  resource: entry.notification.resource,
                  id: entry.id,
                  attempts: entry.attempts,
                  kept: durable && entry.lane === "change" ? "in the state database, sent again at the next start" : "no",
                  reason: error.reason
                })
              })
          })
        )
      }

      /** Waits for this channel's pacing slot: starts at least `pacingMs` apart across its workers. */
      const paced = (runtime: ChannelRuntime) =>
        Effect.suspend(() => {
          const pacing = runtime.channel.settings.pacingMs
          if (pacing <= 0) return Effect.void
          const nowMs = clock.currentTimeMillisUnsafe()
          const startMs = Math.max(nowMs, runtime.nextStartMs)
          runtime.nextStartMs = startMs + pacing
          return startMs > nowMs ? Effect.sleep(startMs - nowMs) : Effect.void
        })

      const worker = (runtime: ChannelRuntime) =>
        Effect.gen(function*() {
          while (true) {
            if (runtime.queue.size === 0) {
              Latch.closeUnsafe(runtime.work)
              if (isIdle()) Latch.openUnsafe(idle)
              yield* runtime.work.await
              continue
            }
            // Wait for the pacing slot first: what waits stays in the queue, where a state change
            // can still overtake it and a newer state replace it.
            yield* paced(runtime)
            const entry = runtime.queue.shift()
            if (entry === undefined) continue
            runtime.inflight++
            yield* deliver(runtime, entry)
            runtime.inflight--
          }
        })

      const totals = () => {
        let sent = 0
        let failed = 0
        let queued = 0
        let shed = 0
        for (const runtime of runtimes) {
          const counters = runtime.queue.counters()
          sent += runtime.sent
          failed += runtime.failed
          queued += counters.entries
          shed += counters.repeatsShed + counters.changesCoalesced
        }
        return { sent, failed, queued, shed }
      }

      // Queue sizes and the queue's own totals are read when metrics are taken (no timer, no copy).
      for (const runtime of runtimes) {
        const labels = attributes(runtime.channel)
        const queue = runtime.queue
        yield* liveGauge("channel_queue_entries", "Notifications waiting, per channel", () => queue.size, labels)
        yield* liveGauge("channel_queue_bytes", "Estimated memory of the waiting notifications, per channel", () => queue.bytes, labels)
        yield* liveCounter("channel_repeats_shed_total", "Repeats dropped: superseded by a newer repeat of the same event, or past the queue cap", () => queue.counters().repeatsShed, labels)
        yield* liveCounter("channel_changes_coalesced_total", "State changes replaced by a newer state of the same resource during a queue storm", () => queue.counters().changesCoalesced, labels)
        yield* liveCounter("channel_storms_total", "Times a channel queue passed its cap with state changes (queue_threshold_reached sent)", () => queue.counters().storms, labels)
      }
      yield* liveGauge("notifications_held", "State changes held by mute windows, to be sent when they end", () => held.size)
      // Totals over every channel (the names the single-notifier receiver always had).
      yield* liveCounter("notifications_sent_total", "Notifications delivered, all channels", () => totals().sent)
      yield* liveCounter("notifications_failed_total", "Notifications given up after every retry, all channels", () => totals().failed)
      yield* liveCounter("notifications_shed_total", "Repeats shed and state changes coalesced, all channels", () => totals().shed)
      yield* liveGauge("notifications_queued", "Notifications waiting, all channels", () => totals().queued)
      yield* liveCounter("notifications_outbox_writes_total", `Transactions writing undelivered state changes to state.db (at most ${flushChunkRows} rows each)`, () => flushChunks)

      // Undelivered state changes of an earlier run go out first, under their old ids.
      const pending = yield* store.loadAll.pipe(
        Effect.catch((error) =>
          Effect.as(
            Effect.logError("undelivered notifications of the last run could not be read", {
              store: store.location,
              reason: error.reason
            }),
            []
          )
        )
      )
      const restoredIds = new Set<string>()
      for (const row of pending) {
        const runtime = byName.get(row.channel)
        if (runtime === undefined) {
          toDelete.push({ channel: row.channel, id: row.id })
          continue
        }
        // Subscribers as the routes and users stand now (they are not stored with the delivery).
        const to = subscribersFor(runtime, row.notification, firstRoute(routes, row.notification))
        runtime.queue.push(outgoing(row.notification, "change", row.id, row.attempts, to))
        saved.add(durableKey(row.channel, row.id))
        restoredIds.add(row.id)
        wake(runtime)
      }
      if (pending.length > 0) {
        yield* Effect.logInfo("undelivered notifications of the last run queued again", {
          notifications: restoredIds.size,
          deliveries: pending.length,
          dropped: toDelete.length
        })
      }

      for (const runtime of runtimes) {
        for (let n = 0; n < Math.max(1, runtime.channel.settings.concurrency); n++) {
          yield* Effect.forkScoped(worker(runtime))
        }
      }
      // While mute windows hold something, look every second whether its window has closed.
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        yield* holding.await
        yield* Effect.sleep(1000)
        yield* releaseHeld
        if (held.size === 0) Latch.closeUnsafe(holding)
      })))
      if (durable) yield* runWriteBehind(options.persistIntervalMs ?? 1000, flush)

      // Runs before the workers are interrupted (finalizers run in reverse order).
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          if (isIdle()) return
          const left = yield* idle.await.pipe(Effect.timeoutOption(options.drainOnCloseMs))
          if (left._tag === "None") {
            const queued = runtimes.reduce((sum, runtime) => sum + runtime.queue.size + runtime.inflight, 0)
            yield* Effect.logError("shutting down with notifications still queued", {
              queued,
              kept: durable ? "state changes stay in the state database for the next start" : "no (no state database)"
            })
          }
        })
      )

      return Outbox.of({
        enqueue,
        enqueueAll: (notifications) => {
          for (const notification of notifications) enqueue(notification)
        },
        drained: Effect.suspend(() => (isIdle() ? Effect.void : idle.await)),
        counters: totals,
        channelCounters: () =>
          runtimes.map((runtime) => {
            const counters = runtime.queue.counters()
            return {
              channel: runtime.channel.name,
              type: runtime.channel.type,
              entries: counters.entries,
              bytes: counters.bytes,
              sent: runtime.sent,
              failed: runtime.failed,
              shed: counters.repeatsShed + counters.changesCoalesced,
              storms: counters.storms
            }
          }),
        flush,
        applyConfig: (config) => {
          const rerouting = channelSet.routingFor(config.notifications, routes)
          // renotify_every's memory is per route (by position): new routes start it afresh.
          if (rerouting.routing.routes !== routes) lastSent.clear()
          routes = rerouting.routing.routes
          mute = rerouting.routing.mute
          subscribers = subscribersByRoute(config.subscriptions ?? [])
          if (held.size > 0) Latch.openUnsafe(holding)
          return rerouting
        },
        stuck: (nowMs) => {
          const stuck: Array<StuckChannel> = []
          for (const runtime of runtimes) {
            const timeoutMs = runtime.channel.settings.attemptTimeoutMs
            let oldest = Number.POSITIVE_INFINITY
            for (const running of runtime.attemptStarts) oldest = Math.min(oldest, running.startMs)
            if (nowMs - oldest > timeoutMs) stuck.push({ channel: runtime.channel.name, sinceMs: oldest, timeoutMs })
          }
          return stuck
        }
      })
    })
  )
