import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { EMPTY_CACHE, LOCAL_CACHE_OWNER, peerCacheOwner, prefixCacheRun, type CacheHolders } from './prefix-cache.ts'

const A = peerCacheOwner('A')
const B = peerCacheOwner('B')

describe('prefix cache ownership', () => {
  test('a peer reuses only a cache that holds its own prompts; the local user reuses any', () => {
    for (const keeps of ['last run', 'every run'] as const) {
      const run = (holders: CacheHolders, cacheOwner?: string, reusePrefix = true) =>
        prefixCacheRun(holders, { reusePrefix, ...(cacheOwner ? { cacheOwner } : {}) }, { keeps })
      const afterA = run(EMPTY_CACHE, A)
      expect(afterA).toEqual({ reuse: true, holders: { kind: 'one', owner: A } })
      expect(run(afterA.holders, A).reuse).toBe(true)
      expect(run(afterA.holders, A, false).reuse).toBe(false)
      const afterB = run(afterA.holders, B)
      expect(afterB.reuse).toBe(false)
      expect(run(afterB.holders).reuse).toBe(true)
      expect(run(afterB.holders, undefined, false).reuse).toBe(false)
    }
  })

  test('an engine that keeps every run’s state never lets a peer reuse once another party ran; one that keeps the last run does after its own run', () => {
    const every = (h: CacheHolders, o: string) =>
      prefixCacheRun(h, { reusePrefix: true, cacheOwner: o }, { keeps: 'every run' })
    const last = (h: CacheHolders, o: string) =>
      prefixCacheRun(h, { reusePrefix: true, cacheOwner: o }, { keeps: 'last run' })
    const mixed = every(every(EMPTY_CACHE, A).holders, B).holders
    expect(mixed).toEqual({ kind: 'several' })
    expect(every(mixed, A).reuse).toBe(false)
    expect(every(every(mixed, A).holders, A).reuse).toBe(false)
    expect(every(mixed, LOCAL_CACHE_OWNER).reuse).toBe(true)
    const lastB = last(last(EMPTY_CACHE, A).holders, B).holders
    expect(last(lastB, A).reuse).toBe(false)
    expect(last(last(lastB, A).holders, A).reuse).toBe(true)
  })

  test('over any sequence of runs, a peer’s reuse only ever meets states of its own runs', () => {
    const step = fc.record({
      reusePrefix: fc.boolean(),
      cacheOwner: fc.constantFrom(LOCAL_CACHE_OWNER, A, B, peerCacheOwner('C')),
    })
    fc.assert(
      fc.property(
        fc.constantFrom('last run' as const, 'every run' as const),
        fc.array(step, { maxLength: 30 }),
        (keeps, runs) => {
          let holders: CacheHolders = EMPTY_CACHE
          // What the engine may hold: the last run's party, or every party since the load.
          let held: string[] = []
          for (const options of runs) {
            const next = prefixCacheRun(holders, options, { keeps })
            if (next.reuse) {
              expect(options.reusePrefix).toBe(true)
              if (options.cacheOwner !== LOCAL_CACHE_OWNER)
                expect(held.every((p) => p === options.cacheOwner)).toBe(true)
            }
            held = keeps === 'last run' ? [options.cacheOwner] : [...held, options.cacheOwner]
            holders = next.holders
          }
        },
      ),
    )
  })
})
