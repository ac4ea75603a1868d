import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeDataset, parseDataset, selectWindow } from './datasets.ts'
import { roundValue } from './oracle-answer.ts'

describe('round values and windows (properties)', () => {
  it('the round value is the nearest integer to the mean and stays within the scores range', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -100, max: 100 }), { minLength: 1, maxLength: 60 }), (scores) => {
        const value = Number(roundValue(scores.map(BigInt)))
        const mean = scores.reduce((a, b) => a + b, 0) / scores.length
        expect(Math.abs(value - mean)).toBeLessThanOrEqual(0.5)
        if (Math.abs(value - mean) === 0.5) expect(Math.abs(value)).toBeGreaterThan(Math.abs(mean))
        expect(value).toBeGreaterThanOrEqual(Math.min(...scores))
        expect(value).toBeLessThanOrEqual(Math.max(...scores))
      }),
    )
  })

  it('a window is exactly the asset items with start <= time < end, whatever the file order', () => {
    const item = fc.record({ day: fc.integer({ min: 0, max: 40 }), asset: fc.constantFrom('ACME', 'GLOBEX') })
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 40 }),
        fc.integer({ min: 0, max: 45 }),
        fc.integer({ min: 0, max: 45 }),
        (raw, a, b) => {
          const base = Date.UTC(2026, 0, 1) / 1000
          const items = parseDataset(
            encodeDataset(
              raw.map((r, i) => ({
                id: `i${i}`,
                date: new Date((base + r.day * 86_400) * 1000).toISOString().slice(0, 10),
                asset: r.asset,
                headline: `h${i}`,
              })),
            ),
          )
          const [lo, hi] = [Math.min(a, b), Math.max(a, b)]
          const window = selectWindow([...items].reverse(), {
            asset: 'ACME',
            windowStart: BigInt(base + lo * 86_400),
            windowEnd: BigInt(base + hi * 86_400),
          })
          const expected = raw.filter((r) => r.asset === 'ACME' && r.day >= lo && r.day < hi).length
          expect(window).toHaveLength(expected)
          for (let i = 1; i < window.length; i++) expect(window[i - 1]!.time <= window[i]!.time).toBe(true)
        },
      ),
    )
  })
})
