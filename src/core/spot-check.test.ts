import { describe, expect, it } from 'vitest'
import {
  agreedPrefixTokens,
  announcedEngine,
  agreementScore,
  checkProbability,
  compareOutputs,
  EMPTY_RECORD,
  policyFor,
  recordOutcome,
  type SpotCheckPolicy,
} from './spot-check.ts'

const greedy = { temperature: 0, seed: 7 }
const exact: SpotCheckPolicy = { mode: 'exact', sampled: true }
const tolerant: SpotCheckPolicy = { mode: 'tolerant', minAgreedTokens: 4 }
const run = (...pieces: string[]) => ({ pieces, finish_reason: 'length' as const })
const answer = (text: string, completionTokens: number, finish_reason: 'stop' | 'length' | 'abort' = 'length') => ({
  text,
  completionTokens,
  finish_reason,
})

describe('policyFor', () => {
  it('is exact for the same wasm build and tolerant across builds and for WebGPU', () => {
    expect(policyFor({ kind: 'wasm', build: 'wllama-3.8.1' }, { kind: 'wasm', build: 'wllama-3.8.1' })).toEqual({
      mode: 'exact',
      sampled: true,
    })
    expect(policyFor({ kind: 'wasm', build: 'wllama-3.7.0' }, { kind: 'wasm', build: 'wllama-3.8.1' }).mode).toBe(
      'tolerant',
    )
    expect(policyFor({ kind: 'webgpu' }, { kind: 'wasm' }).mode).toBe('tolerant')
    expect(policyFor({ kind: 'native' }, { kind: 'wasm' }).mode).toBe('tolerant')
    expect(policyFor({ kind: 'memory' }, { kind: 'wasm' }).mode).toBe('none')
  })
  it('never applies the exact rule to a wasm model with layers on a GPU', () => {
    expect(announcedEngine({ engine: 'wasm', deterministic: false })).toBe('wasm+gpu')
    expect(announcedEngine({ engine: 'wasm', deterministic: true })).toBe('wasm')
    expect(announcedEngine({ engine: 'webgpu', deterministic: false })).toBe('webgpu')
    expect(policyFor({ kind: 'wasm+gpu' }, { kind: 'wasm' }).mode).toBe('tolerant')
    expect(policyFor({ kind: 'wasm+gpu' }, { kind: 'wasm+gpu' }).mode).toBe('tolerant')
    expect(policyFor({ kind: 'wasm' }, { kind: 'wasm+gpu' }).mode).toBe('tolerant')
  })
})

describe('compareOutputs', () => {
  it('holds a greedy answer without a seed (which a node may serve from a reused cache) to the tolerant rule', () => {
    const unseeded = { temperature: 0 }
    const drifted = answer('a b c d e X', 6)
    const verifier = run('a', ' b', ' c', ' d', ' e', ' f')
    expect(compareOutputs(unseeded, drifted, verifier, exact).outcome).toBe('agree')
    expect(compareOutputs(greedy, drifted, verifier, exact).outcome).toBe('disagree')
    expect(compareOutputs(unseeded, answer('a X', 2), run('a', ' b'), exact).outcome).toBe('disagree')
  })
  it('agrees on identical output and token count', () => {
    expect(compareOutputs(greedy, answer('abc', 3), run('a', 'b', 'c'), exact)).toMatchObject({
      outcome: 'agree',
      agreedTokens: 3,
      firstDifference: null,
    })
  })
  it('disagrees on the first different token under the exact rule', () => {
    const c = compareOutputs(greedy, answer('abX', 3), run('a', 'b', 'c'), exact)
    expect(c).toMatchObject({ outcome: 'disagree', agreedTokens: 2, firstDifference: 2 })
  })
  it('disagrees when the receipt bills more tokens than the model makes for the same text', () => {
    expect(compareOutputs(greedy, answer('abc', 5), run('a', 'b', 'c'), exact).outcome).toBe('disagree')
  })
  it('is inconclusive for cancelled answers, unseeded sampling and incomparable engines', () => {
    expect(compareOutputs(greedy, answer('ab', 2, 'abort'), run('a', 'b', 'c'), exact).outcome).toBe('inconclusive')
    expect(compareOutputs({ temperature: 0.8 }, answer('xyz', 3), run('a', 'b', 'c'), exact).outcome).toBe(
      'inconclusive',
    )
    expect(compareOutputs(greedy, answer('xyz', 3), run('a', 'b', 'c'), { mode: 'none', reason: 'n/a' }).outcome).toBe(
      'inconclusive',
    )
    expect(compareOutputs({ temperature: 0.8, seed: 1 }, answer('xyz', 3), run('a', 'b', 'c'), tolerant).outcome).toBe(
      'inconclusive',
    )
  })
  it('accepts a late drift but not an early divergence under the tolerant rule', () => {
    expect(compareOutputs(greedy, answer('abcdeZ', 6), run('a', 'b', 'c', 'd', 'e', 'f'), tolerant).outcome).toBe(
      'agree',
    )
    expect(compareOutputs(greedy, answer('aZcdef', 6), run('a', 'b', 'c', 'd', 'e', 'f'), tolerant).outcome).toBe(
      'disagree',
    )
  })
})

describe('records', () => {
  it('flags at the first disagreement under the exact rule and counts the checks to it', () => {
    let record = EMPTY_RECORD
    for (let i = 0; i < 4; i++) record = recordOutcome(record, 'agree', exact)
    record = recordOutcome(record, 'inconclusive', exact)
    record = recordOutcome(record, 'disagree', exact)
    expect(record).toMatchObject({
      agree: 4,
      disagree: 1,
      inconclusive: 1,
      checksToFirstDisagreement: 5,
      flagged: true,
    })
    expect(agreementScore(record)).toEqual({ score: 800_000, sampleSize: 5 })
  })
  it('needs repeated majority disagreement under the tolerant rule', () => {
    let record = EMPTY_RECORD
    for (let i = 0; i < 5; i++) record = recordOutcome(record, 'agree', tolerant)
    for (let i = 0; i < 3; i++) record = recordOutcome(record, 'disagree', tolerant)
    expect(record.flagged).toBe(false)
    for (let i = 0; i < 3; i++) record = recordOutcome(record, 'disagree', tolerant)
    expect(record.flagged).toBe(true)
  })
  it('checks everything while young or suspicious, the base rate otherwise', () => {
    expect(checkProbability(EMPTY_RECORD)).toBe(1)
    const clean = { ...EMPTY_RECORD, agree: 50 }
    expect(checkProbability(clean, { rate: 0.2 })).toBe(0.2)
    expect(checkProbability({ ...clean, disagree: 1 }, { rate: 0.2 })).toBe(1)
    expect(agreementScore(EMPTY_RECORD)).toBeNull()
  })
  it('counts agreed tokens by whole pieces', () => {
    expect(agreedPrefixTokens('hello world', ['hel', 'lo', ' wor', 'ld'])).toBe(4)
    expect(agreedPrefixTokens('hello', ['hel', 'lo', ' wor'])).toBe(2)
    expect(agreedPrefixTokens('', ['a'])).toBe(0)
  })
})
