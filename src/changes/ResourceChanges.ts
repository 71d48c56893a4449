import { Context, Effect, Layer, type Scope } from "effect"
import type { Notification } from "../domain/Notification.ts"
import type { ChangeCause } from "../monitor/changeCause.ts"
import type { MonitorMoment } from "../monitor/MonitorMoment.ts"
import type { ResourceProfile } from "../monitor/ResourceProfile.ts"
import type { ResourceState } from "../monitor/resourceRules.ts"

export type { ChangeCause }

/**
 * One change of one resource, as its actor applied it. `before` is undefined when the resource
 * came into being with this change (configured, restored), `after` when it ended (removed from
 * the configuration, an unconfigured resource deregistered). Both undefined: a deregistration of
 * a resource the receiver did not know (its heartbeat files from an earlier run still go).
 */
export interface ResourceChanged {
  readonly cause: ChangeCause
  /** One string per resource (`resourceKey`): maps keyed by it never flatten a new string. */
  readonly key: string
  readonly profile: ResourceProfile
  readonly before: ResourceState | undefined
  readonly after: ResourceState | undefined
  /** What the change decided to tell (already handed to the outbox). */
  readonly notifications: ReadonlyArray<Notification>
  /** The moment it was applied at (its `nowMs`, timing, grace). */
  readonly moment: MonitorMoment
}

export type ChangeListener = (change: ResourceChanged) => void

/**
 * The one stream of resource changes. Actors publish; persistence, heartbeat files, the live
 * feed and metrics subscribe. Listeners run synchronously on the writer's path (the heartbeat
 * path included): each must cost a few map operations and hand anything slow to its own fiber.
 * Measured against a fiber queue or a PubSub per change, which costs 3x on ingest
 * (ARCHITECTURE.md, "Why it is built this way").
 */
export class ResourceChanges extends Context.Service<ResourceChanges, {
  readonly publish: (change: ResourceChanged) => void
  /** Hears every change published from now until the current scope closes. */
  readonly subscribe: (listener: ChangeListener) => Effect.Effect<void, never, Scope.Scope>
  /** Listeners that threw (each throw is caught: the writer and the other listeners go on). */
  readonly listenerFailures: () => number
}>()("heartbeat-mesh/changes/ResourceChanges") {
  static readonly layer: Layer.Layer<ResourceChanges> = Layer.sync(ResourceChanges, () => {
    let listeners: ReadonlyArray<ChangeListener> = []
    let failures = 0
    return ResourceChanges.of({
      publish: (change) => {
        // A copy-on-write array: iterating it is the cheapest loop there is, and (un)subscribing is rare.
        for (const listener of listeners) {
          try {
            listener(change)
          } catch {
            failures++
          }
        }
      },
      subscribe: (listener) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            listeners = [...listeners, listener]
          }),
          () =>
            Effect.sync(() => {
              listeners = listeners.filter((candidate) => candidate !== listener)
            })
        ),
      listenerFailures: () => failures
    })
  })
}
