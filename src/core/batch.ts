/**
 * When a node anchors, and what. Receipts wait in a pending list; a batch is cut when N receipts wait or the oldest
 * has waited T; a cut batch is fixed (its root is computed once and stored before any transaction), so a retry
 * after an RPC failure resends the same root and no receipt ever lands in two anchored batches.
 */
import type { Hex } from 'viem'
import { buildReceiptTree, getReceiptProof } from './merkle.ts'

export type BatchPolicy = {
  /** Anchor as soon as this many receipts wait. */
  maxReceipts: number
  /** Anchor when the oldest pending receipt has waited this long (ms), however few wait. */
  maxAgeMs: number
}

export type PendingReceipt = { receiptHash: Hex; /** ms since the epoch */ signedAt: number }

export type Batch = {
  root: Hex
  receiptHashes: Hex[]
  /** `cut`: stored, not known on-chain yet; `anchored`: the root is on-chain. */
  status: 'cut' | 'anchored'
  transactionHash?: Hex
  anchoredAt?: number
}

/** Whether the pending receipts are due for anchoring now. */
export function batchDue(pending: readonly PendingReceipt[], policy: BatchPolicy, now: number): boolean {
  if (pending.length === 0) return false
  if (pending.length >= policy.maxReceipts) return true
  const oldest = pending.reduce((min, r) => (r.signedAt < min ? r.signedAt : min), Number.POSITIVE_INFINITY)
  return now - oldest >= policy.maxAgeMs
}

/** Cuts the next batch (the oldest receipts, at most `maxReceipts`) and returns it with what stays pending. */
export function cutBatch(
  pending: readonly PendingReceipt[],
  policy: BatchPolicy,
): { batch: Batch; rest: PendingReceipt[] } {
  const ordered = [...pending].sort((a, b) => a.signedAt - b.signedAt)
  const taken = ordered.slice(0, Math.max(1, policy.maxReceipts))
  // A receipt hash is unique per receipt; duplicates (a store written twice) must not make a leaf twice.
  const receiptHashes = [...new Set(taken.map((r) => r.receiptHash.toLowerCase() as Hex))]
  const tree = buildReceiptTree(receiptHashes)
  const takenSet = new Set(receiptHashes)
  return {
    batch: { root: tree.root, receiptHashes, status: 'cut' },
    rest: ordered.filter((r) => !takenSet.has(r.receiptHash.toLowerCase() as Hex)),
  }
}

/** The inclusion proof of a receipt in a batch. */
export function batchProof(batch: Batch, receiptHash: Hex): Hex[] {
  return getReceiptProof(buildReceiptTree(batch.receiptHashes), receiptHash)
}
