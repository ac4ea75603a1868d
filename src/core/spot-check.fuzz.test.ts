import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  compareOutputs,
  EMPTY_RECORD,
  recordOutcome,
  type SpotCheckOutcome,
  type SpotCheckPolicy,
} from './spot-check.ts'

const pieces = fc.array(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 40 })
const policies: SpotCheckPolicy[] = [
  { mode: 'exact', sampled: true },
  { mode: 'tolerant', minAgreedTokens: 4 },
]

describe('spot-check properties', () => {
  it('an honest node (same output, same count) is never a disagreement under any policy', () => {
    fc.assert(
      fc.property(
        pieces,
        fc.constantFrom(...policies),
        fc.constantFrom<'stop' | 'length'>('stop', 'length'),
        (p, policy, finish) => {
          const c = compareOutputs(
            { temperature: 0, seed: 1 },
            { text: p.join(''), completionTokens: p.length, finish_reason: finish },
            { pieces: p, finish_reason: finish },
            policy,
          )
          expect(c.outcome).toBe('agree')
        },
      ),
    )
  })
  it('under the exact rule any change of the text disagrees', () => {
    fc.assert(
      fc.property(pieces, fc.string({ minLength: 1, maxLength: 8 }), (p, extra) => {
        const c = compareOutputs(
          { temperature: 0, seed: 1 },
          { text: p.join('') + extra, completionTokens: p.length, finish_reason: 'length' },
          { pieces: p, finish_reason: 'length' },
          { mode: 'exact', sampled: true },
        )
        expect(c.outcome).toBe('disagree')
      }),
    )
  })
  it('a record counts every outcome once and, once flagged, stays flagged', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom<SpotCheckOutcome>('agree', 'disagree', 'inconclusive'), { maxLength: 60 }),
        fc.constantFrom(...policies),
        (outcomes, policy) => {
          let record = EMPTY_RECORD
          let wasFlagged = false
          for (const outcome of outcomes) {
            record = recordOutcome(record, outcome, policy)
            if (wasFlagged) expect(record.flagged).toBe(true)
            wasFlagged = record.flagged
          }
          expect(record.agree + record.disagree + record.inconclusive).toBe(outcomes.length)
          if (record.disagree === 0) expect(record.flagged).toBe(false)
        },
      ),
    )
  })
})
