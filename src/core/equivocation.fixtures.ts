/** Signed receipts for the equivocation tests: a node's receipt and the ways a second receipt can differ from it. */
import type { Hex, LocalAccount } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { SignedReceipt } from './payment.ts'
import { hashReceipt, receiptTypedData, type Receipt } from './receipt.ts'

export const RECEIPT_DOMAIN = {
  chainId: 31337,
  verifyingContract: '0x0000000000000000000000000000000000000a11',
} as const
export const NODE = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d')
export const OTHER_NODE = privateKeyToAccount('0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a')

export const bytes32 = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`

/** A deterministic receipt of `NODE` for request 1 on model 1 with output `output`. */
export function receiptOf(output: number, overrides: Partial<Receipt> = {}): Receipt {
  return {
    requestHash: bytes32(1),
    outputHash: bytes32(1000 + output),
    modelHash: bytes32(2),
    nodeSigner: NODE.address,
    consumer: OTHER_NODE.address,
    promptTokens: 5n,
    completionTokens: 8n,
    cost: 100n,
    channelId: 1n,
    cumulativePaid: 100n,
    timestamp: 1_700_000_000n,
    deterministic: true,
    ...overrides,
  }
}

export async function sign(receipt: Receipt, by: LocalAccount = NODE): Promise<SignedReceipt> {
  const signature = await by.signTypedData(receiptTypedData(receipt, RECEIPT_DOMAIN))
  return { receipt, receiptHash: hashReceipt(receipt, RECEIPT_DOMAIN), signature }
}
