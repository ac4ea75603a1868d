/**
 * Builds the Merkle tree of a batch of receipt hashes and anchors its root on-chain for the caller's node (the
 * caller is its operator or current signer). Anchors are per operator: another node anchoring the same root
 * neither blocks nor counts for this one, so `RootAlreadyAnchored` means this node anchored it already.
 */
import { parseEventLogs, type Address, type Hash, type Hex } from 'viem'
import { buildReceiptTree, type MerkleTree } from '../../core/merkle.ts'
import { receiptAnchorAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type AnchorReceiptsParameters = { anchor: Address; receiptHashes: readonly Hex[] }
/** `operator`: the node the root is anchored for (what `getAnchor` and `verifyReceipt` are asked with). */
export type AnchorReceiptsReturnType = {
  root: Hex
  tree: MerkleTree
  operator: Address
  transactionHash: Hash
  gasUsed: bigint
}

export async function anchorReceipts(
  client: WalletClient,
  { anchor, receiptHashes }: AnchorReceiptsParameters,
): Promise<AnchorReceiptsReturnType> {
  const tree = buildReceiptTree(receiptHashes)
  const { transactionHash, receipt } = await execute(client, 'ReceiptAnchor', {
    address: anchor,
    abi: receiptAnchorAbi,
    functionName: 'anchor',
    args: [tree.root, BigInt(receiptHashes.length)],
  })
  const [event] = parseEventLogs({ abi: receiptAnchorAbi, eventName: 'RootAnchored', logs: receipt.logs })
  if (!event) throw new Error(`No RootAnchored event in ${transactionHash}`)
  return { root: tree.root, tree, operator: event.args.operator, transactionHash, gasUsed: receipt.gasUsed }
}
