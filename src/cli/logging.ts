import * as Cause from "effect/Cause"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as References from "effect/References"

const quote = (value: string) => (/[\s"=]/.test(value) || value === "" ? JSON.stringify(value) : value)

const field = (key: string, value: unknown): string =>
  `${key}=${quote(typeof value === "string" ? value : JSON.stringify(value) ?? String(value))}`

/**
 * One logfmt line per entry on stderr (the journal adds time and unit). A trailing object in the
 * message becomes key=value fields: `Effect.logWarning("heartbeat rejected", { reason })`.
 */
const stderrLogfmt = Logger.make<unknown, void>(({ cause, logLevel, message }) => {
  const parts = Array.isArray(message) ? message : [message]
  const texts: Array<string> = []
  const fields: Array<string> = []
  for (const part of parts) {
    if (part !== null && typeof part === "object" && !(part instanceof Error)) {
      for (const [key, value] of Object.entries(part)) fields.push(field(key, value))
    } else {
      texts.push(part instanceof Error ? part.message : String(part))
    }
  }
  if (cause.reasons.length > 0) fields.push(field("cause", Cause.pretty(cause)))
  process.stderr.write(`level=${logLevel} ${field("msg", texts.join(" "))}${fields.length ? " " + fields.join(" ") : ""}\n`)
})

/** Logging for every command: stderr only, so stdout stays free for the stdout notifier's JSON lines. */
export const layerCliLogging = (debug: boolean) =>
  Layer.mergeAll(
    Logger.layer([stderrLogfmt]),
    debug ? Layer.succeed(References.MinimumLogLevel)("Debug") : Layer.empty
  )
