/**
 * Proves that a node signed two receipts with different outputs for the same deterministic request and model; the
 * node's stake (and unbonding stake) is slashed and the registry's prover share of it goes to the caller. Also reads
 * back a proof already made (`getEquivocationProof`), for a prover that was beaten to it or lost its answer.
 */
import { parseEventLogs, type Address, type Client, type Hash, type Hex } from 'viem'
import { getContractEvents, getTransactionReceipt } from 'viem/actions'
import { canonicalSignature } from '../../core/signature.ts'
import type { Receipt } from '../../core/receipt.ts'
import { nodeRegistryAbi, receiptAnchorAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type SignedReceipt = { receipt: Receipt; signature: Hex }
export type ProveEquivocationParameters = { anchor: Address; a: SignedReceipt; b: SignedReceipt }
/** `slashed`: AI wei taken from the node; `reward`: the caller's share of it. */
export type ProveEquivocationReturnType = { transactionHash: Hash; operator: Address; slashed: bigint; reward: bigint }

export async function proveEquivocation(
  client: WalletClient,
  { anchor, a, b }: ProveEquivocationParameters,
): Promise<ProveEquivocationReturnType> {
  const { transactionHash, receipt } = await execute(client, 'ReceiptAnchor', {
    address: anchor,
    abi: receiptAnchorAbi,
    functionName: 'proveEquivocation',
    // The contract's ECDSA refuses high-s signatures, which viem accepts: send the canonical form of each.
    args: [a.receipt, canonicalSignature(a.signature), b.receipt, canonicalSignature(b.signature)],
  })
  const [event] = parseEventLogs({ abi: receiptAnchorAbi, eventName: 'EquivocationProven', logs: receipt.logs })
  if (!event) throw new Error(`No EquivocationProven event in ${transactionHash}`)
  // The registry's event says what the caller got (the registry's `proverRewardBps` of it, at most 10%, rounded down).
  const [slash] = parseEventLogs({ abi: nodeRegistryAbi, eventName: 'NodeSlashed', logs: receipt.logs })
  return {
    transactionHash,
    operator: event.args.operator,
    slashed: event.args.slashed,
    reward: slash?.args.reward ?? 0n,
  }
}

export type GetEquivocationProofParameters = { anchor: Address; signer: Address; requestHash: Hex; fromBlock?: bigint }
/** The proof on-chain of `signer` equivocating on `requestHash` (the first one; any model), or null when none. */
export type GetEquivocationProofReturnType =
  (ProveEquivocationReturnType & { prover: Address; blockNumber: bigint }) | null

export async function getEquivocationProof(
  client: Client,
  { anchor, signer, requestHash, fromBlock = 0n }: GetEquivocationProofParameters,
): Promise<GetEquivocationProofReturnType> {
  const [log] = await getContractEvents(client, {
    address: anchor,
    abi: receiptAnchorAbi,
    eventName: 'EquivocationProven',
    args: { signer, requestHash },
    fromBlock,
    strict: true,
  })
  if (!log) return null
  const receipt = await getTransactionReceipt(client, { hash: log.transactionHash })
  const [slash] = parseEventLogs({ abi: nodeRegistryAbi, eventName: 'NodeSlashed', logs: receipt.logs })
  return {
    transactionHash: log.transactionHash,
    operator: log.args.operator,
    prover: log.args.prover,
    slashed: log.args.slashed,
    reward: slash?.args.reward ?? 0n,
    blockNumber: log.blockNumber,
  }
}
