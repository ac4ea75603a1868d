/** Signs a receipt with the node's signer account (EIP-712 in the ReceiptAnchor domain). */
import type { Address, Hex } from 'viem'
import { signTypedData } from 'viem/actions'
import { hashReceipt, receiptTypedData, type Receipt } from '../../core/receipt.ts'
import type { WalletClient } from './internal.ts'

export type SignReceiptParameters = { anchor: Address; chainId: number; receipt: Receipt }
export type SignReceiptReturnType = { receipt: Receipt; receiptHash: Hex; signature: Hex }

export async function signReceipt(
  client: WalletClient,
  { anchor, chainId, receipt }: SignReceiptParameters,
): Promise<SignReceiptReturnType> {
  const domain = { chainId, verifyingContract: anchor }
  const signature = await signTypedData(client, { account: client.account, ...receiptTypedData(receipt, domain) })
  return { receipt, receiptHash: hashReceipt(receipt, domain), signature }
}
