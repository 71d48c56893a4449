import { Context, Effect, Layer } from "effect"
import type { Notification } from "../domain/Notification.ts"
import { NodeHttpClient, NodeServices } from "@effect/platform-node"
import { type DeliveryMeta, NotifierError, type Transport } from "./Channel.ts"
import { layerNoOutboxStore } from "./OutboxStore.ts"
import { layerMemorySilenceStore } from "./SilenceStore.ts"
import { makeSpawnPool } from "./spawnHelpers.ts"

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
  /** Most spawn helpers at once (default 2; the channel's concurrency bounds the runs at once). */
  readonly helpers?: number
  /** The channel's name, for logs and metrics. */
  readonly name?: string
}

/** After SIGTERM, how long a run's process group has before SIGKILL. */
const killAfterMs = 2000

/** How many spawn helpers a notify_devilry channel with `concurrency` workers gets. */
export const helpersFor = (concurrency: number) => Math.min(Math.max(concurrency, 1), 2)

/**
 * Runs notify_devilry once per notification: the JSON on its stdin, stdin closed, exit awaited.
 * A missing command, a non-zero exit or a run past the time limit is a NotifierError; it never
 * throws, and the caller decides about retries.
 *
 * The runs are spawned by small helper processes (spawnHelpers.ts), not by the receiver: forking
 * the receiver for every run was what limited throughput. The command runs as the leader of its
 * own process group; when the run ends (timeout, interruption, or exit), the whole group is
 * signalled (SIGTERM, SIGKILL 2 s later), so a grandchild the command started in the background
 * cannot deliver the same alert later: one notification is delivered at most once per attempt.
 */
export const makeNotifyDevilryTransport = (options: NotifyDevilryOptions) =>
  Effect.gen(function*() {
    const pool = yield* makeSpawnPool({ maxHelpers: options.helpers ?? 2, name: options.name ?? "notify_devilry" })
    const args = options.forceSend ? ["--force-send"] : []
    const { command, timeoutMs } = options
    const send = (notification: Notification) =>
      pool.run({ command, args, input: JSON.stringify(notification), timeoutMs, killAfterMs }).pipe(
        Effect.mapError((error) => new NotifierError({ reason: error.reason })),
        Effect.flatMap((result): Effect.Effect<void, NotifierError> => {
          switch (result.outcome) {
            case "exit":
              if (result.code === 0) return Effect.void
              return Effect.fail(new NotifierError({
                reason: `${command} ${result.code === null ? `was killed by ${result.signal}` : `exited with status ${result.code}`}: ${
                  result.output.trim() || "(no output)"
                }`
              }))
            case "timeout":
              return Effect.fail(new NotifierError({ reason: `${command} did not finish within ${timeoutMs} ms; killed` }))
            case "cancelled":
              return Effect.fail(new NotifierError({ reason: `${command} was stopped before it finished` }))
            case "error":
              return Effect.fail(new NotifierError({ reason: `cannot run ${command}: ${result.message}` }))
          }
        })
      )
    return { send, helperPids: pool.helperPids } satisfies Transport & { readonly helperPids: () => ReadonlyArray<number> }
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
  Layer.suspend(() => layerMemorySilenceStore()),
  NodeServices.layer,
  NodeHttpClient.layerUndici
)
