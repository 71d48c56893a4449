/**
 * The receiver.yaml keys of issue 18 that keep records: `history:` (status changes and
 * notifications in state.db) and the message journal (`journal_file`, `journal_max_bytes`,
 * `journal_keep`, named as hbd names them). Kept apart from ReceiverConfig.ts, which only calls
 * `parseReceiverRecords` and lists these keys as known.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { describeSchemaIssues } from "./configIssues.ts"

export interface HistorySettings {
  /** Entries older than this are pruned in the background. */
  readonly retentionMs: number
  /** Keep repeats (timeout repeats, rare-check re-assertions) too; by default only state changes. */
  readonly repeats: boolean
}

export interface JournalSettings {
  /** The JSON-lines file every received message is appended to. */
  readonly file: string
  /** The file is rotated before a write would take it past this many bytes. */
  readonly maxBytes: number
  /** Rotated files kept: `<file>.1` (newest) to `<file>.<keep>`. */
  readonly keep: number
}

export interface ReceiverRecords {
  readonly history: HistorySettings
  /** Undefined: no journal (no `journal_file`). */
  readonly journal: JournalSettings | undefined
}

const dayMs = 24 * 3600_000
export const defaultHistoryRetentionDays = 90
export const historyRetentionDaysRange = { min: 1, max: 3650 }
/** hbd's defaults: 100 MB, 10 backups. */
export const defaultJournalMaxBytes = 100 * 1024 * 1024
export const defaultJournalKeep = 10
export const journalMaxBytesRange = { min: 4096, max: 1024 ** 4 }
export const journalKeepRange = { min: 0, max: 1000 }

export const defaultReceiverRecords: ReceiverRecords = {
  history: { retentionMs: defaultHistoryRetentionDays * dayMs, repeats: false },
  journal: undefined
}

/** The receiver.yaml keys this module reads, for ReceiverConfig's unknown-key warnings. */
export const recordsKeys = {
  top: ["history", "journal_file", "journal_max_bytes", "journal_keep"]
} as const

const expected = (message: string) => ({ message })

const wholeNumber = (range: { min: number; max: number }, what: string) => {
  const message = expected(`expected a whole number of ${what} from ${range.min} to ${range.max}`)
  return Schema.Number.annotate(message).check(
    Schema.makeFilter((value: number) => Number.isInteger(value) && value >= range.min && value <= range.max ? undefined : message.message)
  )
}

const RecordsYaml = Schema.Struct({
  history: Schema.optionalKey(Schema.NullOr(Schema.Struct({
    retention_days: Schema.optionalKey(wholeNumber(historyRetentionDaysRange, "days")),
    repeats: Schema.optionalKey(Schema.Boolean.annotate(expected("expected true or false")))
  }).annotate(expected("expected a mapping with retention_days, repeats")))),
  journal_file: Schema.optionalKey(Schema.String.annotate(expected("expected a file path")).check(
    Schema.isMinLength(1, expected("expected a file path"))
  )),
  journal_max_bytes: Schema.optionalKey(wholeNumber(journalMaxBytesRange, "bytes")),
  journal_keep: Schema.optionalKey(wholeNumber(journalKeepRange, "files"))
})

const decodeRecordsYaml = Schema.decodeUnknownResult(RecordsYaml)

/** Reads the record keys of a receiver.yaml document (already parsed YAML); every problem is listed. */
export const parseReceiverRecords = (raw: unknown): Result.Result<ReceiverRecords, ReadonlyArray<string>> => {
  const own: Record<string, unknown> = {}
  if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
    for (const key of recordsKeys.top) if (key in raw) own[key] = (raw as Record<string, unknown>)[key]
  }
  const decoded = decodeRecordsYaml(own, { errors: "all" })
  if (Result.isFailure(decoded)) return Result.fail(describeSchemaIssues(decoded.failure, own))
  const yaml = decoded.success
  const problems: Array<string> = []
  if (yaml.journal_file === undefined) {
    for (const key of ["journal_max_bytes", "journal_keep"] as const) {
      if (yaml[key] !== undefined) problems.push(`${key}: set journal_file too (the journal is on only with a file)`)
    }
  }
  if (problems.length > 0) return Result.fail(problems)
  return Result.succeed({
    history: {
      retentionMs: (yaml.history?.retention_days ?? defaultHistoryRetentionDays) * dayMs,
      repeats: yaml.history?.repeats ?? false
    },
    journal: yaml.journal_file === undefined ? undefined : {
      file: yaml.journal_file,
      maxBytes: yaml.journal_max_bytes ?? defaultJournalMaxBytes,
      keep: yaml.journal_keep ?? defaultJournalKeep
    }
  })
}
