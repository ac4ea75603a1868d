import { describe, expect, it } from 'vitest'
import { concat, encodeAbiParameters, keccak256, recoverTypedDataAddress, toHex, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { InvalidChainValueError } from './errors/chain.ts'
import { hashReceipt, receiptDomain, receiptTypedData, RECEIPT_TYPES, type Receipt } from './receipt.ts'

const KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
const signer = privateKeyToAccount(KEY)
const domain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const

const sampleReceipt: Receipt = {
  requestHash: keccak256(toHex('request')),
  outputHash: keccak256(toHex('output')),
  modelHash: keccak256(toHex('model')),
  nodeSigner: signer.address,
  consumer: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  promptTokens: 120n,
  completionTokens: 48n,
  cost: 10n ** 15n,
  channelId: 1n,
  cumulativePaid: 3n * 10n ** 15n,
  timestamp: 1_700_000_000n,
  deterministic: true,
}

const RECEIPT_TYPE_STRING =
  'Receipt(bytes32 requestHash,bytes32 outputHash,bytes32 modelHash,address nodeSigner,address consumer,uint64 promptTokens,uint64 completionTokens,uint256 cost,uint256 channelId,uint256 cumulativePaid,uint64 timestamp,bool deterministic)'

/** EIP-712 spelled out by hand, independent of viem's typed-data code. */
function manualDigest(r: Receipt): Hex {
  const domainSeparator = keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'uint256' }, { type: 'address' }],
      [
        keccak256(toHex('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)')),
        keccak256(toHex('Modelex')),
        keccak256(toHex('1')),
        BigInt(domain.chainId),
        domain.verifyingContract,
      ],
    ),
  )
  const structHash = keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, ...RECEIPT_TYPES.Receipt.map(({ type }) => ({ type }))],
      [
        keccak256(toHex(RECEIPT_TYPE_STRING)),
        r.requestHash,
        r.outputHash,
        r.modelHash,
        r.nodeSigner,
        r.consumer,
        r.promptTokens,
        r.completionTokens,
        r.cost,
        r.channelId,
        r.cumulativePaid,
        r.timestamp,
        r.deterministic,
      ],
    ),
  )
  return keccak256(concat(['0x1901', domainSeparator, structHash]))
}

describe('receipt', () => {
  it('declares the same type string as Receipt.sol', () => {
    const fields = RECEIPT_TYPES.Receipt.map(({ name, type }) => `${type} ${name}`).join(',')
    expect(`Receipt(${fields})`).toBe(RECEIPT_TYPE_STRING)
  })

  it('hashes to the hand-computed EIP-712 digest', () => {
    expect(hashReceipt(sampleReceipt, domain)).toBe(manualDigest(sampleReceipt))
  })

  it('binds the digest to chain id and contract', () => {
    const base = hashReceipt(sampleReceipt, domain)
    expect(hashReceipt(sampleReceipt, { ...domain, chainId: 1 })).not.toBe(base)
    expect(
      hashReceipt(sampleReceipt, { ...domain, verifyingContract: '0x0000000000000000000000000000000000000001' }),
    ).not.toBe(base)
  })

  it('builds a domain named Modelex, version 1', () => {
    expect(receiptDomain(domain)).toEqual({ name: 'Modelex', version: '1', ...domain })
  })

  it('produces typed data a signature recovers from', async () => {
    const typedData = receiptTypedData(sampleReceipt, domain)
    const signature = await signer.signTypedData(typedData)
    expect(await recoverTypedDataAddress({ ...typedData, signature })).toBe(signer.address)
  })

  it('rejects values the contract cannot hold', () => {
    expect(() => hashReceipt({ ...sampleReceipt, promptTokens: 2n ** 64n }, domain)).toThrow(InvalidChainValueError)
    expect(() => hashReceipt({ ...sampleReceipt, cost: -1n }, domain)).toThrow(InvalidChainValueError)
    expect(() => hashReceipt({ ...sampleReceipt, requestHash: '0x1234' }, domain)).toThrow(InvalidChainValueError)
    expect(() => hashReceipt({ ...sampleReceipt, consumer: '0x12' }, domain)).toThrow(/receipt.consumer/)
    expect(() => hashReceipt({ ...sampleReceipt, timestamp: 1 as unknown as bigint }, domain)).toThrow(/not a bigint/)
  })
})
