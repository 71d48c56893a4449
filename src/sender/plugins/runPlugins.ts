/**
 * One run of the sender's plugins (issue 20): read the state file, run the plugins that are due,
 * reuse the last result of the others, evaluate the thresholds, write the state back.
 * Loaded only when sender.yaml has `plugins:` (the plain cron sender never imports it).
 */
import * as Effect from "effect/Effect"
import { type Check, evaluateChecks, type Level, samplesOf } from "../../checks/thresholds.ts"
import type { PluginSettings, SenderPlugins } from "../../config/senderPlugins.ts"
import { collectors, type Measured } from "./collectors.ts"
import { runNagiosChecks } from "./nagios.ts"
import { type PluginMemory, type PluginState, readPluginState, writePluginState } from "./pluginState.ts"
export { defaultStateFile } from "./pluginState.ts"
import { sourceAt, type SystemSource } from "./source.ts"

export interface PluginRunOptions {
  readonly stateFile: string
  readonly nowMs: number
  /** Run every plugin now, whatever its interval (`--print`). */
  readonly force: boolean
  /** Write the state file (not for `--print` / `--dry-run`, which must not disturb the next real run). */
  readonly persist: boolean
  readonly senderVersion: string
  /** Default: the machine at the config's `host_root` (else `/`). */
  readonly source?: SystemSource | undefined
}

export interface PluginReport {
  /** `payload.metrics`: per plugin, its latest metrics. */
  readonly metrics: Record<string, unknown>
  /** `payload.checks`: per check key, `{level, value, text}`. */
  readonly checks: Record<string, Check>
  /** Plugins that ran this time. */
  readonly ran: ReadonlyArray<string>
  /** Things worth a warning (a plugin that failed, a state file that cannot be written). */
  readonly problems: ReadonlyArray<string>
  /** Things worth a debug line. */
  readonly notes: ReadonlyArray<string>
}

/**
 * Due when the plugin has not run yet in the current interval window (windows aligned to the epoch):
 * at most once per interval, and a cron run a few hundred milliseconds late is still in its minute,
 * so a 60 s plugin under a cron sender runs every minute, not every other one.
 */
export const isDue = (intervalSeconds: number, last: PluginMemory | undefined, nowMs: number) => {
  if (last === undefined || last.ranAtMs > nowMs) return true
  const intervalMs = intervalSeconds * 1000
  return Math.floor(nowMs / intervalMs) !== Math.floor(last.ranAtMs / intervalMs)
}

const measure = (settings: PluginSettings, options: PluginRunOptions, source: SystemSource, previous: unknown) => {
  if (settings.name === "nagios") {
    return runNagiosChecks(settings.checks).pipe(Effect.map((metrics): Measured => ({ metrics })))
  }
  const collect = collectors[settings.name]
  return Effect.promise(() =>
    collect({
      settings,
      source,
      previous,
      nowMs: options.nowMs,
      senderVersion: options.senderVersion
    }).catch((error: unknown): Measured => ({ metrics: { error: error instanceof Error ? error.message : String(error) } }))
  )
}

export const runPlugins = (config: SenderPlugins, options: PluginRunOptions) =>
  Effect.gen(function*() {
    const { state, note } = yield* Effect.promise(() => readPluginState(options.stateFile))
    const notes: Array<string> = note === undefined ? [] : [`${options.stateFile}: ${note}`]
    const problems: Array<string> = []
    const source = options.source ?? sourceAt(config.hostRoot)
    const due = config.plugins.filter((plugin) => options.force || isDue(plugin.intervalSeconds, state.plugins[plugin.name], options.nowMs))
    const fresh = yield* Effect.forEach(
      due,
      (plugin) => measure(plugin, options, source, state.plugins[plugin.name]?.counters).pipe(Effect.map((measured) => [plugin.name, measured] as const)),
      { concurrency: "unbounded" }
    )
    const measuredNow = new Map(fresh)
    const memory: Record<string, PluginMemory> = {}
    const metrics: Record<string, unknown> = {}
    for (const plugin of config.plugins) {
      const measured = measuredNow.get(plugin.name)
      const kept = measured === undefined
        ? state.plugins[plugin.name]
        : { ranAtMs: options.nowMs, metrics: measured.metrics, counters: measured.counters }
      if (kept === undefined) continue
      memory[plugin.name] = kept
      metrics[plugin.name] = kept.metrics
      const error = (kept.metrics as { error?: unknown } | null)?.error
      if (measured !== undefined && typeof error === "string") problems.push(`plugin ${plugin.name} failed: ${error}`)
    }
    const checks = evaluateChecks(samplesOf(metrics), config.thresholds, state.levels)
    if (options.persist) {
      const levels: Record<string, Level> = Object.fromEntries(Object.entries(checks).map(([key, check]) => [key, check.level]))
      const next: PluginState = { plugins: memory, levels }
      const failed = yield* Effect.promise(() => writePluginState(options.stateFile, next))
      if (failed !== undefined) problems.push(`cannot write the plugin state (rates and hysteresis restart next run): ${failed}`)
    }
    return { metrics, checks, ran: due.map((plugin) => plugin.name), problems, notes } satisfies PluginReport
  })
