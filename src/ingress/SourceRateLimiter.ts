interface Bucket {
  tokens: number
  lastMs: number
}

/**
 * Per-source token buckets: each source address may send `ratePerSecond` on average and `burst` at
 * once. At most `maxSources` buckets are kept; the least recently seen source is forgotten first
 * (it comes back with a full bucket, which only lets an attacker who rotates addresses spend a burst
 * per address, and the bucket table can never grow past its bound). Time is passed in: no clock.
 */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, Bucket>()
  private readonly ratePerMs: number
  private readonly burst: number
  private readonly maxSources: number
  /** Sources forgotten to keep the table within `maxSources`. */
  evicted = 0

  constructor(options: { readonly ratePerSecond: number; readonly burst: number; readonly maxSources: number }) {
    this.ratePerMs = options.ratePerSecond / 1000
    this.burst = options.burst
    this.maxSources = options.maxSources
  }

  /** Takes one token from `source`'s bucket; false when it has none left (the datagram is dropped). */
  allow(source: string, nowMs: number): boolean {
    let bucket = this.buckets.get(source)
    if (bucket === undefined) {
      bucket = { tokens: this.burst, lastMs: nowMs }
      if (this.buckets.size >= this.maxSources) {
        const oldest = this.buckets.keys().next().value!
        this.buckets.delete(oldest)
        this.evicted++
      }
    } else {
      // Most recently seen last: Map keeps insertion order, so the first key is the stalest.
      this.buckets.delete(source)
      const elapsed = Math.max(0, nowMs - bucket.lastMs)
      bucket.tokens = Math.min(this.burst, bucket.tokens + elapsed * this.ratePerMs)
      bucket.lastMs = Math.max(bucket.lastMs, nowMs)
    }
    this.buckets.set(source, bucket)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  /** Whether `allow` would let `source` through now, without taking a token (failed logins: src/http/auth). */
  wouldAllow(source: string, nowMs: number): boolean {
    const bucket = this.buckets.get(source)
    return bucket === undefined || Math.min(this.burst, bucket.tokens + Math.max(0, nowMs - bucket.lastMs) * this.ratePerMs) >= 1
  }

  get sources(): number {
    return this.buckets.size
  }
}
