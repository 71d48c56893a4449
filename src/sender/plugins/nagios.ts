import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type { NagiosCheck } from "../../config/senderPlugins.ts"
import { runCommand } from "../runCommand.ts"

export interface PerfValue {
  readonly value: number | null
  readonly uom?: string
  readonly warning?: number | string
  readonly critical?: number | string
  readonly min?: number
  readonly max?: number
}

export interface NagiosResult {
  /** 0 ok, 1 warning, 2 critical, 3 unknown (a failure to run, a time-out or any other code). */
  readonly exit_code: number
  /** The first line of the plugin's output, without its perfdata. */
  readonly output: string
  readonly perfdata: Record<string, PerfValue>
}

const maxLabels = 50

const numberOr = (text: string | undefined): number | string | undefined => {
  if (text === undefined || text === "") return undefined
  const value = Number(text)
  return Number.isFinite(value) ? value : text
}

/**
 * Nagios plugin perfdata (`'label'=value[UOM];[warn];[crit];[min];[max]`, space separated).
 * Labels in single quotes may hold spaces (`''` is a quote). `U` as value means "unknown" (null).
 * Warning and critical stay text when they are ranges (`10:20`, `@5`).
 */
export const parsePerfdata = (text: string): Record<string, PerfValue> => {
  const perfdata: Record<string, PerfValue> = {}
  const item = /('(?:[^']|'')+'|[^\s=']+)=(\S*)/g
  let count = 0
  for (const match of text.matchAll(item)) {
    if (count++ >= maxLabels) break
    const label = match[1]!.startsWith("'") ? match[1]!.slice(1, -1).replaceAll("''", "'") : match[1]!
    const [raw = "", warning, critical, min, max] = match[2]!.split(";")
    const value = /^(-?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(.*)$/.exec(raw)
    const parsed: Record<string, unknown> = {
      value: value === null ? null : Number(value[1]),
      ...(value !== null && value[2] !== "" ? { uom: value[2] } : {})
    }
    const limits = { warning: numberOr(warning), critical: numberOr(critical), min: numberOr(min), max: numberOr(max) }
    for (const [key, limit] of Object.entries(limits)) {
      if (limit !== undefined && (key === "warning" || key === "critical" || typeof limit === "number")) parsed[key] = limit
    }
    if (!Object.hasOwn(perfdata, label)) perfdata[label] = parsed as unknown as PerfValue
  }
  return perfdata
}

/**
 * The result of a finished plugin: the text of the first line before `|`, and the perfdata of
 * the first line and of any later `|` (Nagios plugin guidelines, multi-line output).
 */
export const nagiosResult = (exitCode: number, stdout: string): NagiosResult => {
  const [first = "", ...rest] = stdout.replace(/\r/g, "").split("\n")
  const bar = first.indexOf("|")
  const output = (bar < 0 ? first : first.slice(0, bar)).trim().slice(0, 500)
  const longPerf = rest.join("\n")
  const longBar = longPerf.indexOf("|")
  const perfText = [bar < 0 ? "" : first.slice(bar + 1), longBar < 0 ? "" : longPerf.slice(longBar + 1)].join(" ")
  return {
    exit_code: exitCode >= 0 && exitCode <= 3 ? exitCode : 3,
    output: exitCode >= 0 && exitCode <= 3 ? output : `UNKNOWN: exit status ${exitCode}${output ? `: ${output}` : ""}`,
    perfdata: parsePerfdata(perfText)
  }
}

/** Runs every check at once, each bounded by its own timeout (its process group killed then). */
export const runNagiosChecks = (checks: ReadonlyArray<NagiosCheck>) =>
  Effect.forEach(checks, (check) =>
    runCommand(check.cmd, check.timeoutSeconds).pipe(
      Effect.map((result): [string, NagiosResult] => [
        check.name,
        Result.isSuccess(result)
          ? nagiosResult(result.success.exitCode, result.success.stdout)
          : { exit_code: 3, output: `UNKNOWN: ${result.failure}`, perfdata: {} }
      ])
    ), { concurrency: "unbounded" }).pipe(Effect.map((entries) => Object.fromEntries(entries)))
