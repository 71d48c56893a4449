import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { parseReceiverConfig } from "../src/config/ReceiverConfig.ts"

const base = `
enabled: true
clients:
  Client1:
    token: aaaaaaaa
    timeout: 1
`
const parse = (extra: string) => parseReceiverConfig(base + extra, "receiver.test")

describe("receiver.yaml: history_max_bytes and history_keep", () => {
  it("default to 1 MiB and 3 copies", () => {
    const result = parse("")
    if (Result.isFailure(result)) throw new Error(result.failure.join("\n"))
    expect(result.success.heartbeatFiles).toEqual({ historyMaxBytes: 1_048_576, historyKeep: 3 })
    expect(result.success.warnings).toEqual([])
  })

  it("take whole numbers in range, without a warning", () => {
    const result = parse("history_max_bytes: 65536\nhistory_keep: 0\n")
    if (Result.isFailure(result)) throw new Error(result.failure.join("\n"))
    expect(result.success.heartbeatFiles).toEqual({ historyMaxBytes: 65536, historyKeep: 0 })
    expect(result.success.warnings).toEqual([])
  })

  it("refuse anything else, each with its path and range", () => {
    const result = parse("history_max_bytes: 100\nhistory_keep: 2.5\n")
    if (Result.isSuccess(result)) throw new Error("expected a refusal")
    expect(result.failure).toEqual([
      "history_max_bytes: expected a whole number from 4096 to 1073741824, got 100",
      "history_keep: expected a whole number from 0 to 100, got 2.5"
    ])
  })
})
