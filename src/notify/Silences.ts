import { Clock, Context, Effect, Latch, Layer, Schema, type Scope } from "effect"
import type { Notification } from "../domain/Notification.ts"
import { expiredAt, type Silence, silenceKey, silenceLimits, silenceOpenAt, silencing } from "../monitor/silences.ts"
import { liveCounter, liveGauge } from "../support/liveMetrics.ts"
import { throttledLog } from "../support/writeBehind.ts"
import { SilenceStore, type SilenceStoreError } from "./SilenceStore.ts"

/** What happened to a silence: set (or replaced), lifted by someone, or over by itself. */
export interface SilenceEvent {
  readonly kind: "silenced" | "lifted" | "expired"
  readonly silence: Silence
  /** Who lifted it (lifted only). */
  readonly by?: string
  /** Wall clock. */
  readonly atMs: number
}

/** 409: already `silenceLimits.maxActive` silences in force. */
export class TooManySilences extends Schema.TaggedError<TooManySilences>()("TooManySilences", {
  reason: Schema.String
}) {}

/**
 * The silences in force (issue 18.3): runtime mute windows set through the API. The outbox asks
 * `silencing` for every notification (two map lookups) and holds or drops what it answers for,
 * with the same machinery as `mute:` windows; it subscribes to hear when a silence is lifted, so
 * what was held goes out at its next look. Silences are written through to the `SilenceStore`
 * (state.db) and restored at start; each ends by itself at its `until` (a fiber sleeps until the
 * earliest end), then it is removed from the store and an `expired` event published (the history
 * records it).
 */
export class Silences extends Context.Service<Silences, {
  /** The silence that holds this notification back now, if any. */
  readonly silencing: (notification: Notification, nowMs: number) => Silence | undefined
  /** Those in force now, earliest end first. */
  readonly active: () => ReadonlyArray<Silence>
  readonly find: (client: string, resource: string | undefined) => Silence | undefined
  /** Sets or replaces the silence of its client and resource (written before it is in force). */
  readonly silence: (silence: Silence) => Effect.Effect<void, SilenceStoreError | TooManySilences>
  /** Lifts a silence; undefined when there was none in force. */
  readonly lift: (client: string, resource: string | undefined, by: string) => Effect.Effect<Silence | undefined, SilenceStoreError>
  /** Hears every set, lift and expiry, synchronously, until the scope closes. */
  readonly subscribe: (listener: (event: SilenceEvent) => void) => Effect.Effect<void, never, Scope.Scope>
}>()("heartbeat-mesh/notify/Silences") {}

export const layerSilences = Layer.effect(
  Silences,
  Effect.gen(function*() {
    const store = yield* SilenceStore
    const clock = yield* Clock.Clock
    const silences = new Map<string, Silence>()
    const listeners = new Set<(event: SilenceEvent) => void>()
    const changed = Latch.makeUnsafe(false)
    const counts = { set: 0, lifted: 0, expired: 0, refused: 0 }
    const now = () => clock.currentTimeMillisUnsafe()
    const publish = (event: SilenceEvent) => {
      for (const listener of listeners) listener(event)
    }
    const activeCount = () => {
      const nowMs = now()
      let count = 0
      for (const silence of silences.values()) if (silenceOpenAt(silence, nowMs)) count++
      return count
    }

    const restored = yield* store.loadAll.pipe(
      Effect.catch((error) =>
        Effect.as(Effect.logError("silences of the last run could not be read; none in force", { store: store.location, reason: error.reason }), [])
      )
    )
    const startMs = now()
    for (const silence of restored) {
      if (silence.untilMs > startMs) silences.set(silenceKey(silence.client, silence.resource), silence)
      else yield* Effect.ignore(store.remove(silence.client, silence.resource))
    }
    if (silences.size > 0) yield* Effect.logInfo("silences of the last run in force again", { silences: silences.size })

    yield* liveGauge("silences_active", "Silences in force (runtime mute windows set through the API)", activeCount)
    yield* liveCounter("silences_set_total", "Silences set or replaced through the API", () => counts.set)
    yield* liveCounter("silences_lifted_total", "Silences lifted through the API before their end", () => counts.lifted)
    yield* liveCounter("silences_expired_total", "Silences that ended by themselves", () => counts.expired)
    yield* liveCounter("silences_refused_total", `Silences refused: already ${silenceLimits.maxActive} in force`, () => counts.refused)

    const logStoreFailure = throttledLog(60_000)
    /** Removes the silences that are over (store first; a failed removal is retried at the next look). */
    const expire = Effect.gen(function*() {
      const nowMs = now()
      const { expired, nextMs } = expiredAt(silences.values(), nowMs)
      for (const silence of expired) {
        const key = silenceKey(silence.client, silence.resource)
        silences.delete(key)
        counts.expired++
        publish({ kind: "expired", silence, atMs: silence.untilMs })
        const removed = yield* Effect.result(store.remove(silence.client, silence.resource))
        if (removed._tag === "Failure") {
          // Over all the same (a restart drops it at load): only the row stays behind.
          yield* logStoreFailure(Effect.logError("an ended silence could not be removed from the store", {
            store: store.location,
            reason: removed.failure.reason
          }))
        }
      }
      return nextMs
    })
    // Sleeps until the earliest end, or until a silence is set or lifted (the earliest end may move).
    yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
      Latch.closeUnsafe(changed)
      const nextMs = yield* expire
      if (nextMs === undefined) yield* changed.await
      else yield* Effect.raceFirst(Effect.sleep(Math.max(1, nextMs - now())), changed.await)
    })))

    return Silences.of({
      silencing: (notification, nowMs) => silencing(silences, notification, nowMs),
      active: () => {
        const nowMs = now()
        return [...silences.values()].filter((silence) => silenceOpenAt(silence, nowMs)).sort((a, b) => a.untilMs - b.untilMs)
      },
      find: (client, resource) => {
        const silence = silences.get(silenceKey(client, resource))
        return silence !== undefined && silenceOpenAt(silence, now()) ? silence : undefined
      },
      silence: (silence) =>
        Effect.gen(function*() {
          const key = silenceKey(silence.client, silence.resource)
          if (!silences.has(key) && silences.size >= silenceLimits.maxActive) {
            counts.refused++
            return yield* Effect.fail(new TooManySilences({ reason: `already ${silenceLimits.maxActive} silences in force; lift some first` }))
          }
          yield* store.put(silence)
          silences.set(key, silence)
          counts.set++
          publish({ kind: "silenced", silence, atMs: silence.fromMs })
          Latch.openUnsafe(changed)
        }),
      lift: (client, resource, by) =>
        Effect.gen(function*() {
          const key = silenceKey(client, resource)
          const silence = silences.get(key)
          if (silence === undefined || !silenceOpenAt(silence, now())) return undefined
          yield* store.remove(client, resource)
          silences.delete(key)
          counts.lifted++
          publish({ kind: "lifted", silence, by, atMs: now() })
          Latch.openUnsafe(changed)
          return silence
        }),
      subscribe: (listener) =>
        Effect.acquireRelease(Effect.sync(() => listeners.add(listener)), () => Effect.sync(() => listeners.delete(listener))).pipe(Effect.asVoid)
    })
  })
)
