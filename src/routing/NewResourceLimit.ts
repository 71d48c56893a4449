import type { ResourceLimits } from "../config/resourceLimits.ts"

/** Whether a client may add one more resource now; otherwise which limit said no. */
export type NewResourceVerdict = "admitted" | "rate" | "cap"

/**
 * The per-client limits on new resources (issue 13): a token bucket per client holding up to
 * `newPerMinute` new names, refilled at `newPerMinute` a minute (a fleet's first start passes at
 * once; a flood of invented names is slowed to that rate), and a cap on the client's resources in
 * all. Only new names pay: a heartbeat for a resource the receiver knows is never limited here.
 * Times are on the receiver's timeline. Refusals are counted by limit.
 */
export class NewResourceLimiter {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>()
  private limits: ResourceLimits
  refusedRate = 0
  refusedCap = 0

  constructor(limits: ResourceLimits) {
    this.limits = limits
  }

  /** A reload's limits; buckets keep their fill, capped at the new size. */
  setLimits(limits: ResourceLimits): void {
    this.limits = limits
    for (const bucket of this.buckets.values()) bucket.tokens = Math.min(bucket.tokens, limits.newPerMinute)
  }

  /** Asked before `client`, which has `resources` now, gets a new one at `nowMs`. */
  admit(client: string, resources: number, nowMs: number): NewResourceVerdict {
    if (resources >= this.limits.maxPerClient) {
      this.refusedCap++
      return "cap"
    }
    const perMinute = this.limits.newPerMinute
    let bucket = this.buckets.get(client)
    if (bucket === undefined) {
      bucket = { tokens: perMinute, atMs: nowMs }
      this.buckets.set(client, bucket)
    } else if (nowMs > bucket.atMs) {
      bucket.tokens = Math.min(perMinute, bucket.tokens + ((nowMs - bucket.atMs) * perMinute) / 60_000)
      bucket.atMs = nowMs
    }
    if (bucket.tokens < 1) {
      this.refusedRate++
      return "rate"
    }
    bucket.tokens--
    return "admitted"
  }
}
