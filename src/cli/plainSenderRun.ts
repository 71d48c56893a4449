// The sender's plain cron run, recognised without the command-line parser: cron starts
// `heartbeat-mesh-sender --config FILE` every minute on every host, and effect's CLI (command tree,
// help, completions) costs more CPU than the rest of such a run (README "Sender cost"). Only the
// forms below are taken here; anything else (help, a usage error, any other flag or variable,
// a value this module is not sure of) goes to the full parser, which alone prints usage errors.
import { envVar, falseWords, type LogFormat, logFormats, logLevels, trueWords } from "./settingNames.ts"

/** Where sender.yaml is when neither --config nor HEARTBEAT_MESH_CONFIG says. */
export const defaultSenderConfigPath = "/etc/heartbeat-mesh/sender.yaml"

export interface PlainSenderRun {
  readonly config: string
  readonly logFormat: LogFormat
  /** effect's level name (`Info`); `Debug` with --debug. */
  readonly logLevel: (typeof logLevels)[number][1]
}

/** The flags of a plain run: each at most once, as `--flag VALUE` or `--flag=VALUE`; `--debug` bare. */
const valueFlags = ["config", "log-level", "log-format"] as const
type ValueFlag = (typeof valueFlags)[number]

/** The variables a plain run reads; any other `HEARTBEAT_MESH_*` variable sends the run to the full parser. */
const plainVariables = new Set([...valueFlags, "debug"].map(envVar))

const levelOf = (text: string) => logLevels.find(([name]) => name === text)?.[1]
const formatOf = (text: string) => logFormats.find((name) => name === text)

/**
 * The settings of `[--config FILE] [--log-level L] [--log-format F] [--debug]` (and their
 * `HEARTBEAT_MESH_*` variables; a flag wins over its variable), exactly as the full parser would
 * read them; undefined for any other command line or environment.
 */
export const plainSenderRun = (
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>
): PlainSenderRun | undefined => {
  for (const name of Object.keys(env)) {
    if (name.startsWith("HEARTBEAT_MESH_") && !plainVariables.has(name)) return undefined
  }
  const given: Partial<Record<ValueFlag, string>> = {}
  let debug: boolean | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--debug") {
      if (debug !== undefined) return undefined
      debug = true
      continue
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg)
    const flag = valueFlags.find((name) => name === match?.[1])
    if (match === null || flag === undefined || given[flag] !== undefined) return undefined
    const value = match[2] ?? args[++i]
    // A missing or empty value, or one that looks like a flag: the parser's call.
    if (value === undefined || value === "" || value.startsWith("-")) return undefined
    given[flag] = value
  }
  const setting = (flag: ValueFlag) => given[flag] ?? env[envVar(flag)]
  const config = setting("config") ?? defaultSenderConfigPath
  const level = levelOf(setting("log-level") ?? "info")
  const format = formatOf(setting("log-format") ?? "logfmt")
  if (config === "" || level === undefined || format === undefined) return undefined
  if (debug === undefined) {
    const variable = env[envVar("debug")]
    if (variable === undefined || falseWords.includes(variable)) debug = false
    else if (trueWords.includes(variable)) debug = true
    else return undefined
  }
  return { config, logFormat: format, logLevel: debug ? "Debug" : level }
}
