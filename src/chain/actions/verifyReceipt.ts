/** Asks ReceiptAnchor whether a receipt hash is in an anchored tree. */
import type { Address, Client, Hex } from 'viem'
import { readContract } from 'viem/actions'
import { receiptAnchorAbi } from '../generated.ts'

export type VerifyReceiptParameters = { anchor: Address; root: Hex; receiptHash: Hex; proof: readonly Hex[] }
export type VerifyReceiptReturnType = boolean

export function verifyReceipt(client: Client, { anchor, root, receiptHash, proof }: VerifyReceiptParameters): Promise<VerifyReceiptReturnType> {
  return readContract(client, { address: anchor, abi: receiptAnchorAbi, functionName: 'verifyReceipt', args: [root, receiptHash, proof] })
}
