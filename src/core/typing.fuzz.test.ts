import fc from 'fast-check'
import { expect, test } from 'vitest'
import { percentile } from './eval.ts'
import { latencyQuantile } from './typing.ts'

const samples = fc.array(fc.record({ ms: fc.integer({ min: 0, max: 50 }), observed: fc.boolean() }), { maxLength: 60 })
const quantiles = fc.constantFrom(0.5, 0.95, 0.25)

test('property: without cut-offs the estimate is the nearest-rank percentile', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 1_000 }), { minLength: 1, maxLength: 60 }),
      quantiles,
      (values, q) => {
        expect(
          latencyQuantile(
            values.map((ms) => ({ ms, observed: true })),
            q,
          ),
        ).toBe(percentile(values, q * 100))
      },
    ),
  )
})

test('property: the estimate lies between counting cut-offs as answered and an answer seen', () => {
  fc.assert(
    fc.property(samples, quantiles, (list, q) => {
      const estimate = latencyQuantile(list, q)
      const optimistic = latencyQuantile(
        list.map((s) => ({ ...s, observed: true })),
        q,
      )
      if (estimate === null) return
      // Counting a cut-off as answered at the cut can only make it look faster.
      expect(optimistic).not.toBeNull()
      expect(estimate).toBeGreaterThanOrEqual(optimistic as number)
      // The estimate is always a latency that was seen.
      expect(list.some((s) => s.observed && s.ms === estimate)).toBe(true)
    }),
    { numRuns: 500 },
  )
})
