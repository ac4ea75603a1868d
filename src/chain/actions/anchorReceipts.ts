/** Builds the Merkle tree of a batch of receipt hashes and anchors its root on-chain. */
import type { Address, Hash, Hex } from 'viem'
import { buildReceiptTree, type MerkleTree } from '../../core/merkle.ts'
import { receiptAnchorAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type AnchorReceiptsParameters = { anchor: Address; receiptHashes: readonly Hex[] }
export type AnchorReceiptsReturnType = { root: Hex; tree: MerkleTree; transactionHash: Hash; gasUsed: bigint }

export async function anchorReceipts(client: WalletClient, { anchor, receiptHashes }: AnchorReceiptsParameters): Promise<AnchorReceiptsReturnType> {
  const tree = buildReceiptTree(receiptHashes)
  const { transactionHash, receipt } = await execute(client, 'ReceiptAnchor', {
    address: anchor,
    abi: receiptAnchorAbi,
    functionName: 'anchor',
    args: [tree.root, BigInt(receiptHashes.length)],
  })
  return { root: tree.root, tree, transactionHash, gasUsed: receipt.gasUsed }
}
