/**
 * The reputation rules as properties over random evaluator sets: one evaluator's influence is bounded, agreeing
 * evidence never lowers a score, old evidence decays, and one evaluator alone never makes a node known.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PPM, type Attestation, type AttestationSuite } from './attestation.ts'
import type { Address } from './deployment.ts'
import { REPUTATION_DEFAULTS, cappedShares, reputationOf, type ReputationOptions } from './reputation.ts'

const NOW = 1_700_000_000
const NODE: Address = `0x${'aa'.repeat(20)}`
const MODEL = `0x${'11'.repeat(32)}` as const
const SUITE: AttestationSuite = 'fim-exact'
const TOL = REPUTATION_DEFAULTS.tolerance.ppm
const evaluator = (i: number): Address => `0x${(i + 1).toString(16).padStart(40, '0')}`

type Opinion = { score: number; stake: number; sampleSize: number; ageS: number }

const opinion: fc.Arbitrary<Opinion> = fc.record({
  score: fc.integer({ min: 0, max: PPM }),
  stake: fc.double({ min: 0.001, max: 1e6, noNaN: true }),
  sampleSize: fc.integer({ min: 1, max: 500 }),
  ageS: fc.integer({ min: 0, max: 20 * 86_400 }),
})
/** Opinions that tend to cluster (so that suites are often known), with outliers mixed in. */
const clustered: fc.Arbitrary<Opinion[]> = fc
  .tuple(
    fc.integer({ min: 0, max: PPM }),
    fc.array(fc.tuple(opinion, fc.integer({ min: -TOL, max: TOL }), fc.boolean()), { minLength: 2, maxLength: 9 }),
  )
  .map(([center, items]) =>
    items.map(([o, offset, outlier]) => ({
      ...o,
      score: outlier ? o.score : Math.min(PPM, Math.max(0, center + offset)),
    })),
  )

function attestationsOf(
  opinions: readonly Opinion[],
  suite: AttestationSuite = SUITE,
  offset = 0,
): { attestation: Attestation }[] {
  return opinions.map((o, i) => ({
    attestation: {
      evaluator: evaluator(i + offset),
      node: NODE,
      modelHash: MODEL,
      suite,
      score: o.score,
      sampleSize: o.sampleSize,
      windowStart: NOW - o.ageS - 600,
      windowEnd: NOW - o.ageS,
      nonce: 1,
    },
  }))
}

function optionsFor(opinions: readonly Opinion[], offset = 0, now = NOW): ReputationOptions {
  const stakes = new Map(opinions.map((o, i) => [evaluator(i + offset), o.stake]))
  return { now, evaluatorWeight: (e) => stakes.get(e) ?? 0 }
}

const scoreOf = (opinions: readonly Opinion[], now = NOW) =>
  reputationOf(attestationsOf(opinions), optionsFor(opinions, 0, now)).suites[SUITE]

describe('reputation (properties)', () => {
  it('one evaluator alone never makes a suite known, whatever it sends', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            opinion,
            fc.constantFrom<AttestationSuite>('fim-exact', 'uptime', 'latency-p50', 'spot-check'),
            fc.nat(100),
          ),
          { maxLength: 20 },
        ),
        (items) => {
          const attestations = items.map(([o, suite, nonce]) => ({
            attestation: {
              evaluator: evaluator(0),
              node: NODE,
              modelHash: MODEL,
              suite,
              score: suite === 'latency-p50' ? Math.round(o.score / 100) : o.score,
              sampleSize: o.sampleSize,
              windowStart: NOW - o.ageS - 1,
              windowEnd: NOW - o.ageS,
              nonce,
            },
          }))
          const rep = reputationOf(attestations, { now: NOW, evaluatorWeight: () => 1e9 })
          expect(rep.status).toBe('unknown')
          expect(rep.score).toBeNull()
        },
      ),
      { numRuns: 500 },
    )
  })

  it('bounded influence: changing or adding one evaluator keeps a known score within the tolerance of what the others say', () => {
    fc.assert(
      fc.property(clustered, opinion, fc.boolean(), (others, changed, replace) => {
        const before = replace ? others : others.slice(0, -1)
        const after = replace ? [...others.slice(0, -1), changed] : [...before, changed]
        const unchanged = others.slice(0, -1)
        const b = scoreOf(before)
        const a = scoreOf(after)
        if (a.score === null) return
        // Some unchanged evaluator agrees with the new score: it cannot leave the others' range by more than the tolerance.
        const scores = unchanged.filter((o) => NOW - o.ageS >= 0).map((o) => o.score)
        expect(a.score).toBeGreaterThanOrEqual(Math.min(...scores) - TOL)
        expect(a.score).toBeLessThanOrEqual(Math.max(...scores) + TOL)
        if (b.score !== null)
          expect(Math.abs(a.score - b.score)).toBeLessThanOrEqual(Math.max(...scores) - Math.min(...scores) + 2 * TOL)
      }),
      { numRuns: 2_000 },
    )
  })

  it('one evaluator cannot move a consensus: with two or more others in exact agreement, the score is theirs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: PPM }),
        fc.array(opinion, { minLength: 2, maxLength: 8 }),
        opinion,
        (value, others, outsider) => {
          const agreeing = others.map((o) => ({ ...o, ageS: 0, sampleSize: 100 }))
          const rep = scoreOf([
            ...agreeing.map((o) => ({ ...o, score: value })),
            { ...outsider, stake: outsider.stake * 1e6 },
          ])
          expect(rep.score).toBe(value)
        },
      ),
      { numRuns: 1_000 },
    )
  })

  it('monotone: evidence at or above a known score never lowers it; agreeing evidence at the score keeps it and never lowers confidence', () => {
    fc.assert(
      fc.property(clustered, opinion, fc.nat(TOL), (others, extra, above) => {
        const before = scoreOf(others)
        if (before.score === null) return
        const higher = scoreOf([...others, { ...extra, score: Math.min(PPM, before.score + above) }])
        if (higher.score !== null) expect(higher.score).toBeGreaterThanOrEqual(before.score)
        const same = scoreOf([...others, { ...extra, score: before.score }])
        expect(same.score).toBe(before.score)
        expect(same.agreeing).toBeGreaterThanOrEqual(before.agreeing)
        expect(same.confidence).toBeGreaterThanOrEqual(before.confidence - 1e-12)
      }),
      { numRuns: 2_000 },
    )
  })

  it('decay: as time passes, agreeing evidence keeps its score, loses confidence, and ends unknown', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: PPM }),
        fc.array(opinion, { minLength: 2, maxLength: 6 }),
        fc.integer({ min: 1, max: 30 * 86_400 }),
        (value, opinions, later) => {
          const agreeing = opinions.map((o) => ({ ...o, score: value }))
          const now = scoreOf(agreeing)
          const then = scoreOf(agreeing, NOW + later)
          if (then.score !== null) expect(then.score).toBe(now.score)
          expect(then.confidence).toBeLessThanOrEqual(now.confidence + 1e-12)
          expect(scoreOf(agreeing, NOW + 200 * 86_400).score).toBeNull()
        },
      ),
      { numRuns: 1_000 },
    )
  })

  it('capped shares sum to one, keep order, and respect the cap when it can be met', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 1e-6, max: 1e9, noNaN: true }), { minLength: 1, maxLength: 20 }),
        fc.double({ min: 0.05, max: 0.9, noNaN: true }),
        (weights, maxShare) => {
          const shares = cappedShares(weights, maxShare)
          expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9)
          if (weights.length * maxShare > 1) for (const s of shares) expect(s).toBeLessThanOrEqual(maxShare + 1e-9)
          for (let i = 0; i < weights.length; i++)
            for (let j = 0; j < weights.length; j++)
              if ((weights[i] as number) <= (weights[j] as number))
                expect(shares[i] as number).toBeLessThanOrEqual((shares[j] as number) + 1e-12)
        },
      ),
      { numRuns: 1_000 },
    )
  })
})
