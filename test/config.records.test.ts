import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { parseReceiverConfig } from "../src/config/ReceiverConfig.ts"

const base = `
enabled: true
clients:
  C1: { token: aaaaaaaa, timeout: 1 }
`
const parse = (extra: string) => parseReceiverConfig(base + extra, "rx")
const dayMs = 24 * 3600_000

describe("history and journal keys (receiverRecords.ts)", () => {
  it("defaults: 90 days of history, state changes only, no journal", () => {
    const config = parse("")
    expect(Result.isSuccess(config) && config.success.records).toEqual({
      history: { retentionMs: 90 * dayMs, repeats: false },
      journal: undefined
    })
  })

  it("reads history and journal settings (YAML 1.1 booleans)", () => {
    const config = parse(`
history: { retention_days: 7, repeats: yes }
journal_file: /var/log/hbm/journal.jsonl
journal_max_bytes: 1048576
journal_keep: 3
`)
    expect(Result.isSuccess(config) && config.success.records).toEqual({
      history: { retentionMs: 7 * dayMs, repeats: true },
      journal: { file: "/var/log/hbm/journal.jsonl", maxBytes: 1048576, keep: 3 }
    })
    const defaults = parse("journal_file: /tmp/j.jsonl\n")
    expect(Result.isSuccess(defaults) && defaults.success.records?.journal).toEqual({ file: "/tmp/j.jsonl", maxBytes: 100 * 1024 * 1024, keep: 10 })
  })

  it.each([
    ["history: { retention_days: 0 }", "history.retention_days: expected a whole number of days from 1 to 3650, got 0"],
    ["history: { retention_days: 1.5 }", "history.retention_days: expected a whole number of days from 1 to 3650, got 1.5"],
    ["history: { repeats: maybe }", 'history.repeats: expected true or false, got "maybe"'],
    ["journal_file: /tmp/j\njournal_max_bytes: 100", "journal_max_bytes: expected a whole number of bytes from 4096 to 1099511627776, got 100"],
    ["journal_file: /tmp/j\njournal_keep: -1", "journal_keep: expected a whole number of files from 0 to 1000, got -1"],
    ["journal_keep: 3", "journal_keep: set journal_file too (the journal is on only with a file)"]
  ])("%s is refused with its path", (extra, problem) => {
    const config = parse(`${extra}\n`)
    expect(Result.isFailure(config) && config.failure).toEqual([problem])
  })
})
