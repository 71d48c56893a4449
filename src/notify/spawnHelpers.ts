import { Cause, Clock, Deferred, Duration, Effect, Exit, Queue, Schedule, Schema, type Scope, Stream } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { liveCounter, liveGauge } from "../support/liveMetrics.ts"
import { groupExists, signalGroup } from "../support/processGroup.ts"

/**
 * The receiver's side of the notify_devilry spawn helpers (spawnHelper.ts): a pool of small
 * long-lived processes that run notify_devilry for it, so the receiver itself never forks.
 *
 * The pool grows on demand: a run goes to the least busy running helper, and a new helper is
 * started (through effect's ChildProcess) when every running one is busy, up to `maxHelpers`, for
 * the runs after it (a run never waits for a helper to start while another one runs). Each helper is
 * supervised: when it dies, every run it had in flight fails with `SpawnHelperError` (the outbox
 * retries it: at-least-once), the process groups of those runs are killed (their outcome can no
 * longer be known, and a late delivery would only duplicate the retry), and the helper is started
 * again after the restart policy's delay; runs that come meanwhile wait for it (at most their own
 * time limit). A helper that stayed up for `healthyRunMs` starts the back-off afresh.
 */

export class SpawnHelperError extends Schema.TaggedError<SpawnHelperError>()("SpawnHelperError", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

export interface RunRequest {
  readonly command: string
  readonly args: ReadonlyArray<string>
  /** Written to the run's stdin, which is then closed. */
  readonly input: string
  /** Past this the run's process group is killed and the outcome is "timeout". */
  readonly timeoutMs: number
  /** After SIGTERM, how long the group has before SIGKILL. */
  readonly killAfterMs: number
}

export type RunOutcome =
  | { readonly outcome: "exit"; readonly code: number | null; readonly signal: string | null; readonly output: string }
  | { readonly outcome: "timeout"; readonly output: string }
  | { readonly outcome: "cancelled" }
  | { readonly outcome: "error"; readonly message: string }

export interface SpawnPool {
  /** Runs one command through a helper. Interrupting it kills the run's group (and waits for that). */
  readonly run: (request: RunRequest) => Effect.Effect<RunOutcome, SpawnHelperError>
  /** Process ids of the helpers running now (tests, diagnostics). */
  readonly helperPids: () => ReadonlyArray<number>
  /** Helpers that died and were started again. */
  readonly restarts: () => number
}

export interface SpawnPoolOptions {
  /** Most helpers at once (the pool starts them as runs overlap). */
  readonly maxHelpers: number
  /** For log lines and the metrics' `channel` label. */
  readonly name: string
  /** Delay before a dead helper is started again (default: 200 ms doubling to 10 s, jittered). */
  readonly restartPolicy?: Schedule.Schedule<unknown>
}

export const defaultHelperRestartPolicy: Schedule.Schedule<unknown> = Schedule.min([
  Schedule.exponential("200 millis", 2),
  Schedule.spaced("10 seconds")
]).pipe(Schedule.jittered)

/** A helper that ran this long without dying counts as healthy: the next death starts the back-off afresh. */
const healthyRunMs = 60_000
/** How long the runs of a dead helper may take to vanish after SIGKILL before they are failed anyway. */
const orphanWaitMs = 1000
/** The helper's limit on one request line (`maxLineChars` in spawnHelper.ts). */
const maxRequestChars = 1024 * 1024
/** What the helper may take past a run's own limits (SIGTERM wait, SIGKILL wait) before the pool gives up on an answer. */
const answerSlackMs = 3000

/**
 * The helper beside this module: the source (`spawnHelper.ts`) in a checkout, or in the packaged
 * receiver (one bundled file) the helper's own bundle beside it (`spawnHelper.mjs`, scripts/dist.ts).
 */
const helperScript = (() => {
  const source = fileURLToPath(new URL("./spawnHelper.ts", import.meta.url))
  return existsSync(source) ? source : fileURLToPath(new URL("./spawnHelper.mjs", import.meta.url))
})()
/** A small heap is plenty: the helper holds a few runs' output tails. */
const helperFlags = ["--max-old-space-size=32", "--max-semi-space-size=1"]
const encoder = new TextEncoder()

interface InFlight {
  readonly deferred: Deferred.Deferred<RunOutcome, SpawnHelperError>
  /** The run's process (and process group) id, once the helper has started it. */
  pid: number | undefined
}

interface Helper {
  readonly pid: number
  readonly inflight: Map<number, InFlight>
  readonly writeLine: (line: string) => void
}

interface Slot {
  helper: Helper | undefined
  /** Done when this slot's helper is running; a fresh one while it is (re)starting. */
  up: Deferred.Deferred<void>
  /** Why the last start or life of this slot's helper ended (for a run that waited in vain). */
  lastFailure: string | undefined
}

type HelperMessage =
  | { readonly started: number; readonly pid: number }
  | ({ readonly done: number } & RunOutcome)

/** "was killed by SIGKILL" from the spawner's error for a helper ended by a signal. */
const diedOf = (error: unknown) => {
  const signal = /signal: '(\w+)'/.exec(String((error as { cause?: unknown }).cause ?? error))?.[1]
  return signal === undefined ? `died: ${describe(error)}` : `was killed by ${signal}`
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error)).split("\n")[0]!

export const makeSpawnPool = (
  options: SpawnPoolOptions
): Effect.Effect<SpawnPool, never, Scope.Scope | ChildProcessSpawner.ChildProcessSpawner> =>
  Effect.gen(function*() {
    const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
    const scope = yield* Effect.scope
    const clock = yield* Clock.Clock
    const policy = options.restartPolicy ?? defaultHelperRestartPolicy
    const maxHelpers = Math.max(1, options.maxHelpers)
    const slots: Array<Slot> = []
    let nextRunId = 1
    let restarts = 0
    let closing = false
    yield* Effect.addFinalizer(() => Effect.sync(() => (closing = true)))

    const dispatch = (helper: Helper, line: string) => {
      let message: HelperMessage
      try {
        message = JSON.parse(line) as HelperMessage
      } catch {
        return
      }
      if ("started" in message) {
        const run = helper.inflight.get(message.started)
        if (run !== undefined) run.pid = message.pid
        return
      }
      const run = helper.inflight.get(message.done)
      if (run === undefined) return
      helper.inflight.delete(message.done)
      const { done: _, ...outcome } = message
      Deferred.doneUnsafe(run.deferred, Exit.succeed(outcome as RunOutcome))
    }

    /** The helper is gone: its runs fail (to be retried) and whatever they left running is killed. */
    const lose = (helper: Helper, reason: string) =>
      Effect.gen(function*() {
        const runs = [...helper.inflight.values()]
        helper.inflight.clear()
        const groups = runs.flatMap((run) => (run.pid === undefined ? [] : [run.pid]))
        for (const pid of groups) signalGroup(pid, "SIGKILL")
        // The runs fail (to be retried) only once their groups are gone, so that a retry never
        // overlaps what is left of the cut-short run (bounded: an orphan's zombie may linger).
        for (let waited = 0; waited < orphanWaitMs && groups.some(groupExists); waited += 10) yield* Effect.sleep(10)
        for (const run of runs) {
          Deferred.doneUnsafe(
            run.deferred,
            Exit.fail(new SpawnHelperError({ reason: `the notify_devilry helper (pid ${helper.pid}) ${reason}; the run was cut short` }))
          )
        }
      })

    /** One life of a slot's helper: start it, serve it until it exits; says how it ended. */
    const incarnation = (slot: Slot, again: boolean) =>
      Effect.gen(function*() {
        const input = yield* Queue.unbounded<Uint8Array, Cause.Done>()
        const handle = yield* spawner.spawn(
          ChildProcess.make(process.execPath, [...helperFlags, helperScript], {
            stdin: Stream.fromQueue(input),
            stdout: "pipe",
            stderr: "pipe",
            killSignal: "SIGTERM",
            forceKillAfter: "5 seconds"
          })
        )
        const helper: Helper = {
          pid: handle.pid,
          inflight: new Map(),
          writeLine: (line) => Queue.offerUnsafe(input, encoder.encode(`${line}\n`))
        }
        let ended = "stopped"
        yield* Effect.addFinalizer(() =>
          Effect.suspend(() => {
            slot.helper = undefined
            slot.up = Deferred.makeUnsafe()
            return lose(helper, ended)
          })
        )
        // Closing its input is how the helper is told to finish (it ends its runs and exits).
        yield* Effect.addFinalizer(() => Queue.end(input))
        slot.helper = helper
        // Counted once the helper it replaces is running again.
        if (again) restarts++
        Deferred.doneUnsafe(slot.up, Exit.void)
        yield* Effect.forkScoped(
          handle.stderr.pipe(
            Stream.decodeText(),
            Stream.splitLines,
            Stream.runForEach((line) =>
              Effect.logWarning("notify_devilry helper says", { channel: options.name, pid: helper.pid, line: line.slice(0, 500) })
            ),
            Effect.ignore
          )
        )
        yield* handle.stdout.pipe(
          Stream.decodeText(),
          Stream.splitLines,
          Stream.runForEach((line) => Effect.sync(() => dispatch(helper, line))),
          Effect.ignore
        )
        const exit = yield* Effect.exit(handle.exitCode)
        ended = Exit.isSuccess(exit) ? `exited with status ${exit.value}` : diedOf(Cause.squash(exit.cause))
        return ended
      }).pipe(Effect.scoped)

    /** Keeps a slot's helper running: started again after the policy's delay whenever it dies. */
    const supervise = (slot: Slot) =>
      Effect.gen(function*() {
        let step = yield* Schedule.toStep(policy)
        let again = false
        while (true) {
          const startedMs = clock.currentTimeMillisUnsafe()
          const exit = yield* Effect.exit(incarnation(slot, again))
          again = true
          if (closing) return
          const reason = Exit.isSuccess(exit) ? exit.value : `could not be started: ${describe(Cause.squash(exit.cause))}`
          slot.lastFailure = reason
          const nowMs = clock.currentTimeMillisUnsafe()
          if (nowMs - startedMs >= healthyRunMs) step = yield* Schedule.toStep(policy)
          const next = yield* Effect.result(step(nowMs, undefined))
          const delayMs = next._tag === "Success" ? Duration.toMillis(next.success[1]) : 10_000
          yield* Effect.logError("notify_devilry helper stopped; starting it again", {
            channel: options.name,
            reason,
            restartInMs: Math.round(delayMs)
          })
          yield* Effect.sleep(delayMs)
        }
      })

    /**
     * Where a run goes (`use`): the least busy running helper (a helper runs several at once, so a
     * run never waits for a helper to start while one runs); only when none runs, a helper being
     * started. When every running helper is busy and the pool may grow, a new slot (`grow`) is
     * started for the runs to come. Undefined only once the pool closes.
     */
    const choose = (): { readonly use: Slot; readonly grow: Slot | undefined } | undefined => {
      let best: Slot | undefined
      for (const slot of slots) {
        if (slot.helper === undefined) continue
        if (best === undefined || slot.helper.inflight.size < best.helper!.inflight.size) best = slot
      }
      let grow: Slot | undefined
      if ((best === undefined || best.helper!.inflight.size > 0) && slots.length < maxHelpers && !closing) {
        grow = { helper: undefined, up: Deferred.makeUnsafe(), lastFailure: undefined }
        slots.push(grow)
      }
      const use = best ?? grow ?? slots[0]
      return use === undefined ? undefined : { use, grow }
    }

    const run = (request: RunRequest): Effect.Effect<RunOutcome, SpawnHelperError> =>
      Effect.gen(function*() {
        const chosen = choose()
        if (chosen === undefined) return yield* new SpawnHelperError({ reason: "the notify_devilry helpers are stopping" })
        const slot = chosen.use
        // A new slot's supervisor lives as long as the pool.
        if (chosen.grow !== undefined) yield* Effect.forkIn(supervise(chosen.grow), scope)
        if (slot.helper === undefined) {
          // Being started (for the first time, or again after it died): the run waits for it, at
          // most its own time limit, so that a crashed helper costs a notification nothing.
          yield* Deferred.await(slot.up).pipe(
            Effect.timeoutOrElse({
              duration: request.timeoutMs,
              orElse: () =>
                Effect.fail(
                  new SpawnHelperError({
                    reason: `no notify_devilry helper came up within ${request.timeoutMs} ms${
                      slot.lastFailure === undefined ? "" : ` (the last one ${slot.lastFailure})`
                    }`
                  })
                )
            })
          )
        }
        const helper = slot.helper
        if (helper === undefined) return yield* new SpawnHelperError({ reason: "the notify_devilry helper stopped" })
        const id = nextRunId++
        const line = JSON.stringify({ run: id, ...request })
        if (line.length > maxRequestChars) {
          return yield* new SpawnHelperError({ reason: `the notification is too large for the notify_devilry helper (${line.length} characters, at most ${maxRequestChars})` })
        }
        const inflight: InFlight = { deferred: Deferred.makeUnsafe(), pid: undefined }
        helper.inflight.set(id, inflight)
        helper.writeLine(line)
        const limitMs = request.timeoutMs + request.killAfterMs + answerSlackMs
        return yield* Deferred.await(inflight.deferred).pipe(
          Effect.timeoutOrElse({
            duration: limitMs,
            orElse: () => Effect.fail(new SpawnHelperError({ reason: `no answer from the notify_devilry helper (pid ${helper.pid}) within ${limitMs} ms` }))
          }),
          // Interrupted (the outbox's time limit, shutdown) or no answer: the run is killed, and
          // this waits until it is, so that nothing of it outlives the attempt.
          Effect.onExit((exit) => {
            if (Exit.isSuccess(exit) || !helper.inflight.has(id)) return Effect.void
            helper.writeLine(JSON.stringify({ cancel: id }))
            return Deferred.await(inflight.deferred).pipe(
              Effect.timeout(request.killAfterMs + answerSlackMs),
              Effect.ignore
            )
          })
        )
      })

    yield* liveGauge(
      "notify_devilry_helpers",
      "notify_devilry spawn helper processes running",
      () => slots.reduce((sum, slot) => sum + (slot.helper === undefined ? 0 : 1), 0),
      { channel: options.name }
    )
    yield* liveCounter(
      "notify_devilry_helper_restarts_total",
      "notify_devilry spawn helpers that died and were started again",
      () => restarts,
      { channel: options.name }
    )

    return {
      run,
      helperPids: () => slots.flatMap((slot) => (slot.helper === undefined ? [] : [slot.helper.pid])),
      restarts: () => restarts
    } satisfies SpawnPool
  })
