import { Effect } from "effect"

/** Runs `flush` every `intervalMs` for the life of the current scope, and once more when it closes. */
export const runWriteBehind = (intervalMs: number, flush: Effect.Effect<void>) =>
  Effect.gen(function*() {
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(intervalMs), flush)))
    yield* Effect.addFinalizer(() => flush)
  })

/**
 * Lets a log effect through at most once per interval: a full disk fails every write, and one line
 * a minute is enough to say so.
 */
export const throttledLog = (intervalMs: number) => {
  let lastMs = Number.NEGATIVE_INFINITY
  return (log: Effect.Effect<void>): Effect.Effect<void> =>
    Effect.suspend(() => {
      const now = Date.now()
      if (now - lastMs < intervalMs) return Effect.void
      lastMs = now
      return log
    })
}
