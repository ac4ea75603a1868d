import { keccak256 } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  commitOpen,
  generateSalt,
  nextOracleAction,
  nextPhaseChangeAt,
  oracleCommitment,
  oraclePhase,
  oraclePhaseOf,
  oracleStatusOf,
  type OracleRequestState,
} from './commit-reveal.ts'
import { InvalidChainValueError } from './errors/chain.ts'

const operator = '0x1111111111111111111111111111111111111111' as const
const salt = `0x${'ab'.repeat(32)}` as const
const open = (over: Partial<OracleRequestState> = {}): OracleRequestState => ({
  status: 'open',
  k: 3,
  commits: 0,
  reveals: 0,
  commitDeadline: 100n,
  revealDeadline: 200n,
  ...over,
})

describe('oracleCommitment', () => {
  it('hashes abi.encode(requestId, operator, value, salt), value as two-complement int256', () => {
    const word = (hex: string) => hex.padStart(64, '0')
    const minusOne = 'f'.repeat(64)
    const expected = keccak256(`0x${word('7')}${word(operator.slice(2))}${minusOne}${salt.slice(2)}`)
    expect(oracleCommitment({ requestId: 7n, operator, value: -1n, salt })).toBe(expected)
  })

  it('binds every field: another operator, value, salt or request gives another commitment', () => {
    const base = oracleCommitment({ requestId: 1n, operator, value: 5n, salt })
    expect(oracleCommitment({ requestId: 2n, operator, value: 5n, salt })).not.toBe(base)
    expect(
      oracleCommitment({ requestId: 1n, operator: '0x2222222222222222222222222222222222222222', value: 5n, salt }),
    ).not.toBe(base)
    expect(oracleCommitment({ requestId: 1n, operator, value: 6n, salt })).not.toBe(base)
    expect(oracleCommitment({ requestId: 1n, operator, value: 5n, salt: `0x${'cd'.repeat(32)}` })).not.toBe(base)
  })

  it('refuses values the contract could not take', () => {
    expect(() => oracleCommitment({ requestId: 1n, operator, value: 2n ** 255n, salt })).toThrow(InvalidChainValueError)
    expect(() => oracleCommitment({ requestId: -1n, operator, value: 0n, salt })).toThrow(InvalidChainValueError)
    expect(() => oracleCommitment({ requestId: 1n, operator: '0x12', value: 0n, salt })).toThrow(InvalidChainValueError)
    expect(() => oracleCommitment({ requestId: 1n, operator, value: 0n, salt: '0x1234' })).toThrow(
      InvalidChainValueError,
    )
  })
})

describe('generateSalt', () => {
  it('is 32 bytes from the injected random source', () => {
    expect(generateSalt((b) => b.fill(0xab))).toBe(salt)
    expect(generateSalt()).toMatch(/^0x[0-9a-f]{64}$/)
    expect(generateSalt()).not.toBe(generateSalt())
    expect(() => generateSalt(() => new Uint8Array(16))).toThrow(InvalidChainValueError)
  })
})

describe('oraclePhase', () => {
  it('commit until k commits or the commit deadline, inclusive', () => {
    expect(oraclePhase(open(), 100n)).toBe('commit')
    expect(oraclePhase(open({ commits: 2 }), 50n)).toBe('commit')
    expect(oraclePhase(open({ commits: 3 }), 50n)).toBe('reveal')
    expect(oraclePhase(open({ commits: 1 }), 101n)).toBe('reveal')
    expect(commitOpen(open({ commits: 3 }), 50n)).toBe(false)
  })

  it('finalizable after the reveal deadline, or at once when nobody committed', () => {
    expect(oraclePhase(open({ commits: 3, reveals: 1 }), 200n)).toBe('reveal')
    expect(oraclePhase(open({ commits: 3, reveals: 1 }), 201n)).toBe('finalizable')
    expect(oraclePhase(open(), 101n)).toBe('finalizable')
  })

  it('settled and none', () => {
    expect(oraclePhase(open({ status: 'fulfilled' }), 0n)).toBe('settled')
    expect(oraclePhase(open({ status: 'expired' }), 0n)).toBe('settled')
    expect(oraclePhase(open({ status: 'none' }), 0n)).toBe('none')
  })

  it('maps the on-chain enums', () => {
    expect(oraclePhaseOf(3)).toBe('finalizable')
    expect(oracleStatusOf(3)).toBe('expired')
    expect(() => oraclePhaseOf(5)).toThrow(InvalidChainValueError)
    expect(() => oracleStatusOf(4)).toThrow(InvalidChainValueError)
  })
})

describe('nextOracleAction', () => {
  const fresh = { committed: false, revealed: false }
  const committed = { committed: true, revealed: false }
  const revealed = { committed: true, revealed: true }

  it('commits once, waits for the reveal window, reveals once', () => {
    expect(nextOracleAction(open(), fresh, 10n)).toBe('commit')
    expect(nextOracleAction(open({ commits: 1 }), committed, 10n)).toBe('wait')
    expect(nextOracleAction(open({ commits: 3 }), committed, 10n)).toBe('reveal')
    expect(nextOracleAction(open({ commits: 3, reveals: 1 }), revealed, 10n)).toBe('done')
  })

  it('a node that missed the commits has nothing to do but help finalize', () => {
    expect(nextOracleAction(open({ commits: 3 }), fresh, 10n)).toBe('done')
    expect(nextOracleAction(open({ commits: 3, reveals: 2 }), fresh, 201n)).toBe('finalize')
    expect(nextOracleAction(open({ status: 'fulfilled' }), revealed, 201n)).toBe('done')
  })

  it('says when to look again', () => {
    expect(nextPhaseChangeAt(open(), 10n)).toBe(101n)
    expect(nextPhaseChangeAt(open({ commits: 3 }), 10n)).toBe(201n)
    expect(nextPhaseChangeAt(open({ status: 'expired' }), 10n)).toBeNull()
  })
})
