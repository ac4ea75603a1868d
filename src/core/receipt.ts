/**
 * The receipt a node signs for every request it serves, as EIP-712 typed data in ReceiptAnchor's domain
 * ("Modelex", "1", chain id, ReceiptAnchor). Its digest is the receipt hash that Merkle trees commit to and that
 * `ReceiptAnchor.hashReceipt` computes on-chain; `contracts/src/types/Receipt.sol` is the other half.
 */
import { hashTypedData, type Address, type Hex } from 'viem'
import { InvalidChainValueError } from './errors/chain.ts'

export type Receipt = {
  requestHash: Hex
  outputHash: Hex
  modelHash: Hex
  nodeSigner: Address
  consumer: Address
  promptTokens: bigint
  completionTokens: bigint
  /** What this request cost, in AI wei. */
  cost: bigint
  channelId: bigint
  /** The channel's cumulative voucher amount after this request. */
  cumulativePaid: bigint
  /** Unix seconds. */
  timestamp: bigint
  /** Whether the output is a pure function of the request (greedy decoding, fixed seed): equivocation is slashable. */
  deterministic: boolean
}

export type TypedDataDomainParameters = { chainId: number; verifyingContract: Address }

export const MODELEX_DOMAIN_NAME = 'Modelex'
export const MODELEX_DOMAIN_VERSION = '1'

export const RECEIPT_TYPES = {
  Receipt: [
    { name: 'requestHash', type: 'bytes32' },
    { name: 'outputHash', type: 'bytes32' },
    { name: 'modelHash', type: 'bytes32' },
    { name: 'nodeSigner', type: 'address' },
    { name: 'consumer', type: 'address' },
    { name: 'promptTokens', type: 'uint64' },
    { name: 'completionTokens', type: 'uint64' },
    { name: 'cost', type: 'uint256' },
    { name: 'channelId', type: 'uint256' },
    { name: 'cumulativePaid', type: 'uint256' },
    { name: 'timestamp', type: 'uint64' },
    { name: 'deterministic', type: 'bool' },
  ],
} as const

export type ModelexDomain = { name: string; version: string; chainId: number; verifyingContract: Address }

/** The EIP-712 domain of receipts: `verifyingContract` is the ReceiptAnchor. */
export function receiptDomain({ chainId, verifyingContract }: TypedDataDomainParameters): ModelexDomain {
  return { name: MODELEX_DOMAIN_NAME, version: MODELEX_DOMAIN_VERSION, chainId, verifyingContract }
}

/** Everything `signTypedData` needs to sign `receipt`. */
export function receiptTypedData(receipt: Receipt, domain: TypedDataDomainParameters) {
  assertReceipt(receipt)
  return { domain: receiptDomain(domain), types: RECEIPT_TYPES, primaryType: 'Receipt', message: receipt } as const
}

/** The receipt hash: the EIP-712 digest a node signs, equal to `ReceiptAnchor.hashReceipt(receipt)`. */
export function hashReceipt(receipt: Receipt, domain: TypedDataDomainParameters): Hex {
  return hashTypedData(receiptTypedData(receipt, domain))
}

const UINT64_MAX = 2n ** 64n - 1n
const UINT256_MAX = 2n ** 256n - 1n
const BYTES32 = /^0x[0-9a-fA-F]{64}$/
const ADDRESS = /^0x[0-9a-fA-F]{40}$/

/** Throws `InvalidChainValueError` for a receipt the contract's types cannot hold (viem would throw less clearly). */
export function assertReceipt(receipt: Receipt): void {
  for (const field of ['requestHash', 'outputHash', 'modelHash'] as const) {
    if (!BYTES32.test(receipt[field]))
      throw new InvalidChainValueError({ field: `receipt.${field}`, reason: 'not 32 bytes of hex' })
  }
  for (const field of ['nodeSigner', 'consumer'] as const) {
    if (!ADDRESS.test(receipt[field]))
      throw new InvalidChainValueError({ field: `receipt.${field}`, reason: 'not an address' })
  }
  for (const field of ['promptTokens', 'completionTokens', 'timestamp'] as const) {
    checkRange(`receipt.${field}`, receipt[field], UINT64_MAX)
  }
  for (const field of ['cost', 'channelId', 'cumulativePaid'] as const) {
    checkRange(`receipt.${field}`, receipt[field], UINT256_MAX)
  }
}

export function checkRange(field: string, value: bigint, max: bigint): void {
  if (typeof value !== 'bigint') throw new InvalidChainValueError({ field, reason: 'not a bigint' })
  if (value < 0n || value > max) throw new InvalidChainValueError({ field, reason: `outside 0..${max}` })
}
