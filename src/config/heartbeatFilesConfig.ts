/**
 * The receiver.yaml keys of the heartbeat files (issue 16): `history_max_bytes` and `history_keep`,
 * top level. Kept apart from ReceiverConfig.ts, which only calls `parseHeartbeatFilesSettings`.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { describeSchemaIssues } from "./configIssues.ts"

export interface HeartbeatFilesSettings {
  /** A history file is rotated before an append would take it past this many bytes. */
  readonly historyMaxBytes: number
  /** Rotated copies kept: `<file>.1` (newest) to `<file>.<keep>`; 0 starts the history afresh. */
  readonly historyKeep: number
}

export const defaultHeartbeatFilesSettings: HeartbeatFilesSettings = {
  historyMaxBytes: 1024 * 1024,
  historyKeep: 3
}

/** Bounds of the two keys: a history file holds at least a few lines, and the copies stay countable. */
export const historyMaxBytesRange = { min: 4096, max: 1024 * 1024 * 1024 }
export const historyKeepRange = { min: 0, max: 100 }

export const heartbeatFilesKeys = ["history_max_bytes", "history_keep"] as const

const wholeNumber = (range: { min: number; max: number }) => {
  const message = { message: `expected a whole number from ${range.min} to ${range.max}` }
  return Schema.Number.annotate(message).check(
    Schema.isInt(message),
    Schema.isGreaterThanOrEqualTo(range.min, message),
    Schema.isLessThanOrEqualTo(range.max, message)
  )
}

const HeartbeatFilesYaml = Schema.Struct({
  history_max_bytes: Schema.optionalKey(wholeNumber(historyMaxBytesRange)),
  history_keep: Schema.optionalKey(wholeNumber(historyKeepRange))
})

const decodeHeartbeatFilesYaml = Schema.decodeUnknownResult(HeartbeatFilesYaml)

/** Reads the two keys from the whole (parsed) receiver.yaml; every problem is one line. */
export const parseHeartbeatFilesSettings = (raw: unknown): Result.Result<HeartbeatFilesSettings, Array<string>> => {
  const own: Record<string, unknown> = {}
  if (raw !== null && typeof raw === "object") {
    for (const key of heartbeatFilesKeys) if (key in raw) own[key] = (raw as Record<string, unknown>)[key]
  }
  const decoded = decodeHeartbeatFilesYaml(own, { errors: "all" })
  if (Result.isFailure(decoded)) return Result.fail(describeSchemaIssues(decoded.failure, own))
  return Result.succeed({
    historyMaxBytes: decoded.success.history_max_bytes ?? defaultHeartbeatFilesSettings.historyMaxBytes,
    historyKeep: decoded.success.history_keep ?? defaultHeartbeatFilesSettings.historyKeep
  })
}
