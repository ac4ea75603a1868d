import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bytesToHex, concat, encodeAbiParameters, keccak256, toHex, type Hex } from 'viem'
import { hashReceipt, RECEIPT_TYPES, type Receipt } from './receipt.ts'

const domain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b))
const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => bytesToHex(b))
const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })
const uint256 = fc.bigInt({ min: 0n, max: 2n ** 256n - 1n })

const receipt: fc.Arbitrary<Receipt> = fc.record({
  requestHash: bytes32,
  outputHash: bytes32,
  modelHash: bytes32,
  nodeSigner: address,
  consumer: address,
  promptTokens: uint64,
  completionTokens: uint64,
  cost: uint256,
  channelId: uint256,
  cumulativePaid: uint256,
  timestamp: uint64,
  deterministic: fc.boolean(),
})

const typeString = `Receipt(${RECEIPT_TYPES.Receipt.map(({ name, type }) => `${type} ${name}`).join(',')})`
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

/** `keccak256(abi.encode(RECEIPT_TYPEHASH, r))`, as `TypedHashes.hash(Receipt)` computes it on-chain. */
function solidityDigest(r: Receipt): Hex {
  const values = RECEIPT_TYPES.Receipt.map(({ name }) => r[name])
  const structHash = keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, ...RECEIPT_TYPES.Receipt.map(({ type }) => ({ type }))],
      [keccak256(toHex(typeString)), ...values],
    ),
  )
  return keccak256(concat(['0x1901', domainSeparator, structHash]))
}

describe('receipt (properties)', () => {
  it('hashes like the contract for any receipt', () => {
    fc.assert(
      fc.property(receipt, (r) => {
        expect(hashReceipt(r, domain)).toBe(solidityDigest(r))
      }),
      { numRuns: 200 },
    )
  })

  it('changes its hash when any output or accounting field changes', () => {
    fc.assert(
      fc.property(receipt, bytes32, (r, other) => {
        fc.pre(other !== r.outputHash)
        expect(hashReceipt({ ...r, outputHash: other }, domain)).not.toBe(hashReceipt(r, domain))
        expect(hashReceipt({ ...r, deterministic: !r.deterministic }, domain)).not.toBe(hashReceipt(r, domain))
      }),
      { numRuns: 100 },
    )
  })
})
