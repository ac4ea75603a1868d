import { describe, expect, it } from 'vitest'
import type { Attestation, AttestationSuite } from './attestation.ts'
import type { Address } from './deployment.ts'
import {
  agrees,
  cappedShares,
  reputationOf,
  stakeWeight,
  suiteQuality,
  weightedMedian,
  type ReputationOptions,
} from './reputation.ts'

const NOW = 1_700_000_000
const NODE: Address = `0x${'aa'.repeat(20)}`
const MODEL = `0x${'11'.repeat(32)}` as const
const evaluator = (i: number): Address => `0x${(i + 1).toString(16).padStart(40, '0')}`

function att(
  i: number,
  suite: AttestationSuite,
  score: number,
  extra: Partial<Attestation> = {},
): { attestation: Attestation } {
  return {
    attestation: {
      evaluator: evaluator(i),
      node: NODE,
      modelHash: MODEL,
      suite,
      score,
      sampleSize: 50,
      windowStart: NOW - 3600,
      windowEnd: NOW - 60,
      nonce: 1,
      ...extra,
    },
  }
}
const equal: ReputationOptions = { now: NOW, evaluatorWeight: () => 1 }

describe('reputation', () => {
  it('is unknown with no attestations, and with one evaluator however many it sends', () => {
    expect(reputationOf([], equal)).toMatchObject({ status: 'unknown', score: null, confidence: 0 })
    const lone = [
      att(0, 'fim-exact', 900_000),
      att(0, 'uptime', 1_000_000, { nonce: 2 }),
      att(0, 'fim-exact', 950_000, { nonce: 3 }),
    ]
    const rep = reputationOf(lone, equal)
    expect(rep.status).toBe('unknown')
    expect(rep.suites['fim-exact']).toEqual({ score: null, confidence: 0, evaluators: 1, agreeing: 0, samples: 50 })
  })

  it('becomes known once two independent evaluators agree, not when they disagree', () => {
    const agree = reputationOf([att(0, 'fim-exact', 800_000), att(1, 'fim-exact', 860_000)], equal)
    expect(agree.status).toBe('known')
    expect(agree.suites['fim-exact']).toMatchObject({ score: 830_000, evaluators: 2, agreeing: 2 })
    expect(agree.score).toBe(83)
    const disagree = reputationOf([att(0, 'fim-exact', 200_000), att(1, 'fim-exact', 900_000)], equal)
    expect(disagree.status).toBe('unknown')
    expect(disagree.suites['fim-exact']).toMatchObject({ score: null, evaluators: 2, agreeing: 0 })
  })

  it('counts only the latest attestation of each evaluator', () => {
    const rep = reputationOf(
      [att(0, 'uptime', 100_000, { nonce: 1 }), att(0, 'uptime', 990_000, { nonce: 5 }), att(1, 'uptime', 1_000_000)],
      equal,
    )
    expect(rep.suites.uptime).toMatchObject({ score: 995_000, evaluators: 2, samples: 100 })
  })

  it('leaves out self-attestations, zero-weight evaluators, other subjects and untrusted evaluators', () => {
    const self = att(0, 'sentiment', 1_000_000, { evaluator: NODE })
    const base = [att(1, 'sentiment', 700_000), att(2, 'sentiment', 720_000)]
    expect(reputationOf([self, att(1, 'sentiment', 700_000)], equal).status).toBe('unknown')
    expect(reputationOf(base, { ...equal, evaluatorWeight: (e) => (e === evaluator(2) ? 0 : 1) }).status).toBe(
      'unknown',
    )
    expect(reputationOf(base, { ...equal, subject: { node: evaluator(9), modelHash: MODEL } }).status).toBe('unknown')
    expect(reputationOf(base, { ...equal, subject: { node: NODE, modelHash: MODEL } }).status).toBe('known')
    expect(reputationOf(base, { ...equal, evaluators: new Set([evaluator(1)]) }).status).toBe('unknown')
  })

  it('one evaluator cannot move a consensus of others, whatever its stake', () => {
    const honest = [att(0, 'spot-check', 1_000_000), att(1, 'spot-check', 1_000_000), att(2, 'spot-check', 1_000_000)]
    const liar = att(3, 'spot-check', 0)
    const rep = reputationOf([...honest, liar], { ...equal, evaluatorWeight: (e) => (e === evaluator(3) ? 1e9 : 1) })
    expect(rep.suites['spot-check']).toMatchObject({ score: 1_000_000, evaluators: 4, agreeing: 3 })
  })

  it('decays old evidence: lower confidence, then unknown', () => {
    const pair = [att(0, 'uptime', 990_000), att(1, 'uptime', 1_000_000)]
    const fresh = reputationOf(pair, equal)
    const weekOld = reputationOf(pair, { ...equal, now: NOW + 7 * 86_400 })
    const ancient = reputationOf(pair, { ...equal, now: NOW + 60 * 86_400 })
    expect(weekOld.suites.uptime.score).toBe(fresh.suites.uptime.score)
    expect(weekOld.suites.uptime.confidence).toBeLessThan(fresh.suites.uptime.confidence)
    expect(ancient.status).toBe('unknown')
  })

  it('weighs fresher and larger samples more', () => {
    const rep = reputationOf(
      [
        att(0, 'fim-pass1', 500_000, { sampleSize: 1 }),
        att(1, 'fim-pass1', 560_000),
        att(2, 'fim-pass1', 580_000, { windowEnd: NOW - 30 * 86_400 + 100, windowStart: NOW - 30 * 86_400 }),
      ],
      equal,
    )
    expect(rep.suites['fim-pass1'].score).toBe(560_000)
  })

  it('combines suites into 0..100 with latency mapped to a quality', () => {
    const rep = reputationOf(
      [
        att(0, 'latency-p50', 1_000),
        att(1, 'latency-p50', 1_000),
        att(0, 'uptime', 1_000_000),
        att(1, 'uptime', 1_000_000),
      ],
      equal,
    )
    // uptime 1.0 (weight 0.2) and latency 0.5 (weight 0.1): (0.2 + 0.05) / 0.3
    expect(rep.score).toBe(83)
    expect(rep.confidence).toBeGreaterThan(0)
    expect(rep.confidence).toBeLessThan(1)
    expect(suiteQuality('latency-p95', 0)).toBe(1)
    expect(suiteQuality('sentiment', 250_000)).toBe(0.25)
  })

  it('latency agreement is relative', () => {
    expect(agrees('latency-p95', 4_000, 4_900)).toBe(true)
    expect(agrees('latency-p95', 4_000, 6_000)).toBe(false)
    expect(agrees('latency-p50', 10, 200)).toBe(true)
    expect(agrees('fim-exact', 0, 100_001)).toBe(false)
  })
})

describe('reputation helpers', () => {
  it('caps shares by water-filling, equal when too few', () => {
    expect(cappedShares([100, 1], 1 / 3)).toEqual([0.5, 0.5])
    const shares = cappedShares([100, 1, 1, 1, 1], 1 / 3)
    expect(shares[0]).toBeCloseTo(1 / 3)
    expect(shares.slice(1).every((s) => Math.abs(s - 1 / 6) < 1e-12)).toBe(true)
    expect(cappedShares([1, 2, 3, 4], 0.5)).toEqual([0.1, 0.2, 0.3, 0.4])
  })

  it('takes the midpoint of the weighted medians', () => {
    expect(
      weightedMedian([
        { value: 1, weight: 1 },
        { value: 3, weight: 1 },
      ]),
    ).toBe(2)
    expect(
      weightedMedian([
        { value: 1, weight: 1 },
        { value: 3, weight: 1 },
        { value: 10, weight: 1 },
      ]),
    ).toBe(3)
    expect(
      weightedMedian([
        { value: 1, weight: 3 },
        { value: 3, weight: 1 },
        { value: 10, weight: 1 },
      ]),
    ).toBe(1)
  })

  it('derives a weight from stake', () => {
    expect(stakeWeight({ active: true, stake: 1500n * 10n ** 18n, whitelisted: false })).toBe(1500)
    expect(stakeWeight({ active: true, stake: 0n, whitelisted: true }, { whitelistWeight: 100 })).toBe(100)
    expect(stakeWeight({ active: false, stake: 10n ** 24n, whitelisted: false })).toBe(0)
  })
})
