import { Context, Effect, Latch, Layer, Schedule } from "effect"
import type { Notification, ReceiverIdentity } from "../domain/Notification.ts"
import { queueThresholdNotification } from "../monitor/notifications.ts"
import { NotificationBacklog } from "./NotificationBacklog.ts"
import { NotificationJournal } from "./NotificationJournal.ts"
import { Notifier } from "./Notifier.ts"

export interface OutboxCounters {
  readonly sent: number
  readonly failed: number
  readonly queued: number
  readonly shed: number
}

/**
 * The paced queue between the monitor and the notifier. Actors and the heartbeat path hand
 * notifications over synchronously and never wait for a send; one fiber sends them in order,
 * `notify_devilry_sleep` apart.
 */
export class Outbox extends Context.Service<Outbox, {
  readonly enqueue: (notification: Notification) => void
  readonly enqueueAll: (notifications: ReadonlyArray<Notification>) => void
  /** Completes once everything queued so far has been handed to the notifier. */
  readonly drained: Effect.Effect<void>
  readonly counters: () => OutboxCounters
}>()("heartbeat-mesh/notify/Outbox") {}

export interface OutboxOptions {
  readonly receiver: ReceiverIdentity
  readonly pacingMs: number
  readonly queueThreshold: number
  /** Extra attempts for a failed send before the notification is given up (and counted). */
  readonly retries: number
  readonly retryDelayMs: number
  /** On shutdown, how long queued notifications may still take to go out. */
  readonly drainOnCloseMs: number
}

export const layerOutbox = (options: OutboxOptions) =>
  Layer.effect(
    Outbox,
    Effect.gen(function*() {
      const notifier = yield* Notifier
      const journal = yield* NotificationJournal
      const backlog = new NotificationBacklog(
        options.queueThreshold,
        (size) => queueThresholdNotification(options.receiver, size, options.queueThreshold)
      )
      const work = Latch.makeUnsafe(false)
      const idle = Latch.makeUnsafe(true)
      let sent = 0
      let failed = 0
      let wasShedding = false

      const enqueue = (notification: Notification) => {
        journal.record(notification)
        backlog.push(notification)
        Latch.closeUnsafe(idle)
        Latch.openUnsafe(work)
      }

      const deliver = (notification: Notification) =>
        notifier.send(notification).pipe(
          Effect.retry({ times: options.retries, schedule: Schedule.spaced(options.retryDelayMs) }),
          Effect.matchEffect({
            onSuccess: () => Effect.sync(() => sent++),
            onFailure: (error) =>
              Effect.sync(() => failed++).pipe(
                Effect.andThen(Effect.logError(`notification not delivered through ${notifier.name}`, {
                  event: notification.event,
                  resource: notification.resource,
                  reason: error.reason
                }))
              )
          })
        )

      const sendLoop = Effect.gen(function*() {
        while (true) {
          const next = backlog.shift()
          if (next === undefined) {
            Latch.closeUnsafe(work)
            Latch.openUnsafe(idle)
            yield* work.await
            continue
          }
          if (backlog.shedding !== wasShedding) {
            wasShedding = backlog.shedding
            if (wasShedding) {
              yield* Effect.logError("notification backlog reached the queue threshold; coalescing per resource and event", {
                threshold: options.queueThreshold
              })
            }
          }
          yield* deliver(next)
          if (options.pacingMs > 0) yield* Effect.sleep(options.pacingMs)
        }
      })
      yield* Effect.forkScoped(sendLoop)
      // Runs before the send loop is interrupted (finalizers run in reverse order).
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          if (backlog.size === 0) return
          const left = yield* idle.await.pipe(Effect.timeoutOption(options.drainOnCloseMs))
          if (left._tag === "None") {
            yield* Effect.logError("shutting down with notifications still queued", { queued: backlog.size })
          }
        })
      )

      return Outbox.of({
        enqueue,
        enqueueAll: (notifications) => {
          for (const notification of notifications) enqueue(notification)
        },
        drained: idle.await,
        counters: () => ({ sent, failed, queued: backlog.size, shed: backlog.shedCount })
      })
    })
  )
