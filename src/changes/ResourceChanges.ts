import { Context } from "effect"
import type { ClientConfig } from "../config/ReceiverConfig.ts"
import type { WireHeartbeat } from "../domain/Heartbeat.ts"
import type { ResourceProfile } from "../monitor/ResourceProfile.ts"
import type { ResourceState } from "../monitor/resourceRules.ts"

/** What a listener may read of a resource: its identity, configuration and current state. */
export interface ResourceEntry {
  readonly key: string
  readonly profile: ResourceProfile
  readonly state: ResourceState
}

/**
 * Told about every change of what the receiver knows (state store write-behind). Must be cheap:
 * it is called on the heartbeat path.
 */
export const ResourceChanges = Context.Reference<{
  readonly changed: (entry: ResourceEntry) => void
  readonly removed: (client: string, resource: string) => void
}>("heartbeat-mesh/changes/ResourceChanges", { defaultValue: () => ({ changed: () => {}, removed: () => {} }) })

/**
 * Sees every authenticated heartbeat after it reached its actor, and every deregistration
 * (heartbeat files, live feed). Must be cheap and must not throw: it runs on the socket's hot path.
 */
export interface HeartbeatObserver {
  readonly heartbeat: (client: ClientConfig, heartbeat: WireHeartbeat, nowMs: number) => void
  readonly deregistered: (client: ClientConfig, resource: string, nowMs: number) => void
}

export const HeartbeatTap = Context.Reference<HeartbeatObserver>("heartbeat-mesh/changes/HeartbeatTap", {
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
