/**
 * Thresholds and check levels (issue 20): pure rules shared by the sender (which evaluates its own
 * thresholds before sending) and the receiver (whose thresholds win over the sender's levels).
 * This module sits at the domain floor: it imports only effect's Schema, never sender or receiver code.
 *
 * A metric key is the dotted path of a numeric leaf in `payload.metrics` (`memory.percent`,
 * `disk./var.percent`, `network.eth0.rx_bytes_per_s`); a Nagios check's key is `nagios.<name>` and its
 * value the exit code. A threshold pattern is such a key where `*` stands for any text (a mount point
 * or an interface name, dots included).
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"

export const levels = ["ok", "warning", "critical", "unknown"] as const
export type Level = (typeof levels)[number]

export const operators = [">", ">=", "<", "<=", "==", "!=", "nagios"] as const
export type Operator = (typeof operators)[number]

/** One check as it travels in `payload.checks` and is shown by the receiver. */
export interface Check {
  readonly level: Level
  readonly value: number
  readonly text: string
}

/** A threshold as written in YAML: every field optional, so that a later layer can change one. */
export interface ThresholdEntry {
  readonly warning?: number | undefined
  readonly critical?: number | undefined
  readonly operator?: Operator | undefined
  readonly hysteresis?: number | undefined
  readonly enabled?: boolean | undefined
}

/** pattern (`plugin.metric`, `*` allowed) -> threshold. */
export type ThresholdTable = Readonly<Record<string, ThresholdEntry>>

/** A threshold after layering, with its defaults. */
export interface ThresholdRule {
  readonly warning: number | undefined
  readonly critical: number | undefined
  readonly operator: Operator
  readonly hysteresis: number
  readonly enabled: boolean
}

// ---------------------------------------------------------------------------------------------
// Configuration shapes (sender.yaml and receiver.yaml read them the same way)

const expected = (message: string) => ({ message })

const FiniteNumber = (what: string) =>
  Schema.Number.annotate(expected(`expected ${what}`)).check(Schema.isFinite(expected(`expected ${what}`)))

export const ThresholdEntrySchema = Schema.Struct({
  warning: Schema.optionalKey(FiniteNumber("a number")),
  critical: Schema.optionalKey(FiniteNumber("a number")),
  operator: Schema.optionalKey(
    Schema.Literals(operators).annotate(expected(`expected one of ${operators.join(" ")}`))
  ),
  hysteresis: Schema.optionalKey(
    FiniteNumber("a number of 0 or more").check(Schema.isGreaterThanOrEqualTo(0, expected("expected a number of 0 or more")))
  ),
  enabled: Schema.optionalKey(Schema.Boolean.annotate(expected("expected true or false")))
}).annotate(expected("expected a mapping with warning, critical, operator, hysteresis or enabled"))

export const ThresholdTableSchema = Schema.Record(Schema.String, ThresholdEntrySchema).annotate(
  expected("expected a mapping of plugin.metric to {warning, critical, operator, hysteresis}")
)

/**
 * `thresholds:` is either one table, or a list of layers applied in order: the name of a
 * `threshold_sets` entry, or a table written in place. Later layers override earlier ones, field by field.
 */
export const ThresholdLayersSchema = Schema.Union([
  ThresholdTableSchema,
  Schema.Array(Schema.Union([Schema.String, ThresholdTableSchema])).annotate(
    expected("expected a list of threshold set names and {plugin.metric: threshold} mappings")
  )
]).annotate(expected("expected a mapping of plugin.metric to thresholds, or a list of set names and mappings"))

export type ThresholdLayers = typeof ThresholdLayersSchema.Type

export const ThresholdSetsSchema = Schema.Record(Schema.String, ThresholdTableSchema).annotate(
  expected("expected a mapping of set names to {plugin.metric: threshold} mappings")
)

/** Nagios checks alert without any configuration: exit codes 0/1/2/3 are ok/warning/critical/unknown. */
export const builtInThresholds: ThresholdTable = { "nagios.*": { operator: "nagios" } }

/** Merges tables in order; a later table's fields override an earlier one's for the same pattern. */
export const layerThresholds = (tables: ReadonlyArray<ThresholdTable>): ThresholdTable => {
  const merged: Record<string, ThresholdEntry> = {}
  for (const table of tables) {
    for (const [pattern, entry] of Object.entries(table)) {
      const defined = Object.fromEntries(Object.entries(entry).filter(([, value]) => value !== undefined))
      merged[pattern] = { ...merged[pattern], ...defined }
    }
  }
  return merged
}

/**
 * Resolves `thresholds:` against the named sets into one table. An unknown set name is a problem
 * (the caller reports it with the file's other problems).
 */
export const resolveThresholdLayers = (
  layers: ThresholdLayers | undefined,
  sets: Readonly<Record<string, ThresholdTable>>,
  where: string
): Result.Result<ThresholdTable, ReadonlyArray<string>> => {
  if (layers === undefined) return Result.succeed({})
  if (!Array.isArray(layers)) return Result.succeed(layers as ThresholdTable)
  const problems: Array<string> = []
  const tables: Array<ThresholdTable> = []
  layers.forEach((layer: string | ThresholdTable, index) => {
    if (typeof layer !== "string") {
      tables.push(layer)
      return
    }
    const set = Object.hasOwn(sets, layer) ? sets[layer] : undefined
    if (set === undefined) {
      const known = Object.keys(sets)
      problems.push(`${where}.${index}: no threshold set named "${layer}" (threshold_sets has ${known.length === 0 ? "none" : known.join(", ")})`)
    } else {
      tables.push(set)
    }
  })
  return problems.length > 0 ? Result.fail(problems) : Result.succeed(layerThresholds(tables))
}

// ---------------------------------------------------------------------------------------------
// Matching a metric key to its threshold

const patternCache = new Map<string, RegExp>()
const patternRegExp = (pattern: string): RegExp => {
  let compiled = patternCache.get(pattern)
  if (compiled === undefined) {
    const body = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".+")
    compiled = new RegExp(`^${body}$`)
    if (patternCache.size < 10_000) patternCache.set(pattern, compiled)
  }
  return compiled
}

const literalLength = (pattern: string) => pattern.replaceAll("*", "").length

/**
 * The threshold for one metric key: the exact key if the table has it, otherwise the matching
 * pattern with the most literal text (the most specific), with defaults filled in.
 */
export const thresholdFor = (table: ThresholdTable, key: string): ThresholdRule | undefined => {
  let entry = Object.hasOwn(table, key) ? table[key] : undefined
  if (entry === undefined) {
    let best = -1
    for (const [pattern, candidate] of Object.entries(table)) {
      if (!pattern.includes("*") || !patternRegExp(pattern).test(key)) continue
      const specificity = literalLength(pattern)
      if (specificity > best) {
        best = specificity
        entry = candidate
      }
    }
  }
  if (entry === undefined) return undefined
  return {
    warning: entry.warning,
    critical: entry.critical,
    operator: entry.operator ?? ">",
    hysteresis: entry.hysteresis ?? 0,
    enabled: entry.enabled ?? true
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluating one value

const rank: Record<Level, number> = { ok: 0, warning: 1, critical: 2, unknown: 0 }
const nagiosLevels: ReadonlyArray<Level> = ["ok", "warning", "critical", "unknown"]

/**
 * Whether `value` is past `limit` for the operator. `margin` is the hysteresis, applied only to
 * stay at a level already reached: a value must come back past `limit - margin` (for `>`) to leave it.
 */
const beyond = (operator: Operator, value: number, limit: number, margin: number): boolean => {
  switch (operator) {
    case ">":
      return value > limit - margin
    case ">=":
      return value >= limit - margin
    case "<":
      return value < limit + margin
    case "<=":
      return value <= limit + margin
    case "==":
      return value === limit
    case "!=":
      return value !== limit
    case "nagios":
      return false
  }
}

/**
 * The level of one value under one threshold, given the level it had before (for hysteresis):
 * reaching warning or critical takes the plain limit; leaving it takes the limit minus (for `<` and
 * `<=`: plus) the hysteresis. `==` and `!=` have no hysteresis. With `nagios`, the value is an
 * exit code: 0 ok, 1 warning, 2 critical, 3 (or anything else) unknown. A value that is not a finite
 * number is unknown.
 */
export const levelOf = (rule: ThresholdRule, value: number, previous: Level | undefined): Level => {
  if (!Number.isFinite(value)) return "unknown"
  if (rule.operator === "nagios") return Number.isInteger(value) && value >= 0 && value <= 3 ? nagiosLevels[value]! : "unknown"
  const before = rank[previous ?? "ok"]
  if (rule.critical !== undefined && beyond(rule.operator, value, rule.critical, before >= 2 ? rule.hysteresis : 0)) {
    return "critical"
  }
  if (rule.warning !== undefined && beyond(rule.operator, value, rule.warning, before >= 1 ? rule.hysteresis : 0)) {
    return "warning"
  }
  return "ok"
}

const formatNumber = (value: number) => Number.isInteger(value) ? String(value) : String(Math.round(value * 100) / 100)

const describe = (key: string, rule: ThresholdRule, value: number, level: Level): string => {
  const limits = [
    rule.warning === undefined ? undefined : `warning ${rule.operator} ${formatNumber(rule.warning)}`,
    rule.critical === undefined ? undefined : `critical ${rule.operator} ${formatNumber(rule.critical)}`
  ].filter((part) => part !== undefined)
  return `${key} = ${formatNumber(value)} (${level.toUpperCase()}${limits.length > 0 ? `; ${limits.join(", ")}` : ""})`
}

/** One sample to evaluate: its value and, for Nagios checks, the plugin's own text. */
export interface Sample {
  readonly value: number
  readonly text?: string | undefined
}

/**
 * The checks for a set of samples: one per key that has an enabled threshold in `table`.
 * `previous` holds each check's last level (hysteresis). Keys without a threshold are no check.
 */
export const evaluateChecks = (
  samples: ReadonlyMap<string, Sample>,
  table: ThresholdTable,
  previous: Readonly<Record<string, Level>>
): Record<string, Check> => {
  const checks: Record<string, Check> = {}
  for (const [key, sample] of samples) {
    const rule = thresholdFor(table, key)
    if (rule === undefined || !rule.enabled) continue
    const level = levelOf(rule, sample.value, Object.hasOwn(previous, key) ? previous[key] : undefined)
    checks[key] = { level, value: sample.value, text: sample.text ?? describe(key, rule, sample.value, level) }
  }
  return checks
}

/**
 * The samples of `payload.metrics`: every numeric leaf keyed by its dotted path, except under
 * `nagios`, where each check is one sample `nagios.<name>` (its exit code, with its output line as
 * text; a Nagios plugin applies its own limits to its perfdata, so perfdata is not sampled).
 * Strings, lists and booleans are information, not samples. Bounded: a hostile payload cannot make
 * it walk forever.
 */
export const samplesOf = (metrics: unknown, limit = 10_000): Map<string, Sample> => {
  const samples = new Map<string, Sample>()
  const walk = (node: unknown, path: string, depth: number) => {
    if (samples.size >= limit || depth > 6) return
    if (typeof node === "number") {
      if (path !== "") samples.set(path, { value: node })
      return
    }
    if (node === null || typeof node !== "object" || Array.isArray(node)) return
    for (const [key, child] of Object.entries(node)) {
      if (path === "" && key === "nagios") {
        if (child === null || typeof child !== "object") continue
        for (const [name, result] of Object.entries(child)) {
          if (samples.size >= limit) return
          const { exit_code, output } = (result ?? {}) as { exit_code?: unknown; output?: unknown }
          if (typeof exit_code === "number") {
            samples.set(`nagios.${name}`, { value: exit_code, text: typeof output === "string" ? output : undefined })
          }
        }
        continue
      }
      walk(child, path === "" ? key : `${path}.${key}`, depth + 1)
    }
  }
  walk(metrics, "", 0)
  return samples
}
