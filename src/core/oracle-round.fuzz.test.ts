/** The subscription schedule and round input as properties, over random schedules, times and inputs. */
import fc from 'fast-check'
import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { InvalidChainValueError } from './errors/chain.ts'
import {
  decodeRoundInput,
  encodeRoundInput,
  openableRound,
  roundOpensAt,
  roundStatus,
  type SubscriptionSchedule,
} from './oracle-round.ts'

const schedule = fc.record({
  start: fc.bigInt({ min: 0n, max: 10n ** 10n }),
  period: fc.bigInt({ min: 1n, max: 10n ** 6n }),
  rounds: fc.integer({ min: 1, max: 50 }),
  windowSeconds: fc.bigInt({ min: 0n, max: 10n ** 8n }),
  cancelled: fc.boolean(),
}) satisfies fc.Arbitrary<SubscriptionSchedule>
const bytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((b) => `0x${Buffer.from(b).toString('hex')}` as Hex)

describe('subscription schedule properties', () => {
  it('the openable round is exactly the one whose slot contains now, and it reports openable', () => {
    fc.assert(
      fc.property(schedule, fc.bigInt({ min: 0n, max: 2n * 10n ** 10n }), (s, now) => {
        const round = openableRound(s, now, new Set())
        for (let r = 0; r < s.rounds; r++) {
          const opensAt = roundOpensAt(s, r)
          const inSlot = !s.cancelled && now >= opensAt && now < opensAt + s.period
          expect(round === r).toBe(inSlot)
          expect(roundStatus(s, r, now, null) === 'openable').toBe(inSlot)
        }
        if (round !== null) expect(openableRound(s, now, new Set([round]))).toBeNull()
      }),
    )
  })

  it('round input: any valid input round-trips, any other bytes are refused with InvalidChainValueError', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        bytes(32, 32),
        fc.bigInt({ min: 0n, max: 2n ** 63n }),
        fc.bigInt({ min: 0n, max: 2n ** 63n }),
        bytes(0, 200),
        (subscriptionId, round, datasetHash, a, b, params) => {
          const input = {
            subscriptionId,
            round,
            datasetHash,
            windowStart: a < b ? a : b,
            windowEnd: a < b ? b : a,
            params,
          }
          expect(decodeRoundInput(encodeRoundInput(input))).toEqual(input)
        },
      ),
      { numRuns: 200 },
    )
    fc.assert(
      fc.property(bytes(0, 400), (data) => {
        try {
          decodeRoundInput(data)
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidChainValueError)
        }
      }),
      { numRuns: 300 },
    )
  })
})
