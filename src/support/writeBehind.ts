import { Cause, Effect } from "effect"

const describeDefect = (defect: unknown) => (defect instanceof Error ? defect.message : String(defect))

/**
 * Runs `flush` every `intervalMs` for the life of the current scope, and once more when it closes.
 * A flush that dies (a bug: flushes handle their own I/O errors) is logged, at most once a minute,
 * and the next one runs on time: one bad batch never ends the write-behind for everyone.
 */
export const runWriteBehind = (intervalMs: number, flush: Effect.Effect<void>, what = "write-behind flush") => {
  const logDefect = throttledLog(60_000)
  const guarded = flush.pipe(
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause)
        : logDefect(Effect.logError(`${what} failed; the next one runs on time`, { error: describeDefect(Cause.squash(cause)) }))
    )
  )
  return Effect.gen(function*() {
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(intervalMs), guarded)))
    yield* Effect.addFinalizer(() => guarded)
  })
}

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
