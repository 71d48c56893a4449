import { Context, Effect, Layer } from "effect"
import { type ResourceEntry, ResourceChanges } from "../changes/ResourceChanges.ts"
import { resourceKey } from "../monitor/ResourceProfile.ts"
import { runWriteBehind, throttledLog } from "../support/writeBehind.ts"
import { type ResourceId, StateStore, type StoredResource } from "./StateStore.ts"

export interface StatePersistenceCounters {
  readonly flushes: number
  readonly rowsWritten: number
  readonly rowsDeleted: number
  readonly failures: number
  readonly pending: number
}

export class StatePersistence extends Context.Service<StatePersistence, {
  /** Writes every pending change now (shutdown, tests). */
  readonly flush: Effect.Effect<void>
  readonly counters: () => StatePersistenceCounters
  readonly location: string
}>()("heartbeat-mesh/store/StatePersistence") {}

/** What an earlier run knew, to restore at start. */
export const RestoredResources = Context.Reference<ReadonlyArray<StoredResource>>(
  "heartbeat-mesh/store/RestoredResources",
  { defaultValue: () => [] }
)

export interface StatePersistenceOptions {
  /** Changes reach the store within about this long. */
  readonly flushIntervalMs: number
}

/** The row to keep for an actor, or undefined when there is nothing worth keeping (never heard, not paused). */
const rowOf = (actor: ResourceEntry): StoredResource | undefined => {
  const { state, profile } = actor
  if (state.lastSeenMs === undefined && !state.paused) return undefined
  return {
    client: profile.client,
    resource: profile.resource,
    firstSeenMs: state.firstSeenMs,
    lastSeenMs: state.lastSeenMs,
    timeoutOverrideMinutes: state.timeoutOverrideMinutes,
    payload: state.payload,
    status: state.lastSeenMs === undefined ? "never" : state.nextTimeoutAlertMs === undefined ? "alive" : "stale",
    paused: state.paused
  }
}

/**
 * Write-behind persistence of what the supervisor knows. The heartbeat path only marks the actor
 * as changed (one Map.set); a fiber writes every change since the last flush as one transaction
 * every `flushIntervalMs`, and once more at shutdown. A failed write is logged and retried at the
 * next flush; monitoring never waits for the disk.
 */
export const layerStatePersistence = (options: StatePersistenceOptions) =>
  Layer.effectContext(
    Effect.gen(function*() {
      const store = yield* StateStore
      const restored = yield* store.loadAll
      // Latest change per resource: the actor (write its state) or the id (delete it).
      let dirty = new Map<string, ResourceEntry | ResourceId>()
      let flushes = 0
      let rowsWritten = 0
      let rowsDeleted = 0
      let failures = 0
      const logFailure = throttledLog(60_000)

      const changes = {
        changed: (actor: ResourceEntry) => {
          dirty.set(actor.key, actor)
        },
        removed: (client: string, resource: string) => {
          dirty.set(resourceKey(client, resource), { client, resource })
        }
      }

      const flush = Effect.gen(function*() {
        if (dirty.size === 0) return
        const batch = dirty
        dirty = new Map()
        const upserts: Array<StoredResource> = []
        const deletes: Array<ResourceId> = []
        for (const entry of batch.values()) {
          if ("state" in entry) {
            const row = rowOf(entry)
            if (row === undefined) deletes.push({ client: entry.profile.client, resource: entry.profile.resource })
            else upserts.push(row)
          } else {
            deletes.push(entry)
          }
        }
        const written = yield* Effect.result(store.write(upserts, deletes))
        if (written._tag === "Success") {
          flushes++
          rowsWritten += upserts.length
          rowsDeleted += deletes.length
          return
        }
        failures++
        // Keep the batch for the next attempt, unless a newer change superseded an entry.
        for (const [key, entry] of batch) if (!dirty.has(key)) dirty.set(key, entry)
        yield* logFailure(Effect.logError("state could not be saved; will retry, monitoring goes on", {
          store: store.location,
          pending: dirty.size,
          reason: written.failure.reason
        }))
      })

      yield* runWriteBehind(options.flushIntervalMs, flush)
      if (restored.length > 0) {
        yield* Effect.logInfo("state restored", { store: store.location, resources: restored.length })
      }

      return Context.make(ResourceChanges, changes).pipe(
        Context.add(RestoredResources, restored),
        Context.add(StatePersistence, StatePersistence.of({
          flush,
          location: store.location,
          counters: () => ({ flushes, rowsWritten, rowsDeleted, failures, pending: dirty.size })
        }))
      )
    })
  )
