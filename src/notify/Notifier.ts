import { Context, Effect, Layer, Schema, Stream } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import type { Notification } from "../domain/Notification.ts"

export class NotifierError extends Schema.TaggedError<NotifierError>()("NotifierError", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

/** Where notifications leave the receiver. One implementation runs; which one is configuration. */
export class Notifier extends Context.Service<Notifier, {
  readonly name: string
  readonly send: (notification: Notification) => Effect.Effect<void, NotifierError>
}>()("heartbeat-mesh/notify/Notifier") {}

/** One JSON line per notification on stdout (logs go to stderr, so stdout stays machine-readable). */
export const layerStdout = Layer.succeed(Notifier)({
  name: "stdout",
  send: (notification) =>
    Effect.sync(() => {
      process.stdout.write(JSON.stringify(notification) + "\n")
    })
})

export interface NotifyDevilryOptions {
  readonly command: string
  readonly forceSend: boolean
  /** Longest one run may take; then it is killed (its whole process group) and counted as failed. */
  readonly timeoutMs: number
}

const outputTailBytes = 2000
const encoder = new TextEncoder()

/**
 * Spawns notify_devilry once per notification: the JSON on its stdin, stdin closed, exit awaited.
 * A missing command, a non-zero exit or a run past the time limit is a NotifierError; it never
 * throws, and the caller decides about retries.
 */
export const layerNotifyDevilry = (options: NotifyDevilryOptions) =>
  Layer.effect(
    Notifier,
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      const args = options.forceSend ? ["--force-send"] : []
      const runOnce = (notification: Notification) =>
        Effect.gen(function*() {
          const handle = yield* spawner.spawn(
            ChildProcess.make(options.command, args, {
              stdin: Stream.make(encoder.encode(JSON.stringify(notification))),
              killSignal: "SIGTERM",
              forceKillAfter: "2 seconds"
            })
          )
          const output = yield* handle.all.pipe(
            Stream.decodeText(),
            Stream.runFold(() => "", (tail, chunk) => (tail + chunk).slice(-outputTailBytes))
          )
          const exitCode = yield* handle.exitCode
          if (exitCode !== 0) {
            return yield* new NotifierError({
              reason: `${options.command} exited with status ${exitCode}: ${output.trim() || "(no output)"}`
            })
          }
        }).pipe(
          Effect.scoped,
          Effect.catchTag("PlatformError", (error) =>
            Effect.fail(new NotifierError({ reason: `cannot run ${options.command}: ${error.message}` }))),
          Effect.timeoutOrElse({
            duration: options.timeoutMs,
            orElse: () =>
              Effect.fail(
                new NotifierError({ reason: `${options.command} did not finish within ${options.timeoutMs} ms; killed` })
              )
          })
        )
      return Notifier.of({ name: "notify_devilry", send: runOnce })
    })
  )

/** Test double: records what would have been sent. */
export class RecordedNotifications extends Context.Service<RecordedNotifications, {
  readonly all: () => ReadonlyArray<Notification>
  readonly clear: () => void
  /** Makes the next `count` sends fail, to exercise failure handling. */
  readonly failNext: (count: number) => void
}>()("heartbeat-mesh/notify/RecordedNotifications") {}

export const layerTest = Layer.effectContext(
  Effect.sync(() => {
    const recorded: Array<Notification> = []
    let failuresLeft = 0
    const notifier = Notifier.of({
      name: "test",
      send: (notification) =>
        Effect.suspend(() => {
          if (failuresLeft > 0) {
            failuresLeft--
            return Effect.fail(new NotifierError({ reason: "test notifier told to fail" }))
          }
          recorded.push(notification)
          return Effect.void
        })
    })
    const recorder = RecordedNotifications.of({
      all: () => [...recorded],
      clear: () => {
        recorded.length = 0
      },
      failNext: (count) => {
        failuresLeft = count
      }
    })
    return Context.make(Notifier, notifier).pipe(Context.add(RecordedNotifications, recorder))
  })
)
