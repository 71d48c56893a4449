/**
 * The sender.yaml keys of issue 20: `plugins:`, `thresholds:`, `threshold_sets:` and `state_file:`.
 * Kept apart from SenderConfig.ts (which only calls `parseSenderPlugins`) so that a sender without
 * plugins pays for none of it beyond this schema.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import {
  builtInThresholds,
  layerThresholds,
  resolveThresholdLayers,
  ThresholdLayersSchema,
  ThresholdSetsSchema,
  type ThresholdTable
} from "../checks/thresholds.ts"
import { describeSchemaIssues } from "./configIssues.ts"

export const pluginNames = ["cpu", "memory", "disk", "network", "filesystem", "os", "nagios"] as const
export type PluginName = (typeof pluginNames)[number]

/** Seconds between two runs of a plugin when `interval` is not given. Info plugins change rarely. */
export const defaultPluginIntervals: Readonly<Record<PluginName, number>> = {
  cpu: 60,
  memory: 60,
  disk: 60,
  network: 60,
  filesystem: 3600,
  os: 3600,
  nagios: 60
}

export const defaultNagiosTimeoutSeconds = 30

export interface NagiosCheck {
  readonly name: string
  /** argv; run without a shell. */
  readonly cmd: ReadonlyArray<string>
  readonly timeoutSeconds: number
}

export interface PluginSettings {
  readonly name: PluginName
  /** Seconds: the plugin runs at most once per interval; between runs its last result is sent again. */
  readonly intervalSeconds: number
  /** disk: only these mount points (default: every mounted disk file system). */
  readonly mounts: ReadonlyArray<string> | undefined
  /** network: only these interfaces (default: all but `lo`). */
  readonly interfaces: ReadonlyArray<string> | undefined
  /** nagios: the checks to run. */
  readonly checks: ReadonlyArray<NagiosCheck>
}

export interface SenderPlugins {
  /** The enabled plugins, in the order of `pluginNames`. */
  readonly plugins: ReadonlyArray<PluginSettings>
  /** Thresholds after layering (built-in Nagios mapping, then `thresholds:` layers in order). */
  readonly thresholds: ThresholdTable
  /** Undefined: `<state dir>/<config file name>.state.json`, decided by the runner. */
  readonly stateFile: string | undefined
  /** Where the machine's `/` is (`/proc` and mounts under it); undefined: `/`. */
  readonly hostRoot: string | undefined
}

const expected = (message: string) => ({ message })

const Interval = Schema.Number.annotate(expected("expected a positive number of seconds")).check(
  Schema.isFinite(expected("expected a positive number of seconds")),
  Schema.isGreaterThan(0, expected("expected a positive number of seconds"))
)

const Names = (what: string) =>
  Schema.Array(Schema.String.check(Schema.isMinLength(1, expected(`expected ${what}`)))).annotate(
    expected(`expected a list of ${what}s`)
  )

const NagiosEntry = Schema.Struct({
  name: Schema.String.annotate(expected("expected a name")).check(
    Schema.isPattern(/^[A-Za-z0-9_.:-]{1,100}$/, expected("expected a name of letters, digits, _ . : - (at most 100)"))
  ),
  cmd: Schema.NonEmptyArray(Schema.String.check(Schema.isMinLength(1, expected("expected a non-empty string")))).annotate(
    expected("expected a list of strings: the program and its arguments (no shell)")
  ),
  timeout: Schema.optionalKey(Interval)
}).annotate(expected("expected a mapping with name and cmd"))

const PluginEntry = Schema.NullOr(
  Schema.Struct({
    enabled: Schema.optionalKey(Schema.Boolean.annotate(expected("expected true or false"))),
    interval: Schema.optionalKey(Interval),
    mounts: Schema.optionalKey(Names("mount point")),
    interfaces: Schema.optionalKey(Names("interface name")),
    checks: Schema.optionalKey(Schema.Array(NagiosEntry).annotate(expected("expected a list of {name, cmd, timeout} entries")))
  }).annotate(expected("expected a mapping ({} turns the plugin on with its defaults)"))
)

const PluginsYaml = Schema.Struct({
  plugins: Schema.optionalKey(
    Schema.NullOr(
      Schema.Struct({
        cpu: Schema.optionalKey(PluginEntry),
        memory: Schema.optionalKey(PluginEntry),
        disk: Schema.optionalKey(PluginEntry),
        network: Schema.optionalKey(PluginEntry),
        filesystem: Schema.optionalKey(PluginEntry),
        os: Schema.optionalKey(PluginEntry),
        nagios: Schema.optionalKey(PluginEntry)
      }).annotate(expected(`expected a mapping of plugins (${pluginNames.join(", ")})`))
    )
  ),
  thresholds: Schema.optionalKey(Schema.NullOr(ThresholdLayersSchema)),
  threshold_sets: Schema.optionalKey(Schema.NullOr(ThresholdSetsSchema)),
  state_file: Schema.optionalKey(
    Schema.String.annotate(expected("expected a file path")).check(Schema.isMinLength(1, expected("expected a file path")))
  ),
  host_root: Schema.optionalKey(
    Schema.String.annotate(expected("expected an absolute folder path")).check(
      Schema.isPattern(/^\//, expected("expected an absolute folder path"))
    )
  )
})

const decodePluginsYaml = Schema.decodeUnknownResult(PluginsYaml)

/**
 * Reads the plugin keys of a sender.yaml document (already parsed YAML). Undefined when the file
 * has no `plugins:` (a plain heartbeat sender, as deployed). Every problem is listed.
 */
export const parseSenderPlugins = (raw: unknown): Result.Result<SenderPlugins | undefined, ReadonlyArray<string>> => {
  const decoded = decodePluginsYaml(raw, { errors: "all" })
  if (Result.isFailure(decoded)) return Result.fail(describeSchemaIssues(decoded.failure, raw))
  const yaml = decoded.success
  const problems: Array<string> = []
  const rawPlugins = (raw as { plugins?: unknown } | null)?.plugins
  if (rawPlugins !== null && typeof rawPlugins === "object") {
    for (const name of Object.keys(rawPlugins)) {
      if (!(pluginNames as ReadonlyArray<string>).includes(name)) problems.push(`plugins.${name}: no such plugin (there are ${pluginNames.join(", ")})`)
    }
  }
  const nagiosNames = new Set<string>()
  for (const [index, check] of (yaml.plugins?.nagios?.checks ?? []).entries()) {
    if (nagiosNames.has(check.name)) problems.push(`plugins.nagios.checks.${index}.name: "${check.name}" is used twice; each check needs its own name`)
    nagiosNames.add(check.name)
  }
  const layered = resolveThresholdLayers(yaml.thresholds ?? undefined, yaml.threshold_sets ?? {}, "thresholds")
  if (Result.isFailure(layered)) problems.push(...layered.failure)
  if (problems.length > 0) return Result.fail(problems)
  if (yaml.plugins === undefined || yaml.plugins === null) {
    return Result.succeed(undefined)
  }
  const configured = yaml.plugins
  const plugins = pluginNames.flatMap((name): Array<PluginSettings> => {
    if (!Object.hasOwn(configured, name)) return []
    const entry = configured[name] ?? {}
    if (entry.enabled === false) return []
    return [{
      name,
      intervalSeconds: entry.interval ?? defaultPluginIntervals[name],
      mounts: entry.mounts,
      interfaces: entry.interfaces,
      checks: (entry.checks ?? []).map((check) => ({
        name: check.name,
        cmd: check.cmd,
        timeoutSeconds: check.timeout ?? defaultNagiosTimeoutSeconds
      }))
    }]
  })
  return Result.succeed({
    plugins,
    thresholds: layerThresholds([builtInThresholds, Result.isSuccess(layered) ? layered.success : {}]),
    stateFile: yaml.state_file,
    hostRoot: yaml.host_root
  })
}
