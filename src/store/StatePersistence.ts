import { Clock, Context, Effect, Layer, Semaphore } from "effect"
import { type ResourceChanged, ResourceChanges } from "../changes/ResourceChanges.ts"
import type { ResourceState } from "../monitor/resourceRules.ts"
import { statusOf } from "../monitor/resourceStatus.ts"
import { liveCounter, liveGauge } from "../support/liveMetrics.ts"
import { monotonicMillis, wallOffsetMillis } from "../support/monotonicTime.ts"
import { runWriteBehind, throttledLog } from "../support/writeBehind.ts"
import { repairStored } from "./repairStored.ts"
import { type ResourceId, type SkippedRow, StateStore, type StoredResource } from "./StateStore.ts"

export interface StatePersistenceCounters {
  readonly flushes: number
  readonly rowsWritten: number
  readonly rowsDeleted: number
  readonly failures: number
  readonly rowsSkipped: number
  /**
   * On the receiver's timeline: since when every write has failed (the first failure after the
   * last success), with the last failure's reason; undefined while writes succeed.
   */
  readonly failingSinceMs: number | undefined
  readonly lastFailure: string | undefined
  readonly pending: number
}

export class StatePersistence extends Context.Service<StatePersistence, {
  /** What the last run stored, loaded at start: the supervisor restores its actors from it. */
  readonly restored: ReadonlyArray<StoredResource>
  /** Writes every pending change now (shutdown, tests). */
  readonly flush: Effect.Effect<void>
  readonly counters: () => StatePersistenceCounters
  readonly location: string
}>()("heartbeat-mesh/store/StatePersistence") {}

export interface StatePersistenceOptions {
  /** Changes reach the store within about this long. */
  readonly flushIntervalMs: number
}

/** A state worth keeping across a restart: heard from, or paused. */
const isWorthKeeping = (state: ResourceState | undefined): state is ResourceState =>
  state !== undefined && (state.lastSeenMs !== undefined || state.paused)

/**
 * The row a change leaves behind, or undefined when nothing is worth keeping (delete the row).
 * Times are stored as wall-clock times: `wallOffsetMs` is how far the wall clock is ahead of the
 * receiver's monotonic timeline now.
 */
const rowOf = ({ profile, after, moment }: ResourceChanged, wallOffsetMs: number): StoredResource | undefined =>
  isWorthKeeping(after)
    ? {
      client: profile.client,
      resource: profile.resource,
      firstSeenMs: after.firstSeenMs === undefined ? undefined : after.firstSeenMs + wallOffsetMs,
      lastSeenMs: after.lastSeenMs === undefined ? undefined : after.lastSeenMs + wallOffsetMs,
      timeoutOverrideMinutes: after.timeoutOverrideMinutes,
      payload: after.payload,
      status: statusOf(after, profile, moment),
      paused: after.paused,
      ...(profile.clientRemovedAtMs === undefined ? {} : { clientRemovedMs: profile.clientRemovedAtMs + wallOffsetMs })
    }
    : undefined

/** The first few skipped rows for a log line: which resources, and why the first one failed. */
const namedRows = (skipped: ReadonlyArray<SkippedRow>) => ({
  resources: skipped.slice(0, 5).map((row) => `${row.client}/${row.resource.slice(0, 120)}`).join(", ") +
    (skipped.length > 5 ? `, and ${skipped.length - 5} more` : ""),
  reason: skipped[0]?.reason ?? ""
})

/** A stored row with its times on the receiver's timeline. */
const onTimeline = (row: StoredResource, wallOffsetMs: number): StoredResource =>
  wallOffsetMs === 0 ? row : {
    ...row,
    firstSeenMs: row.firstSeenMs === undefined ? undefined : row.firstSeenMs - wallOffsetMs,
    lastSeenMs: row.lastSeenMs === undefined ? undefined : row.lastSeenMs - wallOffsetMs,
    ...(row.clientRemovedMs === undefined ? {} : { clientRemovedMs: row.clientRemovedMs - wallOffsetMs })
  }

/**
 * How often changes are written. With a flush's own time (a few ms for a fleet's usual changes),
 * what a SIGKILL can cost stays under a second: a change waits at most this long to be taken, and
 * is committed within its chunk's time after.
 */
export const stateFlushIntervalMs = 500

/**
 * Rows per transaction when writing changes: a burst of 100,000 new resources is written as 100
 * transactions (about 10-30 ms each here) with the event loop free in between, rather than one
 * that blocks the receiver for a second or more.
 */
export const flushChunkRows = 1000

/** Repairs named one by one in the log at start; past this, one line with the count. */
const namedRepairs = 20

/**
 * What the store holds, each row brought back into range (`repairStored`), its times moved from
 * the wall clock onto the receiver's timeline. Repaired rows are written back at once, so a repair
 * is logged once, not at every start.
 */
const restoreRepaired = (store: StateStore["Service"], clock: Clock.Clock) =>
  Effect.gen(function*() {
    const loaded = yield* store.loadAll
    const nowMs = clock.currentTimeMillisUnsafe()
    const rows: Array<StoredResource> = []
    const repairedRows: Array<StoredResource> = []
    const lines: Array<string> = []
    for (const stored of loaded) {
      const { row, repairs } = repairStored(stored, nowMs)
      rows.push(row)
      if (repairs.length === 0) continue
      repairedRows.push(row)
      lines.push(`${row.client}/${row.resource.slice(0, 120)}: ${repairs.join("; ")}`)
    }
    for (const line of lines.slice(0, namedRepairs)) {
      yield* Effect.logWarning("stored resource repaired", { store: store.location, repair: line })
    }
    if (lines.length > namedRepairs) {
      yield* Effect.logWarning("stored resources repaired: more not listed", { store: store.location, more: lines.length - namedRepairs })
    }
    if (repairedRows.length > 0) {
      const written = yield* Effect.result(store.write(repairedRows, []))
      if (written._tag === "Failure") {
        yield* Effect.logWarning("repaired rows could not be written back; they are repaired again at the next start", {
          store: store.location,
          reason: written.failure.reason
        })
      }
    }
    return { rows, repaired: repairedRows.length }
  })

/**
 * Write-behind persistence of what the actors know, a subscriber of the change stream. A change
 * costs one Map.set (the latest change per resource wins); a fiber writes every change since the
 * last flush as one transaction every `flushIntervalMs`, and once more at shutdown. A failed write
 * is logged and retried at the next flush; a row that cannot be written (its payload has no JSON
 * form) is logged, counted and skipped, and the other rows are written. Monitoring never waits for
 * the disk.
 */
export const layerStatePersistence = (options: StatePersistenceOptions) =>
  Layer.effect(
    StatePersistence,
    Effect.gen(function*() {
      const store = yield* StateStore
      const changes = yield* ResourceChanges
      const clock = yield* Clock.Clock
      const { rows: restoredWall, repaired } = yield* restoreRepaired(store, clock)
      const restored = restoredWall.map((row) => onTimeline(row, wallOffsetMillis(clock)))
      let dirty = new Map<string, ResourceChanged>()
      let flushes = 0
      let rowsWritten = 0
      let rowsDeleted = 0
      let failures = 0
      let rowsSkipped = 0
      let failingSinceMs: number | undefined = undefined
      let lastFailure: string | undefined = undefined
      const logFailure = throttledLog(60_000)
      const logSkipped = throttledLog(60_000)

      yield* changes.subscribe((change) => {
        // A restored resource is what the store holds; a rare check changes no state. A
        // configuration change may change only the profile, which the row records too (since
        // when its client is removed).
        if (change.cause === "restore" || (change.before === change.after && change.cause !== "configure")) return
        if (isWorthKeeping(change.before) || isWorthKeeping(change.after)) dirty.set(change.key, change)
      })

      /** Writes one chunk; false when the store itself failed (the caller keeps what is left for the next flush). */
      const writeChunk = (chunk: ReadonlyArray<ResourceChanged>) =>
        Effect.gen(function*() {
          const upserts: Array<StoredResource> = []
          const deletes: Array<ResourceId> = []
          const wallOffset = wallOffsetMillis(clock)
          for (const change of chunk) {
            const row = rowOf(change, wallOffset)
            if (row === undefined) deletes.push({ client: change.profile.client, resource: change.profile.resource })
            else upserts.push(row)
          }
          const written = yield* Effect.result(store.write(upserts, deletes))
          if (written._tag === "Failure") {
            failures++
            failingSinceMs ??= monotonicMillis(clock)
            lastFailure = written.failure.reason
            return false
          }
          failingSinceMs = undefined
          lastFailure = undefined
          const skipped = written.success.skipped
          flushes++
          rowsWritten += upserts.length - skipped.length
          rowsDeleted += deletes.length
          if (skipped.length === 0) return true
          // Not retried: the same value would fail the same way; the resource's next change is written.
          rowsSkipped += skipped.length
          yield* logSkipped(Effect.logError("state rows could not be saved and were skipped; every other resource was saved", {
            store: store.location,
            skipped: skipped.length,
            ...namedRows(skipped)
          }))
          return true
        })

      // One flush at a time: the shutdown flush waits for one in progress, which is never cut
      // between its chunks (what it took from `dirty` would be lost).
      const oneAtATime = yield* Semaphore.make(1)
      const flushOnce = Effect.gen(function*() {
        if (dirty.size === 0) return
        // Oldest change first (a Map keeps the order in which resources first changed), in
        // transactions of at most `flushChunkRows`, letting the event loop (ingress, HTTP) run
        // between them: a burst of new resources never stalls the receiver for the whole write,
        // and what changed first is committed first.
        const batch = [...dirty.values()]
        dirty = new Map()
        for (let start = 0; start < batch.length; start += flushChunkRows) {
          if (start > 0) yield* Effect.yieldNow
          if (yield* writeChunk(batch.slice(start, start + flushChunkRows))) continue
          // Keep the rest for the next attempt, oldest first, unless a newer change superseded an entry.
          const retry = new Map<string, ResourceChanged>()
          for (const change of batch.slice(start)) if (!dirty.has(change.key)) retry.set(change.key, change)
          for (const [key, change] of dirty) retry.set(key, change)
          dirty = retry
          yield* logFailure(Effect.logError("state could not be saved; will retry, monitoring goes on", {
            store: store.location,
            pending: dirty.size,
            reason: lastFailure
          }))
          return
        }
      })
      const flush = oneAtATime.withPermits(1)(Effect.uninterruptible(flushOnce))

      yield* runWriteBehind(options.flushIntervalMs, flush)
      yield* liveCounter("state_flushes_total", "State store transactions written (a flush of more than 1,000 changes writes several)", () => flushes)
      yield* liveCounter("state_rows_written_total", "Resource rows written to the state store", () => rowsWritten)
      yield* liveCounter("state_rows_deleted_total", "Resource rows deleted from the state store", () => rowsDeleted)
      yield* liveCounter("state_write_failures_total", "State store writes that failed (retried at the next flush)", () => failures)
      yield* liveCounter("state_rows_skipped_total", "Resource rows that could not be written (logged, not retried; the other rows were written)", () => rowsSkipped)
      yield* liveCounter("state_rows_repaired_total", "Stored rows brought back into range at start (times, timeout; logged)", () => repaired)
      yield* liveGauge("state_pending", "Resources changed since the last state store write", () => dirty.size)
      if (restored.length > 0) {
        yield* Effect.logInfo("state restored", { store: store.location, resources: restored.length })
      }

      return StatePersistence.of({
        restored,
        flush,
        location: store.location,
        counters: () => ({ flushes, rowsWritten, rowsDeleted, failures, rowsSkipped, pending: dirty.size, failingSinceMs, lastFailure })
      })
    })
  )
