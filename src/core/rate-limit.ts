/**
 * Per-key token buckets: each key (a peer id) may spend `burst` requests at once and regains `perSecond` per
 * second. Pure with an injected clock; bounded memory (full, idle buckets are forgotten first).
 */

export type RateLimitOptions = { perSecond: number; burst: number; maxKeys?: number }

export type RateDecision = { ok: true } | { ok: false; retryAfterMs: number }

export class RateLimiter {
  readonly perSecond: number
  readonly burst: number
  readonly maxKeys: number
  #buckets = new Map<string, { tokens: number; at: number }>()

  constructor({ perSecond, burst, maxKeys = 10_000 }: RateLimitOptions) {
    if (!(perSecond > 0) || !Number.isFinite(perSecond)) throw new RangeError('perSecond must be a positive number')
    if (!Number.isInteger(burst) || burst < 1) throw new RangeError('burst must be a positive integer')
    this.perSecond = perSecond
    this.burst = burst
    this.maxKeys = maxKeys
  }

  /** Spends one token of `key` at time `now` (ms), or says how long until one is available. */
  take(key: string, now: number): RateDecision {
    const bucket = this.#refill(key, now)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return { ok: true }
    }
    return { ok: false, retryAfterMs: Math.max(1, Math.ceil(((1 - bucket.tokens) / this.perSecond) * 1000)) }
  }

  get size(): number {
    return this.#buckets.size
  }

  #refill(key: string, now: number): { tokens: number; at: number } {
    let bucket = this.#buckets.get(key)
    if (!bucket) {
      if (this.#buckets.size >= this.maxKeys) this.#evict(now)
      bucket = { tokens: this.burst, at: now }
      this.#buckets.set(key, bucket)
      return bucket
    }
    // A clock that goes backwards refills nothing rather than draining the bucket.
    const elapsed = Math.max(0, now - bucket.at)
    bucket.tokens = Math.min(this.burst, bucket.tokens + (elapsed / 1000) * this.perSecond)
    bucket.at = Math.max(bucket.at, now)
    return bucket
  }

  #evict(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * this.perSecond >= this.burst)
        this.#buckets.delete(key)
    }
    // Everyone is active: forget the oldest, which only makes the limiter more lenient to it.
    while (this.#buckets.size >= this.maxKeys) this.#buckets.delete(this.#buckets.keys().next().value as string)
  }
}
