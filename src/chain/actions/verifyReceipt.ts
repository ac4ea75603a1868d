/** Asks ReceiptAnchor whether a receipt hash is in a tree the given node anchored. */
import type { Address, Client, Hex } from 'viem'
import { readContract } from 'viem/actions'
import { receiptAnchorAbi } from '../generated.ts'

/** `operator`: the operator address of the node that signed the receipt (false when it did not anchor `root`). */
export type VerifyReceiptParameters = {
  anchor: Address
  operator: Address
  root: Hex
  receiptHash: Hex
  proof: readonly Hex[]
}
export type VerifyReceiptReturnType = boolean

export function verifyReceipt(
  client: Client,
  { anchor, operator, root, receiptHash, proof }: VerifyReceiptParameters,
): Promise<VerifyReceiptReturnType> {
  return readContract(client, {
    address: anchor,
    abi: receiptAnchorAbi,
    functionName: 'verifyReceipt',
    args: [operator, root, receiptHash, proof],
  })
}
