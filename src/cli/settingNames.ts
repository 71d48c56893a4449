// The names every command's settings share, with no effect/cli code: the sender's plain cron run
// (plainSenderRun.ts) reads them without loading the command-line parser.
import type * as LogLevel from "effect/LogLevel"

/** Every flag can also come from the environment: `--state-dir` is `HEARTBEAT_MESH_STATE_DIR`. */
export const envVar = (flag: string) => `HEARTBEAT_MESH_${flag.toUpperCase().replaceAll("-", "_")}`

export const logFormats = ["logfmt", "json"] as const
export type LogFormat = typeof logFormats[number]

/** `--log-level` values and effect's level for each. */
export const logLevels: ReadonlyArray<readonly [string, LogLevel.LogLevel]> = [
  ["trace", "Trace"],
  ["debug", "Debug"],
  ["info", "Info"],
  ["warn", "Warn"],
  ["error", "Error"],
  ["none", "None"]
]

/** What effect's `Config.Boolean` reads as true and as false (`HEARTBEAT_MESH_DEBUG=yes`). */
export const trueWords: ReadonlyArray<string> = ["true", "yes", "on", "1", "y"]
export const falseWords: ReadonlyArray<string> = ["false", "no", "off", "0", "n"]
