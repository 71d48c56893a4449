import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { parseReceiverConfig } from "../src/config/ReceiverConfig.ts"
import { defaultResourceLimits } from "../src/config/resourceLimits.ts"
import { NewResourceLimiter } from "../src/routing/NewResourceLimit.ts"

describe("per-client limits on new resources (issue 13)", () => {
  it("a burst of newPerMinute passes at once, then the rate: one more every 60/newPerMinute s", () => {
    const limiter = new NewResourceLimiter({ newPerMinute: 6, maxPerClient: 1000 })
    const at0 = Array.from({ length: 8 }, (_, i) => limiter.admit("Web", i, 0))
    expect(at0).toEqual(["admitted", "admitted", "admitted", "admitted", "admitted", "admitted", "rate", "rate"])
    // 6 a minute: one every 10 s.
    expect(limiter.admit("Web", 6, 9_999)).toBe("rate")
    expect(limiter.admit("Web", 6, 10_000)).toBe("admitted")
    expect(limiter.admit("Web", 7, 10_001)).toBe("rate")
    // A long quiet fills the bucket to its size, no more.
    expect(Array.from({ length: 7 }, (_, i) => limiter.admit("Web", 7 + i, 3_600_000))).toEqual([
      "admitted", "admitted", "admitted", "admitted", "admitted", "admitted", "rate"
    ])
    expect({ rate: limiter.refusedRate, cap: limiter.refusedCap }).toEqual({ rate: 5, cap: 0 })
  })

  it("each client has its own bucket", () => {
    const limiter = new NewResourceLimiter({ newPerMinute: 1, maxPerClient: 1000 })
    expect([limiter.admit("A", 0, 0), limiter.admit("A", 1, 0), limiter.admit("B", 0, 0)]).toEqual(["admitted", "rate", "admitted"])
  })

  it("the cap counts every resource the client has, and refuses without taking from the bucket", () => {
    const limiter = new NewResourceLimiter({ newPerMinute: 100, maxPerClient: 3 })
    expect([limiter.admit("Web", 2, 0), limiter.admit("Web", 3, 0), limiter.admit("Web", 4, 0)]).toEqual(["admitted", "cap", "cap"])
    expect({ rate: limiter.refusedRate, cap: limiter.refusedCap }).toEqual({ rate: 0, cap: 2 })
  })

  it("a reload's smaller bucket caps the fill; a larger one fills over time", () => {
    const limiter = new NewResourceLimiter({ newPerMinute: 100, maxPerClient: 1000 })
    expect(limiter.admit("Web", 0, 0)).toBe("admitted")
    limiter.setLimits({ newPerMinute: 2, maxPerClient: 1000 })
    expect([limiter.admit("Web", 1, 0), limiter.admit("Web", 2, 0), limiter.admit("Web", 3, 0)]).toEqual(["admitted", "admitted", "rate"])
    limiter.setLimits({ newPerMinute: 120, maxPerClient: 1000 })
    expect(limiter.admit("Web", 3, 499)).toBe("rate")
    expect(limiter.admit("Web", 3, 500)).toBe("admitted")
  })

  it("receiver.yaml: defaults, values, and refusals with the key's path", () => {
    const parse = (extra: string) => parseReceiverConfig(`enabled: true\n${extra}clients:\n  Web:\n    token: t\n    timeout: 1\n`, "receiver.yaml")
    const defaults = parse("")
    expect(Result.isSuccess(defaults) && defaults.success.resourceLimits).toEqual(defaultResourceLimits)
    expect(defaultResourceLimits).toEqual({ newPerMinute: 100_000, maxPerClient: 1_000_000 })
    const set = parse("new_resources_per_minute: 50\nmax_resources_per_client: 2000\n")
    expect(Result.isSuccess(set) && set.success.resourceLimits).toEqual({ newPerMinute: 50, maxPerClient: 2000 })
    const problems = (extra: string) => {
      const parsed = parse(extra)
      return Result.isFailure(parsed) ? parsed.failure.join("\n") : "accepted"
    }
    expect(problems("new_resources_per_minute: 0\n")).toContain("new_resources_per_minute: expected a whole number from 1 to 100000000")
    expect(problems("max_resources_per_client: 1.5\n")).toContain("max_resources_per_client: expected a whole number from 1 to 100000000")
    expect(problems("max_resources_per_client: lots\n")).toContain("max_resources_per_client: expected a whole number from 1 to 100000000")
  })
})
