/**
 * The commit-reveal rules as properties: the commitment is the contract's encoding for any input, and the phase
 * machine never lets a node act twice or outside its window, at any block time.
 */
import fc from 'fast-check'
import { concatHex, keccak256, numberToHex, padHex, type Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  INT256_MAX,
  INT256_MIN,
  commitOpen,
  nextOracleAction,
  oracleCommitment,
  oraclePhase,
  type OracleRequestState,
} from './commit-reveal.ts'

const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => `0x${Buffer.from(b).toString('hex')}` as Hex)
const state = fc
  .record({
    status: fc.constantFrom('none', 'open', 'fulfilled', 'expired' as const),
    k: fc.integer({ min: 2, max: 16 }),
    commitDeadline: fc.bigInt({ min: 1n, max: 1000n }),
    revealWindow: fc.bigInt({ min: 1n, max: 1000n }),
    commitsSeed: fc.nat(),
    revealsSeed: fc.nat(),
  })
  .map(({ status, k, commitDeadline, revealWindow, commitsSeed, revealsSeed }): OracleRequestState => {
    const commits = commitsSeed % (k + 1)
    return {
      status,
      k,
      commits,
      reveals: revealsSeed % (commits + 1),
      commitDeadline,
      revealDeadline: commitDeadline + revealWindow,
    }
  })

describe('commit-reveal properties', () => {
  it('the commitment is keccak256 of the four 32-byte words the contract encodes', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
        hex(20),
        fc.bigInt({ min: INT256_MIN, max: INT256_MAX }),
        hex(32),
        (requestId, operator, value, salt) => {
          const words = concatHex([
            numberToHex(requestId, { size: 32 }),
            padHex(operator, { size: 32 }),
            numberToHex(value < 0n ? 2n ** 256n + value : value, { size: 32 }),
            salt,
          ])
          expect(oracleCommitment({ requestId, operator, value, salt })).toBe(keccak256(words))
        },
      ),
      { numRuns: 300 },
    )
  })

  it('commits and reveals never overlap, and nothing happens outside an open request', () => {
    fc.assert(
      fc.property(state, fc.bigInt({ min: 0n, max: 3000n }), (s, now) => {
        const phase = oraclePhase(s, now)
        if (s.status !== 'open') expect(['none', 'settled']).toContain(phase)
        if (phase === 'commit') {
          expect(s.commits).toBeLessThan(s.k)
          expect(now <= s.commitDeadline).toBe(true)
        }
        if (phase === 'reveal') {
          expect(commitOpen(s, now)).toBe(false)
          expect(now <= s.revealDeadline).toBe(true)
          expect(s.reveals).toBeLessThan(s.commits)
        }
        if (phase === 'finalizable') expect(now > s.revealDeadline || s.reveals === s.commits).toBe(true)
      }),
    )
  })

  it('a node acts at most once per step: a committed node never commits, a revealed node never reveals', () => {
    fc.assert(
      fc.property(
        state,
        fc.bigInt({ min: 0n, max: 3000n }),
        fc.boolean(),
        fc.boolean(),
        (s, now, committed, revealedIfCommitted) => {
          const node = { committed, revealed: committed && revealedIfCommitted }
          const action = nextOracleAction(s, node, now)
          if (node.committed) expect(action).not.toBe('commit')
          if (node.revealed || !node.committed) expect(action).not.toBe('reveal')
          if (action === 'commit') expect(commitOpen(s, now)).toBe(true)
        },
      ),
    )
  })

  it('time only moves a request forward through the phases', () => {
    const order = ['none', 'commit', 'reveal', 'finalizable', 'settled']
    fc.assert(
      fc.property(state, fc.bigInt({ min: 0n, max: 3000n }), fc.bigInt({ min: 0n, max: 3000n }), (s, a, b) => {
        const [early, late] = a <= b ? [a, b] : [b, a]
        expect(order.indexOf(oraclePhase(s, late))).toBeGreaterThanOrEqual(order.indexOf(oraclePhase(s, early)))
      }),
    )
  })
})
