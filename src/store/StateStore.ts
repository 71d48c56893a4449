import { Context, Effect, Layer, Schema } from "effect"
import type { ResourceStatus } from "../monitor/resourceStatus.ts"

/**
 * What survives a restart of one resource. A resource never heard from is stored only while an
 * operator has paused it.
 */
export interface StoredResource {
  readonly client: string
  readonly resource: string
  readonly firstSeenMs: number | undefined
  readonly lastSeenMs: number | undefined
  readonly timeoutOverrideMinutes: number | undefined
  readonly payload: Readonly<Record<string, unknown>> | undefined
  /** `statusOf` as of the write, for people and tools reading the database; a restored resource's status is recomputed. */
  readonly status: ResourceStatus
  readonly paused: boolean
  /** When its client was removed from the configuration (kept for `removed_client_retention`); undefined while configured. */
  readonly clientRemovedMs?: number | undefined
}

export interface ResourceId {
  readonly client: string
  readonly resource: string
}

/** A row of a batch that could not be written (its payload cannot be serialized, SQLite refused it). */
export interface SkippedRow extends ResourceId {
  readonly reason: string
}

/** What a batch wrote: everything but the rows it had to skip. */
export interface WriteReport {
  readonly skipped: ReadonlyArray<SkippedRow>
}

export const nothingSkipped: WriteReport = { skipped: [] }

export class StateStoreError extends Schema.TaggedError<StateStoreError>()("StateStoreError", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

/** Durable memory of the receiver: what it knew of every resource. */
export class StateStore extends Context.Service<StateStore, {
  /** "memory", or the database file. */
  readonly location: string
  readonly loadAll: Effect.Effect<ReadonlyArray<StoredResource>, StateStoreError>
  /**
   * One atomic batch: upserts and deletions together. A row that cannot be written is skipped and
   * reported, and costs nothing but itself; the batch fails only when the store itself cannot write.
   */
  readonly write: (
    upserts: ReadonlyArray<StoredResource>,
    deletes: ReadonlyArray<ResourceId>
  ) => Effect.Effect<WriteReport, StateStoreError>
}>()("heartbeat-mesh/store/StateStore") {}

const idOf = (id: ResourceId) => `${id.client}\u0000${id.resource}`

/** In-memory store: tests, and `--no-state`. `initial` simulates what an earlier run left. */
export const layerMemoryStateStore = (initial: ReadonlyArray<StoredResource> = []) =>
  Layer.sync(StateStore, () => {
    const rows = new Map(initial.map((row) => [idOf(row), row]))
    return StateStore.of({
      location: "memory",
      loadAll: Effect.sync(() => [...rows.values()]),
      write: (upserts, deletes) =>
        Effect.sync(() => {
          for (const id of deletes) rows.delete(idOf(id))
          for (const row of upserts) rows.set(idOf(row), row)
          return nothingSkipped
        })
    })
  })
