import { Context, Effect, Layer, Stream } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import type { Notification } from "../domain/Notification.ts"
import { NodeHttpClient, NodeServices } from "@effect/platform-node"
import { type DeliveryMeta, NotifierError, type Transport } from "./Channel.ts"
import { layerNoOutboxStore } from "./OutboxStore.ts"

export { NotifierError } from "./Channel.ts"

/**
 * The single destination of a receiver without `channels:` (notify_devilry, stdout or a test
 * double). Kept as a service of its own so tests can swap it at this boundary.
 */
export class Notifier extends Context.Service<Notifier, {
  readonly name: string
  readonly send: (notification: Notification, meta?: DeliveryMeta) => Effect.Effect<void, NotifierError>
}>()("heartbeat-mesh/notify/Notifier") {}

/** One JSON line per notification on stdout (logs go to stderr, so stdout stays machine-readable). */
export const stdoutTransport: Transport = {
  send: (notification) =>
    Effect.sync(() => {
      process.stdout.write(JSON.stringify(notification) + "\n")
    })
}

export const layerStdout = Layer.succeed(Notifier)({
  name: "stdout",
  send: (notification) => stdoutTransport.send(notification, { id: "" })
})

export interface NotifyDevilryOptions {
  readonly command: string
  readonly forceSend: boolean
  /** Longest one run may take; then its whole process group is killed and the run counts as failed. */
  readonly timeoutMs: number
}

const outputTailBytes = 2000
const encoder = new TextEncoder()

/**
 * Spawns notify_devilry once per notification: the JSON on its stdin, stdin closed, exit awaited.
 * A missing command, a non-zero exit or a run past the time limit is a NotifierError; it never
 * throws, and the caller decides about retries.
 *
 * The command runs as the leader of its own process group (`detached`, the spawner's default on
 * POSIX). When the run ends (timeout, interruption, or exit), the spawner signals the whole group
 * (SIGTERM, SIGKILL 2 s later), so a grandchild the command started in the background cannot
 * deliver the same alert later: one notification is delivered at most once per attempt.
 */
export const makeNotifyDevilryTransport = (options: NotifyDevilryOptions) =>
  Effect.gen(function*() {
    const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
    const args = options.forceSend ? ["--force-send"] : []
    const send = (notification: Notification) =>
      Effect.gen(function*() {
        const handle = yield* spawner.spawn(
          ChildProcess.make(options.command, args, {
            stdin: Stream.make(encoder.encode(JSON.stringify(notification))),
            detached: true,
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
    return { send } satisfies Transport
  })

export const layerNotifyDevilry = (options: NotifyDevilryOptions) =>
  Layer.effect(
    Notifier,
    Effect.map(makeNotifyDevilryTransport(options), (transport) => Notifier.of({ name: "notify_devilry", send: transport.send }))
  )

/** Test double: records what would have been sent. */
export class RecordedNotifications extends Context.Service<RecordedNotifications, {
  readonly all: () => ReadonlyArray<Notification>
  readonly ids: () => ReadonlyArray<string>
  readonly clear: () => void
  /** Makes the next `count` sends fail, to exercise failure handling. */
  readonly failNext: (count: number) => void
}>()("heartbeat-mesh/notify/RecordedNotifications") {}

/**
 * The test notifier as the receiver's only channel (when the configuration names none), with the
 * platform configured channels need (child processes, HTTP client) and no durable outbox.
 */
export const layerTest = Layer.mergeAll(
  Layer.effectContext(
    Effect.sync(() => {
      const recorded: Array<Notification> = []
      const ids: Array<string> = []
      let failuresLeft = 0
      const notifier = Notifier.of({
        name: "test",
        send: (notification, meta) =>
          Effect.suspend(() => {
            if (failuresLeft > 0) {
              failuresLeft--
              return Effect.fail(new NotifierError({ reason: "test notifier told to fail" }))
            }
            recorded.push(notification)
            ids.push(meta?.id ?? "")
            return Effect.void
          })
      })
      const recorder = RecordedNotifications.of({
        all: () => [...recorded],
        ids: () => [...ids],
        clear: () => {
          recorded.length = 0
          ids.length = 0
        },
        failNext: (count) => {
          failuresLeft = count
        }
      })
      return Context.make(Notifier, notifier).pipe(Context.add(RecordedNotifications, recorder))
    })
  ),
  layerNoOutboxStore,
  NodeServices.layer,
  NodeHttpClient.layerUndici
)
