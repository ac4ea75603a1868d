import { expect, test } from 'vitest'
import type { Reputation, SuiteReputation } from '../../core/reputation.ts'
import { reputationRequirement, summarizeReputation } from './reputation.ts'

const none: SuiteReputation = { score: null, confidence: 0, evaluators: 0, agreeing: 0, samples: 0 }
const suite = (score: number, confidence: number): SuiteReputation => ({
  score,
  confidence,
  evaluators: 2,
  agreeing: 2,
  samples: 20,
})
const suites = {
  'fim-exact': none,
  'fim-pass1': none,
  sentiment: none,
  'latency-p50': none,
  'latency-p95': none,
  uptime: none,
  'spot-check': none,
}

test('no evidence, or not enough: unknown everywhere', () => {
  for (const r of [null, undefined, { status: 'unknown', score: null, confidence: 0, suites } satisfies Reputation]) {
    expect(summarizeReputation(r)).toMatchObject({
      status: 'unknown',
      overall: 'unknown',
      accuracy: 'unknown',
      latency: 'unknown',
      uptime: 'unknown',
      spotCheck: 'unknown',
      line: 'reputation unknown',
    })
  }
})

test('known: overall with confidence, accuracy from pass@1 before exact match, latency in ms, uptime and spot checks in %', () => {
  const reputation: Reputation = {
    status: 'known',
    score: 81.6,
    confidence: 0.42,
    suites: {
      ...suites,
      'fim-exact': suite(700_000, 0.3),
      'fim-pass1': suite(625_000, 0.4),
      'latency-p50': suite(340.4, 0.5),
      uptime: suite(1_000_000, 0.6),
    },
  }
  expect(summarizeReputation(reputation)).toEqual({
    status: 'known',
    overall: '82/100 (confidence 42%)',
    accuracy: '62.5% (conf 40%)',
    latency: '340 ms (conf 50%)',
    uptime: '100% (conf 60%)',
    spotCheck: 'unknown',
    line: 'reputation 82/100 (confidence 42%); accuracy 62.5% (conf 40%), latency 340 ms (conf 50%), uptime 100% (conf 60%), spot checks unknown',
  })
})

test('the Chat minimum-reputation control maps to the SDK requirement (a numeric floor keeps unknown nodes)', () => {
  expect(reputationRequirement('any')).toEqual({ requireKnown: false })
  expect(reputationRequirement('known')).toEqual({ requireKnown: true })
  expect(reputationRequirement('70')).toEqual({ minReputation: 70, requireKnown: false })
})
