import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hashVoucher, voucherIncrease } from './voucher.ts'

const domain = { chainId: 31337, verifyingContract: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' } as const
const uint256 = fc.bigInt({ min: 0n, max: 2n ** 256n - 1n })

describe('voucher (properties)', () => {
  it('hashes distinct vouchers to distinct digests', () => {
    fc.assert(
      fc.property(uint256, uint256, uint256, (channelId, a, b) => {
        fc.pre(a !== b)
        expect(hashVoucher({ channelId, cumulativeAmount: a }, domain)).not.toBe(
          hashVoucher({ channelId, cumulativeAmount: b }, domain),
        )
      }),
      { numRuns: 50 },
    )
  })

  it('never pays twice: redeeming in any order pays the maximum once', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: 10n ** 24n }), { maxLength: 20 }), (amounts) => {
        let redeemed = 0n
        let paid = 0n
        for (const cumulativeAmount of amounts) {
          const increase = voucherIncrease({ channelId: 1n, cumulativeAmount }, redeemed)
          paid += increase
          redeemed += increase
        }
        expect(paid).toBe(amounts.reduce((m, a) => (a > m ? a : m), 0n))
      }),
    )
  })
})
