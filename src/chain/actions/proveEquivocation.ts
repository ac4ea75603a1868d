/**
 * Proves that a node signed two receipts with different outputs for the same deterministic request and model; the
 * node's stake (and unbonding stake) is slashed and half of it goes to the caller.
 */
import { parseEventLogs, type Address, type Hash, type Hex } from 'viem'
import type { Receipt } from '../../core/receipt.ts'
import { nodeRegistryAbi, receiptAnchorAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type SignedReceipt = { receipt: Receipt; signature: Hex }
export type ProveEquivocationParameters = { anchor: Address; a: SignedReceipt; b: SignedReceipt }
/** `slashed`: AI wei taken from the node; `reward`: the caller's share of it. */
export type ProveEquivocationReturnType = { transactionHash: Hash; operator: Address; slashed: bigint; reward: bigint }

export async function proveEquivocation(client: WalletClient, { anchor, a, b }: ProveEquivocationParameters): Promise<ProveEquivocationReturnType> {
  const { transactionHash, receipt } = await execute(client, 'ReceiptAnchor', {
    address: anchor,
    abi: receiptAnchorAbi,
    functionName: 'proveEquivocation',
    args: [a.receipt, a.signature, b.receipt, b.signature],
  })
  const [event] = parseEventLogs({ abi: receiptAnchorAbi, eventName: 'EquivocationProven', logs: receipt.logs })
  if (!event) throw new Error(`No EquivocationProven event in ${transactionHash}`)
  // The registry's event says what the caller got (the registry's `proverRewardBps` of it, at most 10%, rounded down).
  const [slash] = parseEventLogs({ abi: nodeRegistryAbi, eventName: 'NodeSlashed', logs: receipt.logs })
  return { transactionHash, operator: event.args.operator, slashed: event.args.slashed, reward: slash?.args.reward ?? 0n }
}
