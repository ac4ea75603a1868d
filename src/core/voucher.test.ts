import { describe, expect, it } from 'vitest'
import { concat, encodeAbiParameters, keccak256, recoverTypedDataAddress, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { InvalidChainValueError } from './errors/chain.ts'
import { hashVoucher, voucherDomain, voucherIncrease, voucherTypedData } from './voucher.ts'

const consumer = privateKeyToAccount('0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a')
const domain = { chainId: 31337, verifyingContract: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' } as const

describe('voucher', () => {
  it('hashes to the hand-computed EIP-712 digest', () => {
    const domainSeparator = keccak256(
      encodeAbiParameters(
        [{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'uint256' }, { type: 'address' }],
        [
          keccak256(toHex('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)')),
          keccak256(toHex('Modelex')),
          keccak256(toHex('1')),
          31337n,
          domain.verifyingContract,
        ],
      ),
    )
    const structHash = keccak256(
      encodeAbiParameters(
        [{ type: 'bytes32' }, { type: 'uint256' }, { type: 'uint256' }],
        [keccak256(toHex('Voucher(uint256 channelId,uint256 cumulativeAmount)')), 7n, 10n ** 18n],
      ),
    )
    expect(hashVoucher({ channelId: 7n, cumulativeAmount: 10n ** 18n }, domain)).toBe(
      keccak256(concat(['0x1901', domainSeparator, structHash])),
    )
  })

  it('signs typed data that recovers to the consumer', async () => {
    const typedData = voucherTypedData({ channelId: 1n, cumulativeAmount: 5n }, domain)
    const signature = await consumer.signTypedData(typedData)
    expect(await recoverTypedDataAddress({ ...typedData, signature })).toBe(consumer.address)
    expect(voucherDomain(domain).name).toBe('Modelex')
  })

  it('pays only the increase', () => {
    expect(voucherIncrease({ channelId: 1n, cumulativeAmount: 10n }, 4n)).toBe(6n)
    expect(voucherIncrease({ channelId: 1n, cumulativeAmount: 4n }, 4n)).toBe(0n)
    expect(voucherIncrease({ channelId: 1n, cumulativeAmount: 3n }, 4n)).toBe(0n)
  })

  it('rejects negative or oversized amounts', () => {
    expect(() => hashVoucher({ channelId: 1n, cumulativeAmount: -1n }, domain)).toThrow(InvalidChainValueError)
    expect(() => hashVoucher({ channelId: 2n ** 256n, cumulativeAmount: 1n }, domain)).toThrow(/voucher.channelId/)
  })
})
