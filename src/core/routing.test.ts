import { describe, expect, it } from 'vitest'
import { expectedWaitMs, NodeBackoff, rankNodes, routeRequest, type RouteCandidate } from './routing.ts'

const prices = (input: bigint, output: bigint) => ({ pricePerMillionInput: input, pricePerMillionOutput: output })
const node = (peerId: string, over: Partial<RouteCandidate> = {}): RouteCandidate => ({
  peerId,
  prices: prices(10n ** 15n, 3n * 10n ** 15n),
  capacity: 2,
  queueDepth: 0,
  tokensPerSecond: 100,
  rttMs: 20,
  reputation: null,
  flagged: false,
  ...over,
})
const request = { inputTokens: 100, maxTokens: 32 }
const order = (candidates: RouteCandidate[], options: Partial<Parameters<typeof rankNodes>[2]> = {}) =>
  rankNodes(candidates, request, { now: 0, seed: 1, ...options }).map((r) => r.candidate.peerId)

describe('routing', () => {
  it('ranks fast nodes by the exact price of this request, not by the sum of the announced prices', () => {
    // a: cheap output, dear input; b: the reverse. For a long prompt and few output tokens, b is cheaper.
    const a = node('a', { prices: prices(10n ** 16n, 10n ** 14n) })
    const b = node('b', { prices: prices(10n ** 14n, 10n ** 16n) })
    expect(
      rankNodes([a, b], { inputTokens: 2000, maxTokens: 4 }, { now: 0, seed: 0 }).map((r) => r.candidate.peerId),
    ).toEqual(['b', 'a'])
    expect(
      rankNodes([a, b], { inputTokens: 4, maxTokens: 2000 }, { now: 0, seed: 0 }).map((r) => r.candidate.peerId),
    ).toEqual(['a', 'b'])
  })

  it('puts a node whose queue pushes its first token past the latency bar after the fast ones, whatever its price', () => {
    const cheapBusy = node('cheap', { prices: prices(1n, 1n), capacity: 1, queueDepth: 3, tokensPerSecond: 10 })
    const dear = node('dear')
    expect(order([cheapBusy, dear])).toEqual(['dear', 'cheap'])
    // Idle, the cheap one wins again.
    expect(order([{ ...cheapBusy, queueDepth: 0 }, dear])).toEqual(['cheap', 'dear'])
  })

  it('treats capacity 1 as a one-slot queue: wait = queueDepth × expected duration; capacity c divides it', () => {
    const one = node('one', { capacity: 1, queueDepth: 2, tokensPerSecond: 10 })
    const duration = ((100 / 8 + 32) / 10) * 1000
    expect(expectedWaitMs(one, request)).toBeCloseTo(2 * duration)
    expect(expectedWaitMs({ ...one, capacity: 4 }, request)).toBeCloseTo(duration / 2)
    expect(expectedWaitMs({ ...one, capacity: 0 }, request)).toBeCloseTo(2 * duration)
  })

  it('leaves out nodes in back-off, flagged nodes and nodes below the reputation asked for; unknown is neutral', () => {
    const { ranked, excluded } = routeRequest(
      [
        node('busy'),
        node('liar', { flagged: true }),
        node('low', { reputation: 10 }),
        node('unknown'),
        node('good', { reputation: 90 }),
      ],
      request,
      {
        now: 1_000,
        seed: 0,
        backoffUntil: (p) => (p === 'busy' ? 2_000 : undefined),
        minReputation: 50,
      },
    )
    expect(ranked.map((r) => r.candidate.peerId)).toEqual(['good', 'unknown'])
    expect(excluded).toEqual([
      { peerId: 'busy', reason: 'backoff' },
      { peerId: 'liar', reason: 'flagged' },
      { peerId: 'low', reason: 'reputation' },
    ])
    expect(order([node('unknown')], { requireKnown: true })).toEqual([])
    // A back-off that has passed no longer counts.
    expect(order([node('busy')], { now: 2_000, backoffUntil: () => 2_000 })).toEqual(['busy'])
  })

  it('ranks an unmeasured node after measured fast ones, and among slow nodes by expected time', () => {
    expect(order([node('unmeasured', { rttMs: null, prices: prices(1n, 1n) }), node('measured')])).toEqual([
      'measured',
      'unmeasured',
    ])
    expect(order([node('far', { rttMs: 5_000 }), node('slow', { rttMs: 2_000 })])).toEqual(['slow', 'far'])
  })

  it('orders equal nodes by the seed: deterministic for one seed, different orders across seeds', () => {
    const equal = ['p1', 'p2', 'p3', 'p4', 'p5'].map((p) => node(p))
    expect(order(equal, { seed: 42 })).toEqual(order([...equal].reverse(), { seed: 42 }))
    const firsts = new Set(Array.from({ length: 40 }, (_, seed) => order(equal, { seed })[0]))
    expect(firsts.size).toBeGreaterThan(2)
  })
})

describe('NodeBackoff', () => {
  it('keeps a BUSY node out until its retry-after, bounded, and clears it when it serves', () => {
    const backoff = new NodeBackoff({ maxRetryAfterMs: 10_000 })
    expect(backoff.busy('a', 100, 500)).toBe(600)
    expect(backoff.until('a', 599)).toBe(600)
    expect(backoff.until('a', 600)).toBeUndefined()
    expect(backoff.busy('b', 0, 10 ** 9)).toBe(10_000)
    expect(backoff.busy('c', 0)).toBe(1_000)
    backoff.succeeded('b')
    expect(backoff.until('b', 0)).toBeUndefined()
  })

  it('doubles the wait of a node that keeps failing, up to a maximum, and forgets the oldest beyond its size', () => {
    const backoff = new NodeBackoff({ failureMs: 100, maxFailureMs: 350, maxEntries: 2 })
    expect(backoff.failed('a', 0)).toBe(100)
    expect(backoff.failed('a', 0)).toBe(200)
    expect(backoff.failed('a', 0)).toBe(350)
    backoff.failed('b', 0)
    backoff.failed('c', 0)
    expect(backoff.size).toBe(2)
    expect(backoff.until('a', 0)).toBeUndefined()
  })
})
