import { describe, expect, it } from "vitest"
import { repairStored } from "../src/store/repairStored.ts"
import type { StoredResource } from "../src/store/StateStore.ts"

const now = Date.UTC(2026, 5, 1)
const day = 86_400_000
const row = (extra: Partial<StoredResource>): StoredResource => ({
  client: "Client1",
  resource: "host.example.com",
  firstSeenMs: now - 2 * day,
  lastSeenMs: now - 1000,
  timeoutOverrideMinutes: undefined,
  payload: undefined,
  status: "alive",
  paused: false,
  ...extra
})

type Fields = Pick<StoredResource, "firstSeenMs" | "lastSeenMs" | "timeoutOverrideMinutes">

// [what, stored, repaired (undefined: unchanged), how many repairs]
const cases: ReadonlyArray<readonly [string, Partial<StoredResource>, Fields | undefined, number]> = [
  ["a sound row", {}, undefined, 0],
  ["paused, never heard", { firstSeenMs: undefined, lastSeenMs: undefined, paused: true }, undefined, 0],
  ["timeout of one second's worth", { timeoutOverrideMinutes: 1 / 60 }, undefined, 0],
  ["timeout of one year", { timeoutOverrideMinutes: 525_600 }, undefined, 0],
  ["the clock a few hours behind the last heartbeat", { lastSeenMs: now + 3_600_000 }, undefined, 0],
  ["timeout 1e12 minutes", { timeoutOverrideMinutes: 1e12 }, { firstSeenMs: now - 2 * day, lastSeenMs: now - 1000, timeoutOverrideMinutes: undefined }, 1],
  ["timeout 0", { timeoutOverrideMinutes: 0 }, { firstSeenMs: now - 2 * day, lastSeenMs: now - 1000, timeoutOverrideMinutes: undefined }, 1],
  ["timeout NaN", { timeoutOverrideMinutes: Number.NaN }, { firstSeenMs: now - 2 * day, lastSeenMs: now - 1000, timeoutOverrideMinutes: undefined }, 1],
  ["timeout negative", { timeoutOverrideMinutes: -5 }, { firstSeenMs: now - 2 * day, lastSeenMs: now - 1000, timeoutOverrideMinutes: undefined }, 1],
  ["last heartbeat NaN", { lastSeenMs: Number.NaN }, { firstSeenMs: now - 2 * day, lastSeenMs: now, timeoutOverrideMinutes: undefined }, 1],
  ["last heartbeat 1e300", { lastSeenMs: 1e300 }, { firstSeenMs: now - 2 * day, lastSeenMs: now, timeoutOverrideMinutes: undefined }, 1],
  ["last heartbeat two days ahead", { lastSeenMs: now + 2 * day }, { firstSeenMs: now - 2 * day, lastSeenMs: now, timeoutOverrideMinutes: undefined }, 1],
  ["last heartbeat -Infinity", { lastSeenMs: -Infinity }, { firstSeenMs: now - 2 * day, lastSeenMs: now, timeoutOverrideMinutes: undefined }, 1],
  ["first heartbeat beyond dates", { firstSeenMs: -1e16 }, { firstSeenMs: now - 1000, lastSeenMs: now - 1000, timeoutOverrideMinutes: undefined }, 1],
  ["first heartbeat after the last", { firstSeenMs: now }, { firstSeenMs: now - 1000, lastSeenMs: now - 1000, timeoutOverrideMinutes: undefined }, 1],
  ["first heartbeat missing", { firstSeenMs: undefined }, { firstSeenMs: now - 1000, lastSeenMs: now - 1000, timeoutOverrideMinutes: undefined }, 1],
  ["last heartbeat missing", { lastSeenMs: undefined }, { firstSeenMs: now - 2 * day, lastSeenMs: now - 2 * day, timeoutOverrideMinutes: undefined }, 1],
  ["both broken", { firstSeenMs: Number.NaN, lastSeenMs: Infinity, timeoutOverrideMinutes: 1e12 }, { firstSeenMs: now, lastSeenMs: now, timeoutOverrideMinutes: undefined }, 3]
]

describe("stored rows are repaired on load (issue 13.2)", () => {
  for (const [what, stored, repaired, repairs] of cases) {
    it(what, () => {
      const input = row(stored)
      const result = repairStored(input, now)
      expect(result.repairs).toHaveLength(repairs)
      if (repaired === undefined) expect(result.row).toBe(input)
      else {
        expect({
          firstSeenMs: result.row.firstSeenMs,
          lastSeenMs: result.row.lastSeenMs,
          timeoutOverrideMinutes: result.row.timeoutOverrideMinutes
        }).toEqual(repaired)
        // Whatever came in, what comes out can be shown.
        for (const ms of [result.row.firstSeenMs, result.row.lastSeenMs]) {
          if (ms !== undefined) expect(() => new Date(ms).toISOString()).not.toThrow()
        }
      }
    })
  }
})
