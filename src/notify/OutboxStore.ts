import { Context, Effect, Layer, Schema } from "effect"
import type { Notification } from "../domain/Notification.ts"

export class OutboxStoreError extends Schema.TaggedError<OutboxStoreError>()("OutboxStoreError", {
  reason: Schema.String
}) {}

/** A state change not yet delivered to one channel. */
export interface PendingDelivery {
  readonly channel: string
  readonly id: string
  readonly notification: Notification
  readonly attempts: number
  readonly createdMs: number
}

export interface DeliveryRef {
  readonly channel: string
  readonly id: string
}

/**
 * Where undelivered state changes survive a restart (at-least-once delivery). Repeats are never
 * kept: the rules send them again anyway.
 */
export class OutboxStore extends Context.Service<OutboxStore, {
  readonly location: string | undefined
  readonly loadAll: Effect.Effect<ReadonlyArray<PendingDelivery>, OutboxStoreError>
  readonly write: (
    inserts: ReadonlyArray<PendingDelivery>,
    deletes: ReadonlyArray<DeliveryRef>
  ) => Effect.Effect<void, OutboxStoreError>
}>()("heartbeat-mesh/notify/OutboxStore") {}

/** Keeps nothing: for --no-state and tests that do not restart. */
export const layerNoOutboxStore = Layer.succeed(OutboxStore)({
  location: undefined,
  loadAll: Effect.succeed([]),
  write: () => Effect.void
})

/** Keeps deliveries in memory, shared by every receiver built on it: a restart within one test. */
export const layerMemoryOutboxStore = (rows: Map<string, PendingDelivery> = new Map()) =>
  Layer.succeed(OutboxStore)({
    location: "memory",
    loadAll: Effect.sync(() => [...rows.values()]),
    write: (inserts, deletes) =>
      Effect.sync(() => {
        for (const ref of deletes) rows.delete(`${ref.channel}\u0000${ref.id}`)
        for (const row of inserts) rows.set(`${row.channel}\u0000${row.id}`, row)
      })
  })
