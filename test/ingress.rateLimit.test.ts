import { describe, expect, it } from "vitest"
import { SourceRateLimiter } from "../src/ingress/SourceRateLimiter.ts"

describe("per-source rate limiting (token buckets)", () => {
  it.each([
    // [rate/s, burst, [source, atMs] sequence, expected allow/deny]
    { name: "a burst, then nothing until a token refills", rate: 1, burst: 3, sends: [["a", 0], ["a", 0], ["a", 0], ["a", 0], ["a", 999], ["a", 1000], ["a", 1000]], allowed: [true, true, true, false, false, true, false] },
    { name: "sources have their own buckets", rate: 1, burst: 1, sends: [["a", 0], ["b", 0], ["a", 0], ["b", 0]], allowed: [true, true, false, false] },
    { name: "refill is capped at the burst", rate: 10, burst: 2, sends: [["a", 0], ["a", 0], ["a", 60_000], ["a", 60_000], ["a", 60_000]], allowed: [true, true, true, true, false] },
    { name: "a clock that goes back refills nothing", rate: 1, burst: 1, sends: [["a", 5000], ["a", 1000], ["a", 5999]], allowed: [true, false, false] },
    { name: "fractional tokens add up", rate: 4, burst: 1, sends: [["a", 0], ["a", 100], ["a", 200], ["a", 250]], allowed: [true, false, false, true] }
  ] as const)("$name", ({ rate, burst, sends, allowed }) => {
    const limiter = new SourceRateLimiter({ ratePerSecond: rate, burst, maxSources: 100 })
    expect(sends.map(([source, at]) => limiter.allow(source, at))).toEqual(allowed)
  })

  it("keeps at most maxSources buckets, forgetting the least recently seen first", () => {
    const limiter = new SourceRateLimiter({ ratePerSecond: 1, burst: 1, maxSources: 2 })
    expect(limiter.allow("a", 0)).toBe(true)
    expect(limiter.allow("b", 0)).toBe(true)
    expect(limiter.allow("a", 0)).toBe(false) // a is now the most recent
    expect(limiter.allow("c", 0)).toBe(true) // forgets b
    expect(limiter.sources).toBe(2)
    expect(limiter.evicted).toBe(1)
    expect(limiter.allow("a", 0)).toBe(false) // a was kept, still empty
    expect(limiter.allow("b", 0)).toBe(true) // b comes back with a full bucket (and c is forgotten)
    expect(limiter.evicted).toBe(2)
  })
})
