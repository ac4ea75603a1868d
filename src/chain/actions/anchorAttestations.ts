/**
 * Anchors the root of a batch of the caller's attestation digests through ReceiptAnchor (the caller is the evaluator
 * node's operator or current signer; the anchor is kept under its operator). Attestation digests are leaves like
 * receipt hashes: the contract needs no change, and the distinct EIP-712 type keeps the two kinds from colliding.
 */
import { parseEventLogs, type Address, type Hash, type Hex } from 'viem'
import { buildAttestationTree } from '../../core/attestation.ts'
import type { MerkleTree } from '../../core/merkle.ts'
import { receiptAnchorAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type AnchorAttestationsParameters = { anchor: Address; attestationHashes: readonly Hex[] }
/** `operator`: the evaluator the root is anchored for (what `verifyAttestationAnchor` is asked with). */
export type AnchorAttestationsReturnType = {
  root: Hex
  tree: MerkleTree
  count: number
  operator: Address
  transactionHash: Hash
  gasUsed: bigint
}

export async function anchorAttestations(
  client: WalletClient,
  { anchor, attestationHashes }: AnchorAttestationsParameters,
): Promise<AnchorAttestationsReturnType> {
  const tree = buildAttestationTree(attestationHashes)
  const count = (tree.nodes.length + 1) / 2
  const { transactionHash, receipt } = await execute(client, 'ReceiptAnchor', {
    address: anchor,
    abi: receiptAnchorAbi,
    functionName: 'anchor',
    args: [tree.root, BigInt(count)],
  })
  const [event] = parseEventLogs({ abi: receiptAnchorAbi, eventName: 'RootAnchored', logs: receipt.logs })
  if (!event) throw new Error(`No RootAnchored event in ${transactionHash}`)
  return { root: tree.root, tree, count, operator: event.args.operator, transactionHash, gasUsed: receipt.gasUsed }
}
