import { Layer } from "effect"
import type { ReceiverConfig } from "../config/ReceiverConfig.ts"
import { layerReceiverMonitor } from "../actors/ReceiverMonitor.ts"
import { layerResourceSupervisor } from "../actors/ResourceSupervisor.ts"
import { layerNotificationJournal } from "../notify/NotificationJournal.ts"
import { layerOutbox } from "../notify/Outbox.ts"
import { layerStatePersistence } from "../store/StatePersistence.ts"
import { layerHeartbeatRouter } from "./HeartbeatRouter.ts"

/**
 * The whole monitoring engine for one configuration: outbox, supervisor with its actors, the
 * receiver-level monitor, the router in front of them, and write-behind persistence of what it knows.
 * Needs a Notifier and a StateStore.
 */
export const layerReceiverCore = (config: ReceiverConfig) =>
  Layer.mergeAll(layerHeartbeatRouter(config), layerReceiverMonitor(config.timing)).pipe(
    Layer.provideMerge(layerResourceSupervisor(config)),
    Layer.provideMerge(layerStatePersistence({ flushIntervalMs: 1000 })),
    Layer.provideMerge(
      layerOutbox({
        receiver: config.receiver,
        pacingMs: config.notifyDevilrySleepMs,
        queueThreshold: config.queueThreshold,
        retries: 1,
        retryDelayMs: 1000,
        drainOnCloseMs: 10_000
      })
    ),
    Layer.provideMerge(layerNotificationJournal())
  )
