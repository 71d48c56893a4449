import * as Formatter from "effect/Formatter"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as References from "effect/References"
import type { LogFormat } from "./settingNames.ts"

/** How long an identical line is held back after it was written (README "Logs"). */
export const repeatWindowMs = 10_000

/** syslog priorities for journald's `<N>` line prefix (sd-daemon(3)). */
const syslogPriority: Record<string, number> = {
  FATAL: 2,
  ERROR: 3,
  WARN: 4,
  INFO: 6,
  DEBUG: 7,
  TRACE: 7
}

/** One log entry as fields: effect's structured form, with the message's objects spread into fields. */
interface Entry {
  readonly time: string
  readonly level: string
  readonly priority: number
  readonly msg: string
  readonly fields: Record<string, unknown>
}

type Structured = typeof Logger.formatStructured extends Logger.Logger<unknown, infer Output> ? Output : never

const isFields = (part: unknown): part is Record<string, unknown> =>
  part !== null && typeof part === "object" && !Array.isArray(part) && !(part instanceof Error) &&
  !("name" in part && "message" in part && "stack" in part)

/**
 * `Effect.logWarning("heartbeat rejected", { reason })`: the text parts make `msg`, a trailing object
 * becomes fields (`reason=...`), as do log annotations; a cause becomes `cause`.
 */
const toEntry = (structured: Structured): Entry => {
  const parts: ReadonlyArray<unknown> = Array.isArray(structured.message) ? structured.message : [structured.message]
  const texts: Array<string> = []
  const fields: Record<string, unknown> = {}
  for (const part of parts) {
    if (isFields(part)) Object.assign(fields, part)
    else texts.push(typeof part === "string" ? part : Formatter.format(part))
  }
  Object.assign(fields, structured.annotations)
  if (structured.cause !== undefined) fields["cause"] = structured.cause
  return {
    time: structured.timestamp,
    level: structured.level.toLowerCase(),
    priority: syslogPriority[structured.level] ?? 6,
    msg: texts.join(" "),
    fields
  }
}

const plain = /^[^\s"=\\]+$/
const logfmtValue = (value: unknown): string => {
  const text = typeof value === "string" ? value : Formatter.formatJson(value) ?? String(value)
  return plain.test(text) ? text : JSON.stringify(text)
}
const logfmtKey = (key: string) => key.replace(/[\s="]/g, "_")

/** `level=warn msg="heartbeat rejected" reason=not_json`: logfmt, lower-case levels, no time (the journal and cron add it). */
export const renderLogfmt = (entry: Entry): string => {
  let line = `level=${entry.level} msg=${logfmtValue(entry.msg)}`
  for (const [key, value] of Object.entries(entry.fields)) line += ` ${logfmtKey(key)}=${logfmtValue(value)}`
  return line
}

/** One JSON object per line: `time`, `level`, `msg`, then the fields. */
export const renderJson = (entry: Entry): string =>
  Formatter.formatJson({ time: entry.time, level: entry.level, msg: entry.msg, ...entry.fields })

export interface CliLogOptions {
  readonly format: LogFormat
  /** Prefix each line with its syslog priority (`<6>`): set when stderr goes to journald. */
  readonly journald: boolean
  readonly write?: (line: string) => void
  readonly now?: () => number
}

/**
 * The one throttle for repeated lines: a line identical to one written less than `repeatWindowMs`
 * ago is held back and counted; the next time it is written it carries `repeated=N`.
 */
const makeRepeatFilter = (now: () => number) => {
  const seen = new Map<string, { at: number; held: number }>()
  return (key: string): number | undefined => {
    const t = now()
    const last = seen.get(key)
    if (last !== undefined && t - last.at < repeatWindowMs) {
      last.held++
      return undefined
    }
    if (seen.size > 1000) {
      for (const [k, v] of seen) if (t - v.at >= repeatWindowMs) seen.delete(k)
    }
    seen.set(key, { at: t, held: 0 })
    return last?.held ?? 0
  }
}

/** The command-line logger: effect's structured entries rendered as logfmt or JSON lines on stderr. */
export const makeCliLogger = (options: CliLogOptions) => {
  const write = options.write ?? ((line: string) => void process.stderr.write(line))
  const pass = makeRepeatFilter(options.now ?? Date.now)
  return Logger.map(Logger.formatStructured, (structured) => {
    const entry = toEntry(structured)
    const key = `${entry.level} ${renderLogfmt(entry)}`
    const held = pass(key)
    if (held === undefined) return
    const shown = held > 0 ? { ...entry, fields: { ...entry.fields, repeated: held } } : entry
    const line = options.format === "json" ? renderJson(shown) : renderLogfmt(shown)
    write(`${options.journald ? `<${entry.priority}>` : ""}${line}\n`)
  })
}

/** True when stderr is connected to the journal (systemd sets JOURNAL_STREAM for the unit's stdout/stderr). */
export const underJournald = (env: NodeJS.ProcessEnv = process.env) => (env["JOURNAL_STREAM"] ?? "") !== ""

export interface CliLogging {
  readonly format: LogFormat
  readonly level: LogLevel.LogLevel
}

/** Logging for every command: stderr only, so stdout stays free for the stdout notifier's JSON lines. */
export const layerCliLogging = (logging: CliLogging) =>
  Layer.mergeAll(
    Logger.layer([makeCliLogger({ format: logging.format, journald: underJournald() })]),
    Layer.succeed(References.MinimumLogLevel)(logging.level)
  )
