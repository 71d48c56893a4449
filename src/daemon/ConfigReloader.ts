import { Context, Effect, Layer, Option, Queue, Result } from "effect"
import { watch } from "node:fs"
import { basename, dirname } from "node:path"
import { loadReceiverConfig, type ReceiverConfig } from "../config/ReceiverConfig.ts"
import { CheckAlerts } from "../checkAlerts/CheckAlerts.ts"
import { Outbox } from "../notify/Outbox.ts"
import { HeartbeatRouter } from "../routing/HeartbeatRouter.ts"
import { liveCounter } from "../support/liveMetrics.ts"
import { changesNeedingRestart } from "./restartKeys.ts"
import { UserDirectory } from "../http/auth/UserDirectory.ts"

export interface ReloadOutcome {
  readonly applied: boolean
  readonly problems: ReadonlyArray<string>
  /** Changed settings that only a restart puts into effect (`check_interval: 60 -> 30`). */
  readonly needsRestart: ReadonlyArray<string>
}

export class ConfigReloader extends Context.Service<ConfigReloader, {
  /** Rereads the whole file now and applies it all, or nothing: an invalid file leaves the running configuration in force. */
  readonly reload: (trigger: string) => Effect.Effect<ReloadOutcome>
  /** How many reloads were applied / refused since start. */
  readonly counters: () => { readonly applied: number; readonly refused: number }
}>()("heartbeat-mesh/daemon/ConfigReloader") {}

/**
 * A file change is acted on once the file has been quiet this long: an editor's or config
 * management's burst (write, rename, chmod), or a file written in chunks, is read once, whole.
 */
export const reloadQuietMs = 500

const names = (clients: ReadonlyArray<{ readonly name: string }>) => new Set(clients.map((client) => client.name))

/** What a reload changed in the clients, for the log line. */
const clientChanges = (before: ReceiverConfig, after: ReceiverConfig) => {
  const was = names(before.clients)
  const now = names(after.clients)
  const list = (items: Array<string>) => (items.length === 0 ? "none" : items.slice(0, 20).join(", ") + (items.length > 20 ? ", ..." : ""))
  return {
    clients: after.clients.length,
    added: list([...now].filter((name) => !was.has(name))),
    removed: list([...was].filter((name) => !now.has(name))),
    configuredResources: after.clients.reduce((sum, client) => sum + client.resources.size, 0)
  }
}

/**
 * Live reload of receiver.yaml, as the deployed version promised ("reread on every check"):
 * on SIGHUP at once, and when the file changes, once it has been quiet for `reloadQuietMs`. The
 * directory is watched, not the file, because editors and config management replace files by
 * renaming over them. The whole file is read and validated, then applied in one step or not at all
 * (issue 13.3). A removed client's resources are kept, without alerts, for
 * `removed_client_retention`. Settings that need a restart are named, each with its change.
 */
export const layerConfigReloader = (path: string) =>
  Layer.effect(
    ConfigReloader,
    Effect.gen(function*() {
      const engine = yield* HeartbeatRouter
      const checkAlerts = yield* CheckAlerts
      const outbox = yield* Outbox
      const users = yield* Effect.serviceOption(UserDirectory)
      // Restart-only settings stay as the receiver started with them, whatever later reloads said.
      const started = engine.config()
      let applied = 0
      let refused = 0

      const reload = (trigger: string) =>
        loadReceiverConfig(path).pipe(
          Effect.result,
          Effect.flatMap((result) => {
            if (Result.isFailure(result)) {
              refused++
              return Effect.logError("receiver configuration refused; the running configuration stays in force", {
                file: path,
                trigger,
                problems: result.failure.problems
              }).pipe(Effect.as<ReloadOutcome>({ applied: false, problems: result.failure.problems, needsRestart: [] }))
            }
            const next = result.success
            const before = engine.config()
            engine.applyConfig(next)
            checkAlerts.applyConfig(next)
            // routes: and mute: are live, unless the routes wait for changed channels.
            const { routesWaiting } = outbox.applyConfig(next)
            const needsRestart = [
              ...changesNeedingRestart(started, next),
              ...(routesWaiting ? ["routes: changed (they wait for the changed channels)"] : [])
            ]
            if (Option.isSome(users)) users.value.applyConfig(next)
            applied++
            const details = { file: path, trigger, ...clientChanges(before, next) }
            const logged = needsRestart.length === 0
              ? Effect.logInfo("receiver configuration applied", details)
              : Effect.logWarning("receiver configuration applied; these changes take effect only after a restart", {
                ...details,
                needsRestart: needsRestart.join("; ")
              })
            return logged.pipe(
              Effect.andThen(Effect.forEach(next.warnings, (warning) => Effect.logWarning(warning))),
              Effect.as<ReloadOutcome>({ applied: true, problems: [], needsRestart })
            )
          })
        )

      yield* liveCounter("config_reloads_total", "Reloads of receiver.yaml, by outcome", () => applied, { outcome: "applied" })
      yield* liveCounter("config_reloads_total", "Reloads of receiver.yaml, by outcome", () => refused, { outcome: "refused" })

      const signals = yield* Queue.unbounded<string>()
      const fileEvents = yield* Queue.unbounded<string>()
      const onSighup = () => Queue.offerUnsafe(signals, "SIGHUP")
      process.on("SIGHUP", onSighup)
      yield* Effect.addFinalizer(() => Effect.sync(() => process.off("SIGHUP", onSighup)))

      const watcher = yield* Effect.acquireRelease(
        Effect.sync(() => {
          try {
            const fileName = basename(path)
            return watch(dirname(path), { persistent: false }, (_event, changed) => {
              if (changed === null || changed === fileName) Queue.offerUnsafe(fileEvents, "file change")
            })
          } catch {
            return undefined
          }
        }),
        (watcher) => Effect.sync(() => watcher?.close())
      )
      if (watcher === undefined) {
        yield* Effect.logWarning("cannot watch the configuration's folder; reload with SIGHUP", { file: path })
      } else {
        watcher.on("error", () => {})
      }

      // One fiber does every reload, so two never interleave. SIGHUP is an operator's request: at
      // once. A file event waits until the file has been quiet for reloadQuietMs.
      const reloads = yield* Queue.unbounded<string>()
      yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(signals), (signal) => Queue.offer(reloads, signal))))
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const trigger = yield* Queue.take(fileEvents)
        while (true) {
          yield* Effect.sleep(reloadQuietMs)
          if ((yield* Queue.clear(fileEvents)).length === 0) break
        }
        yield* Queue.offer(reloads, trigger)
      })))
      yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(reloads), reload)))

      return ConfigReloader.of({ reload, counters: () => ({ applied, refused }) })
    })
  )
