import { Layer } from "effect"
import type { ReceiverConfig } from "../config/ReceiverConfig.ts"
import { layerReceiverMonitor } from "../actors/ReceiverMonitor.ts"
import { layerResourceSupervisor } from "../actors/ResourceSupervisor.ts"
import { layerChangeMetrics } from "../changes/changeMetrics.ts"
import { ResourceChanges } from "../changes/ResourceChanges.ts"
import { layerNotificationJournal, type NotificationJournal } from "../notify/NotificationJournal.ts"
import { type ChannelBuildOptions, layerChannels } from "../notify/channels.ts"
import { layerOutbox } from "../notify/Outbox.ts"
import { layerSilences, type Silences } from "../notify/Silences.ts"
import { layerStatePersistence, stateFlushIntervalMs } from "../store/StatePersistence.ts"
import type { StateStore } from "../store/StateStore.ts"
import { layerHeartbeatRouter } from "./HeartbeatRouter.ts"

/**
 * The whole monitoring engine for one configuration: the change stream, outbox, supervisor with its
 * actors, the receiver-level monitor, the router in front of them, and write-behind persistence of
 * what it knows. Needs a Notifier (the channel when none are configured), a StateStore, an
 * OutboxStore, a SilenceStore, the platform for configured channels (HttpClient, ChildProcessSpawner) and an
 * ActorProbe (`ActorProbe.layerNone`).
 */
export const layerReceiverCore = (config: ReceiverConfig, channels: ChannelOptions = defaultChannelOptions) =>
  layerReceiverCoreListening(config, Layer.empty, channels)

export type ChannelOptions = ChannelBuildOptions & { readonly notifierOnly: boolean }
const defaultChannelOptions: ChannelOptions = { forceSend: false, notifierOnly: false }

/**
 * The core with `listeners` subscribed to the change stream before the first change (the restore
 * at start): for subscribers that must see every change from the beginning (the history, tests).
 */
export const layerReceiverCoreListening = <A, E>(
  config: ReceiverConfig,
  listeners: Layer.Layer<A, E, ResourceChanges | NotificationJournal | StateStore | Silences>,
  channels: ChannelOptions = defaultChannelOptions
) =>
  Layer.mergeAll(layerHeartbeatRouter(config), layerReceiverMonitor(config.timing)).pipe(
    Layer.provideMerge(layerResourceSupervisor(config)),
    Layer.provideMerge(Layer.merge(listeners, layerChangeMetrics)),
    Layer.provideMerge(layerStatePersistence({ flushIntervalMs: stateFlushIntervalMs })),
    Layer.provideMerge(layerOutbox({ receiver: config.receiver, drainOnCloseMs: 10_000 })),
    Layer.provideMerge(layerChannels(config, channels)),
    Layer.provideMerge(layerSilences),
    Layer.provideMerge(layerNotificationJournal()),
    Layer.provideMerge(ResourceChanges.layer)
  )
