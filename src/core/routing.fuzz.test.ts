/**
 * The routing rule as properties over random node sets: what is never picked, and how the order moves when one
 * node gets cheaper, less loaded, closer or better reputed.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { rankNodes, routeRequest, type RouteCandidate, type RoutingOptions } from './routing.ts'

const candidate = (peerId: string) =>
  fc.record({
    peerId: fc.constant(peerId),
    prices: fc.record({
      pricePerMillionInput: fc.bigInt({ min: 0n, max: 10n ** 18n }),
      pricePerMillionOutput: fc.bigInt({ min: 0n, max: 10n ** 18n }),
    }),
    capacity: fc.integer({ min: 0, max: 8 }),
    queueDepth: fc.integer({ min: 0, max: 20 }),
    tokensPerSecond: fc.oneof(fc.constant(0), fc.double({ min: 0.5, max: 500, noNaN: true })),
    rttMs: fc.option(fc.integer({ min: 0, max: 5_000 }), { nil: null }),
    reputation: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
    flagged: fc.boolean(),
  }) satisfies fc.Arbitrary<RouteCandidate>

const nodes = fc
  .integer({ min: 1, max: 8 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => candidate(`peer-${i}`))))
const request = fc.record({
  inputTokens: fc.integer({ min: 0, max: 8_000 }),
  maxTokens: fc.integer({ min: 0, max: 4_096 }),
})
const options = fc.record({
  now: fc.integer({ min: 0, max: 10_000 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 }),
  backoff: fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 8, maxLength: 8 }),
  minReputation: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
  requireKnown: fc.boolean(),
  latencyBarMs: fc.integer({ min: 0, max: 5_000 }),
})
const toOptions = (o: {
  now: number
  seed: number
  backoff: number[]
  minReputation: number | undefined
  requireKnown: boolean
  latencyBarMs: number
}): RoutingOptions => ({
  now: o.now,
  seed: o.seed,
  backoffUntil: (peer) => o.backoff[Number(peer.split('-')[1])],
  minReputation: o.minReputation,
  requireKnown: o.requireKnown,
  latencyBarMs: o.latencyBarMs,
})
const indexOf = (list: RouteCandidate[], r: Parameters<typeof rankNodes>[1], o: RoutingOptions, peer: string) =>
  rankNodes(list, r, o).findIndex((x) => x.candidate.peerId === peer)

describe('routing properties', () => {
  it('never picks a node in back-off, a flagged node, or one below the reputation asked for; every other node is ranked once', () => {
    fc.assert(
      fc.property(nodes, request, options, (list, r, o) => {
        const opts = toOptions(o)
        const { ranked, excluded } = routeRequest(list, r, opts)
        for (const { candidate: c } of ranked) {
          expect(c.flagged).toBe(false)
          const until = opts.backoffUntil!(c.peerId)
          expect(until === undefined || until <= o.now).toBe(true)
          if (c.reputation === null) expect(o.requireKnown).toBe(false)
          else if (o.minReputation !== undefined) expect(c.reputation).toBeGreaterThanOrEqual(o.minReputation)
        }
        expect(ranked.length + excluded.length).toBe(list.length)
      }),
    )
  })

  it('is deterministic for a seed and does not depend on the order candidates come in', () => {
    fc.assert(
      fc.property(nodes, request, options, (list, r, o) => {
        const a = rankNodes(list, r, toOptions(o)).map((x) => x.candidate.peerId)
        const b = rankNodes([...list].reverse(), r, toOptions(o)).map((x) => x.candidate.peerId)
        expect(b).toEqual(a)
      }),
    )
  })

  it('is monotone in price: a node that gets cheaper never moves down', () => {
    fc.assert(
      fc.property(
        nodes,
        request,
        options,
        fc.nat(),
        fc.bigInt({ min: 1n, max: 10n ** 18n }),
        (list, r, o, pick, cut) => {
          const i = pick % list.length
          const target = list[i]!
          const cheaper = {
            ...target,
            prices: {
              pricePerMillionInput: target.prices.pricePerMillionInput / 2n,
              pricePerMillionOutput:
                target.prices.pricePerMillionOutput > cut ? target.prices.pricePerMillionOutput - cut : 0n,
            },
          }
          const before = indexOf(list, r, toOptions(o), target.peerId)
          const after = indexOf(
            list.map((c, j) => (j === i ? cheaper : c)),
            r,
            toOptions(o),
            target.peerId,
          )
          expect(after).toBeLessThanOrEqual(before)
        },
      ),
    )
  })

  it('is monotone in wait: a node with a shorter queue, more capacity or a shorter round trip never moves down', () => {
    fc.assert(
      fc.property(
        nodes,
        request,
        options,
        fc.nat(),
        fc.constantFrom('queue', 'capacity', 'rtt', 'reputation'),
        (list, r, o, pick, what) => {
          const i = pick % list.length
          const t = list[i]!
          const better: RouteCandidate =
            what === 'queue'
              ? { ...t, queueDepth: Math.floor(t.queueDepth / 2) }
              : what === 'capacity'
                ? { ...t, capacity: Math.max(1, t.capacity) * 2 }
                : what === 'rtt'
                  ? { ...t, rttMs: t.rttMs === null ? null : Math.floor(t.rttMs / 2) }
                  : { ...t, reputation: t.reputation === null ? null : Math.min(100, t.reputation + 10) }
          const before = indexOf(list, r, toOptions(o), t.peerId)
          const after = indexOf(
            list.map((c, j) => (j === i ? better : c)),
            r,
            toOptions(o),
            t.peerId,
          )
          // A node left out (-1) stays out only for reasons the change does not touch, except reputation going up.
          if (before === -1) return
          expect(after).toBeGreaterThanOrEqual(0)
          expect(after).toBeLessThanOrEqual(before)
        },
      ),
    )
  })

  it('a cheaper node otherwise equal to another always ranks ahead of it', () => {
    fc.assert(
      fc.property(candidate('peer-0'), request, options, fc.bigInt({ min: 1n, max: 10n ** 15n }), (base, r, o, cut) => {
        fc.pre(r.maxTokens > 0 && !base.flagged)
        const opts = { ...toOptions(o), backoffUntil: () => undefined, minReputation: undefined, requireKnown: false }
        const dear = {
          ...base,
          peerId: 'peer-1',
          prices: { ...base.prices, pricePerMillionOutput: base.prices.pricePerMillionOutput + cut * 1_000_000n },
        }
        expect(rankNodes([dear, base], r, opts).map((x) => x.candidate.peerId)).toEqual(['peer-0', 'peer-1'])
      }),
    )
  })
})
