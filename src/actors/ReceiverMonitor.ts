import { Effect, Layer } from "effect"
import type { MonitorTiming } from "../config/timing.ts"
import type { EventName } from "../domain/Notification.ts"
import { activityCheck } from "../monitor/receiverRules.ts"
import { Outbox } from "../notify/Outbox.ts"
import { ResourceSupervisor } from "./ResourceSupervisor.ts"
import { currentMonotonicMillis } from "../support/monotonicTime.ts"

/**
 * The receiver-level monitor: an activity check every check interval (silent during the grace
 * period), and the rare checks, first when the grace period ends and then every rare interval.
 */
export const layerReceiverMonitor = (timing: MonitorTiming) =>
  Layer.effectDiscard(
    Effect.gen(function*() {
      const supervisor = yield* ResourceSupervisor
      const outbox = yield* Outbox

      const activityLoop = Effect.gen(function*() {
        let previous: EventName | undefined = undefined
        while (true) {
          yield* Effect.sleep(timing.checkIntervalMs)
          const now = yield* currentMonotonicMillis
          const notification = activityCheck(supervisor.moment(now), previous)
          if (notification === undefined) continue
          previous = notification.event
          outbox.enqueue(notification)
        }
      })

      const rareLoop = Effect.gen(function*() {
        yield* Effect.sleep(timing.graceMs)
        while (true) {
          yield* supervisor.rareCheck
          yield* Effect.sleep(timing.rareCheckIntervalMs)
        }
      })

      yield* Effect.forkScoped(activityLoop)
      yield* Effect.forkScoped(rareLoop)
    })
  )
