import { describe, expect, it } from 'vitest'
import { InvalidChainValueError } from './errors/chain.ts'
import {
  decodeRoundInput,
  encodeRoundInput,
  nextRoundAt,
  openableRound,
  roundOpensAt,
  roundStatus,
  roundStatusOf,
  roundWindow,
  type RoundInput,
  type SubscriptionSchedule,
} from './oracle-round.ts'

const day = 86_400n
const schedule: SubscriptionSchedule = {
  start: 1_000_000n,
  period: day,
  rounds: 3,
  windowSeconds: 90n * day,
  cancelled: false,
}
const input: RoundInput = {
  subscriptionId: 4n,
  round: 1,
  datasetHash: `0x${'aa'.repeat(32)}`,
  windowStart: 10n,
  windowEnd: 20n,
  params: '0x455448',
}

describe('round schedule', () => {
  it('round r is due at start + r·period and reads the window before it', () => {
    expect(roundOpensAt(schedule, 2)).toBe(1_000_000n + 2n * day)
    expect(roundWindow(schedule, 0)).toEqual({ windowStart: 0n, windowEnd: 1_000_000n })
    expect(roundWindow({ ...schedule, windowSeconds: 100n }, 1)).toEqual({
      windowStart: 1_000_000n + day - 100n,
      windowEnd: 1_000_000n + day,
    })
    expect(() => roundOpensAt(schedule, 3)).toThrow(InvalidChainValueError)
  })

  it('status as getRound reports it', () => {
    expect(roundStatus(schedule, 1, 1_000_000n, null)).toBe('scheduled')
    expect(roundStatus(schedule, 1, 1_000_000n + day, null)).toBe('openable')
    expect(roundStatus(schedule, 1, 1_000_000n + 2n * day, null)).toBe('skipped')
    expect(roundStatus({ ...schedule, cancelled: true }, 1, 0n, null)).toBe('skipped')
    expect(roundStatus(schedule, 1, 0n, { status: 'open' })).toBe('open')
    expect(roundStatus(schedule, 1, 0n, { status: 'fulfilled' })).toBe('fulfilled')
    expect(roundStatus(schedule, 1, 0n, { status: 'expired' })).toBe('missed')
    expect(roundStatusOf(4)).toBe('missed')
    expect(() => roundStatusOf(6)).toThrow(InvalidChainValueError)
  })

  it('one round is openable at a time, in its slot, once', () => {
    expect(openableRound(schedule, 999_999n, new Set())).toBeNull()
    expect(openableRound(schedule, 1_000_000n, new Set())).toBe(0)
    expect(openableRound(schedule, 1_000_000n + day - 1n, new Set([0]))).toBeNull()
    expect(openableRound(schedule, 1_000_000n + 2n * day, new Set([0]))).toBe(2)
    expect(openableRound(schedule, 1_000_000n + 3n * day, new Set())).toBeNull()
    expect(openableRound({ ...schedule, cancelled: true }, 1_000_000n, new Set())).toBeNull()
    expect(nextRoundAt(schedule, 0n)).toBe(1_000_000n)
    expect(nextRoundAt(schedule, 1_000_000n)).toBe(1_000_000n + day)
    expect(nextRoundAt(schedule, 1_000_000n + 2n * day)).toBeNull()
  })
})

describe('round input', () => {
  it('round-trips', () => {
    expect(decodeRoundInput(encodeRoundInput(input))).toEqual(input)
  })

  it('refuses what the router would not encode', () => {
    expect(() => decodeRoundInput('0x1234')).toThrow(InvalidChainValueError)
    expect(() => decodeRoundInput(encodeRoundInput({ ...input, windowStart: 30n }))).toThrow(InvalidChainValueError)
    expect(() => decodeRoundInput(encodeRoundInput({ ...input, params: `0x${'00'.repeat(1025)}` }))).toThrow(
      InvalidChainValueError,
    )
    expect(() => decodeRoundInput(`${encodeRoundInput(input)}00`)).toThrow(InvalidChainValueError)
  })
})
