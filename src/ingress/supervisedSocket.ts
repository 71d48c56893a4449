import { Cause, type Clock, Effect, type Schedule, type Scope } from "effect"
import type { Pull } from "zeromq"
import { restartDelayMs } from "../actors/ResourceSupervisor.ts"
import { monotonicMillis } from "../support/monotonicTime.ts"

/** Whether the socket loop is running, for readiness and /metrics. */
export interface IngressStatus {
  readonly up: boolean
  /** On the receiver's timeline: since when it has been up, or down. */
  readonly sinceMs: number
  /** Why it is down (undefined while up). */
  readonly reason: string | undefined
  /** While down: how long the restart policy makes this restart wait. */
  readonly restartDelayMs: number | undefined
  /** Restarts since the receiver started. */
  readonly restarts: number
}

/** A loop that ran this long without failing counts as healthy: the next failure starts the back-off afresh. */
const healthyRunMs = 60_000

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error)).split("\n")[0]!

/**
 * The supervised receive loop of a bound PULL socket (issue 13.4), shared by the plain and the
 * CURVE listener: a plain async loop (one await per message); if it fails (the socket errs,
 * `afterReceive` throws), it is logged, the socket is closed and bound again on the same endpoint
 * after the restart policy's delay, and the loop resumes. A throw in `handle` costs only its frame
 * (`onDefect`). `status` says whether it runs, and why not. Ends with the scope.
 */
export const superviseReceiving = (options: {
  /** For log lines: "heartbeat socket", "CURVE heartbeat socket". */
  readonly name: string
  /** Already bound: the first bind is the caller's, so that a receiver that cannot listen refuses to start. */
  readonly first: Pull
  readonly endpoint: string
  readonly bind: (endpoint: string) => Promise<Pull>
  readonly afterReceive: (frames: ReadonlyArray<Uint8Array>) => void
  readonly handle: (frames: ReadonlyArray<Uint8Array>, nowMs: number) => void
  readonly onDefect: (error: unknown) => void
  readonly restartPolicy: Schedule.Schedule<unknown>
  readonly clock: Clock.Clock
}): Effect.Effect<{ readonly status: () => IngressStatus }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { name, endpoint, clock } = options
    let socket = options.first
    let closing = false
    let status: IngressStatus = { up: true, sinceMs: monotonicMillis(clock), reason: undefined, restartDelayMs: undefined, restarts: 0 }
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closing = true
        socket.close()
      })
    )

    // Returns when the scope closes the socket, throws when the socket (or the loop itself) fails.
    const receiveLoop = async (current: Pull) => {
      while (!current.closed) {
        let frames: Array<Buffer>
        try {
          frames = await current.receive()
          options.afterReceive(frames)
        } catch (error) {
          if (current.closed && closing) return
          throw error
        }
        try {
          options.handle(frames, monotonicMillis(clock))
        } catch (error) {
          // A bug on one frame must not stop the socket.
          options.onDefect(error)
        }
      }
    }

    /** Runs the loop; after a failure, waits the policy's delay, binds again and runs it again. */
    const supervised = Effect.gen(function*() {
      let failuresInARow = 0
      while (true) {
        const startedMs = monotonicMillis(clock)
        const exit = yield* Effect.exit(Effect.tryPromise({ try: () => receiveLoop(socket), catch: (error) => error }))
        if (closing) return
        const nowMs = monotonicMillis(clock)
        if (nowMs - startedMs >= healthyRunMs) failuresInARow = 0
        const reason = exit._tag === "Failure" ? describe(Cause.squash(exit.cause)) : "the socket closed"
        status = { ...status, up: false, sinceMs: nowMs, reason: `${name} loop failed: ${reason}` }
        socket.close()
        // Bound again after the policy's delay; a bind that fails (the port taken meanwhile) waits longer.
        while (!closing) {
          failuresInARow++
          const delayMs = (yield* restartDelayMs(options.restartPolicy, failuresInARow)) ?? 10_000
          status = { ...status, restartDelayMs: delayMs }
          yield* Effect.logError(`${name} loop failed; restarting it`, {
            endpoint,
            reason: status.reason,
            failuresInARow,
            restartInMs: delayMs
          })
          yield* Effect.sleep(delayMs)
          const bound = yield* Effect.exit(Effect.tryPromise({ try: () => options.bind(endpoint), catch: (error) => error }))
          if (bound._tag === "Success") {
            socket = bound.value
            break
          }
          status = { ...status, reason: `${name} cannot bind ${endpoint} again: ${describe(Cause.squash(bound.cause))}` }
        }
        if (closing) {
          socket.close()
          return
        }
        status = { up: true, sinceMs: monotonicMillis(clock), reason: undefined, restartDelayMs: undefined, restarts: status.restarts + 1 }
        yield* Effect.logInfo(`${name} loop restarted`, { endpoint, restarts: status.restarts })
      }
    })
    yield* Effect.forkScoped(supervised)
    return { status: () => status }
  })
