import fc from 'fast-check'
import { expect, test } from 'vitest'
import { RateLimiter } from './rate-limit.ts'

test('a burst, then one token per 1/perSecond, with the wait it takes', () => {
  const limiter = new RateLimiter({ perSecond: 2, burst: 3 })
  expect([0, 0, 0].map(() => limiter.take('a', 0).ok)).toEqual([true, true, true])
  expect(limiter.take('a', 0)).toEqual({ ok: false, retryAfterMs: 500 })
  expect(limiter.take('b', 0).ok).toBe(true)
  expect(limiter.take('a', 499).ok).toBe(false)
  expect(limiter.take('a', 500).ok).toBe(true)
})

test('property: over any schedule, granted requests never exceed burst + rate × elapsed', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 10 }),
      fc.array(fc.nat({ max: 400 }), { maxLength: 200 }),
      (perSecond, burst, gaps) => {
        const limiter = new RateLimiter({ perSecond, burst })
        let now = 0
        let granted = 0
        for (const gap of gaps) {
          now += gap
          const decision = limiter.take('peer', now)
          if (decision.ok) granted++
          else expect(decision.retryAfterMs).toBeGreaterThan(0)
        }
        expect(granted).toBeLessThanOrEqual(burst + Math.floor((now / 1000) * perSecond) + 1)
      },
    ),
    { numRuns: 300 },
  )
})

test('property: a refused caller that waits retryAfterMs is served', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 1, max: 5 }),
      fc.nat({ max: 20 }),
      (perSecond, burst, extra) => {
        const limiter = new RateLimiter({ perSecond, burst })
        for (let i = 0; i < burst + extra; i++) limiter.take('p', 0)
        const decision = limiter.take('p', 0)
        if (decision.ok) return
        expect(limiter.take('p', decision.retryAfterMs).ok).toBe(true)
      },
    ),
  )
})

test('memory is bounded and a clock going backwards refills nothing', () => {
  const limiter = new RateLimiter({ perSecond: 1, burst: 1, maxKeys: 100 })
  for (let i = 0; i < 1000; i++) limiter.take(`peer-${i}`, i)
  expect(limiter.size).toBeLessThanOrEqual(100)
  limiter.take('z', 10_000)
  expect(limiter.take('z', 5_000).ok).toBe(false)
})
