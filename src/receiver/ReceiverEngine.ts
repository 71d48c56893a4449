import { Clock, Context, Effect, Layer } from "effect"
import type { ClientConfig, ReceiverConfig } from "../config/ReceiverConfig.ts"
import { factsOf, type WireHeartbeat } from "../domain/Heartbeat.ts"
import { layerReceiverMonitor } from "../actors/ReceiverMonitor.ts"
import { layerResourceSupervisor, ResourceSupervisor } from "../actors/ResourceSupervisor.ts"
import { TokenIndex } from "../ingress/TokenIndex.ts"
import { layerNotificationJournal } from "../notify/NotificationJournal.ts"
import { layerOutbox } from "../notify/Outbox.ts"
import { layerStatePersistence } from "../store/StatePersistence.ts"

export type IngestOutcome = "accepted" | "deregistered" | "unknown_token"

/**
 * Sees every authenticated heartbeat after it reached its actor, and every deregistration
 * (heartbeat files, live feed). Must be cheap and must not throw: it runs on the socket's hot path.
 */
export interface HeartbeatObserver {
  readonly heartbeat: (client: ClientConfig, heartbeat: WireHeartbeat, nowMs: number) => void
  readonly deregistered: (client: ClientConfig, resource: string, nowMs: number) => void
}

export const HeartbeatTap = Context.Reference<HeartbeatObserver>("heartbeat-mesh/receiver/HeartbeatTap", {
  defaultValue: () => ({ heartbeat: () => {}, deregistered: () => {} })
})

/** One observer that tells all of `observers`. */
export const combineObservers = (observers: ReadonlyArray<HeartbeatObserver>): HeartbeatObserver => ({
  heartbeat: (client, heartbeat, nowMs) => {
    for (const observer of observers) observer.heartbeat(client, heartbeat, nowMs)
  },
  deregistered: (client, resource, nowMs) => {
    for (const observer of observers) observer.deregistered(client, resource, nowMs)
  }
})

/**
 * The receiver's front door for validated heartbeats: authenticates the token, then hands the
 * heartbeat to the supervisor, which routes it to its resource actor.
 */
export class ReceiverEngine extends Context.Service<ReceiverEngine, {
  /** Synchronous, for the socket's hot path; `nowMs` must come from the receiver's Clock. */
  readonly accept: (heartbeat: WireHeartbeat, nowMs: number) => IngestOutcome
  readonly ingest: (heartbeat: WireHeartbeat) => Effect.Effect<IngestOutcome>
  /** Deregistration by an operator (HTTP API) rather than a sender; false for an unknown client. */
  readonly deregister: (client: string, resource: string) => Effect.Effect<boolean>
  /** Takes a new configuration into use: tokens, clients, configured resources, severities. */
  readonly applyConfig: (config: ReceiverConfig) => void
  readonly config: () => ReceiverConfig
}>()("heartbeat-mesh/receiver/ReceiverEngine") {}

const layerEngine = (initial: ReceiverConfig) =>
  Layer.effect(
    ReceiverEngine,
    Effect.gen(function*() {
      const supervisor = yield* ResourceSupervisor
      const tap = yield* HeartbeatTap
      let config = initial
      let tokens = new TokenIndex(initial.clients)

      const accept = (heartbeat: WireHeartbeat, nowMs: number): IngestOutcome => {
        const client = tokens.lookup(heartbeat.token)
        if (client === undefined) return "unknown_token"
        if (heartbeat.deregister === true) {
          supervisor.deregister(client, heartbeat.resource, nowMs)
          tap.deregistered(client, heartbeat.resource, nowMs)
          return "deregistered"
        }
        supervisor.deliver(client, factsOf(heartbeat), nowMs)
        tap.heartbeat(client, heartbeat, nowMs)
        return "accepted"
      }

      return ReceiverEngine.of({
        accept,
        ingest: (heartbeat) => Effect.map(Clock.currentTimeMillis, (nowMs) => accept(heartbeat, nowMs)),
        deregister: (clientName, resource) =>
          Effect.map(Clock.currentTimeMillis, (nowMs) => {
            const client = config.clients.find((candidate) => candidate.name === clientName)
            if (client === undefined) return false
            supervisor.deregister(client, resource, nowMs)
            tap.deregistered(client, resource, nowMs)
            return true
          }),
        applyConfig: (next) => {
          // Timing and identity are fixed for the life of the process; clients and resources follow the file.
          config = { ...next, timing: initial.timing, receiver: initial.receiver }
          tokens = new TokenIndex(next.clients)
          supervisor.applyConfig(config)
        },
        config: () => config
      })
    })
  )

/**
 * The whole monitoring engine for one configuration: outbox, supervisor with its actors, the
 * receiver-level monitor, the engine front door, and write-behind persistence of what it knows.
 * Needs a Notifier and a StateStore.
 */
export const layerReceiverCore = (config: ReceiverConfig) =>
  Layer.mergeAll(layerEngine(config), layerReceiverMonitor(config.timing)).pipe(
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
