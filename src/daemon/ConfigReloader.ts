import { Context, Effect, Layer, Queue, Result } from "effect"
import { watch } from "node:fs"
import { basename, dirname } from "node:path"
import { loadReceiverConfig, type ReceiverConfig } from "../config/ReceiverConfig.ts"
import { CheckAlerts } from "../checkAlerts/CheckAlerts.ts"
import { HeartbeatRouter } from "../routing/HeartbeatRouter.ts"
import { liveCounter } from "../support/liveMetrics.ts"

export interface ReloadOutcome {
  readonly applied: boolean
  readonly problems: ReadonlyArray<string>
}

export class ConfigReloader extends Context.Service<ConfigReloader, {
  /** Rereads the file now; an invalid file leaves the running configuration in force. */
  readonly reload: (trigger: string) => Effect.Effect<ReloadOutcome>
  /** How many reloads were applied / refused since start. */
  readonly counters: () => { readonly applied: number; readonly refused: number }
}>()("heartbeat-mesh/daemon/ConfigReloader") {}

const summary = (config: ReceiverConfig) => ({
  clients: config.clients.length,
  configuredResources: config.clients.reduce((sum, client) => sum + client.resources.size, 0)
})

/** Editors save in bursts (write, rename, chmod): one reload per burst. */
const settleMs = 250

/**
 * Live reload of receiver.yaml, as the deployed version promised ("reread on every check"):
 * on SIGHUP and whenever the file changes. The directory is watched, not the file, because editors
 * and config management replace files by renaming over them.
 */
export const layerConfigReloader = (path: string) =>
  Layer.effect(
    ConfigReloader,
    Effect.gen(function*() {
      const engine = yield* HeartbeatRouter
      const checkAlerts = yield* CheckAlerts
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
              }).pipe(Effect.as<ReloadOutcome>({ applied: false, problems: result.failure.problems }))
            }
            engine.applyConfig(result.success)
            checkAlerts.applyConfig(result.success)
            applied++
            return Effect.logInfo("receiver configuration reloaded", { file: path, trigger, ...summary(result.success) })
              .pipe(
                Effect.andThen(Effect.forEach(result.success.warnings, (warning) => Effect.logWarning(warning))),
                Effect.as<ReloadOutcome>({ applied: true, problems: [] })
              )
          })
        )

      yield* liveCounter("config_reloads_total", "Reloads of receiver.yaml, by outcome", () => applied, { outcome: "applied" })
      yield* liveCounter("config_reloads_total", "Reloads of receiver.yaml, by outcome", () => refused, { outcome: "refused" })

      const triggers = yield* Queue.unbounded<string>()
      const onSighup = () => Queue.offerUnsafe(triggers, "SIGHUP")
      process.on("SIGHUP", onSighup)
      yield* Effect.addFinalizer(() => Effect.sync(() => process.off("SIGHUP", onSighup)))

      const watcher = yield* Effect.acquireRelease(
        Effect.sync(() => {
          try {
            const fileName = basename(path)
            return watch(dirname(path), { persistent: false }, (_event, changed) => {
              if (changed === null || changed === fileName) Queue.offerUnsafe(triggers, "file change")
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

      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const trigger = yield* Queue.take(triggers)
        yield* Effect.sleep(settleMs)
        yield* Queue.clear(triggers)
        yield* reload(trigger)
      })))

      return ConfigReloader.of({ reload, counters: () => ({ applied, refused }) })
    })
  )
