/**
 * `/modelex/receipt-proof/1.0.0`: a consumer sends one frame `{ receiptHash }`, the node answers one frame with the
 * anchored root and the inclusion proof (`{ status: 'anchored', root, proof }`), or `{ status: 'pending' }` while the
 * receipt waits for its batch, or `{ status: 'unknown' }`. The consumer then checks the proof on-chain itself.
 */
import type { Hex } from 'viem'
import { array, object, oneOf } from '../core/wire/check.ts'
import { hex } from '../core/quote.ts'
import { MAX_PROOF_FRAME_BYTES, PROOF_PROTOCOL } from './constants.ts'
import type { ModelexNode } from './node.ts'
import { askOneFrame, serveOneFrame } from './one-frame.ts'

export type ProofAnswer =
  { status: 'anchored'; root: Hex; proof: Hex[] } | { status: 'pending' } | { status: 'unknown' }

export function serveProofs(
  node: ModelexNode,
  lookup: (receiptHash: Hex) => Promise<ProofAnswer>,
): Promise<() => Promise<void>> {
  return serveOneFrame(node, PROOF_PROTOCOL, MAX_PROOF_FRAME_BYTES, async (request) =>
    lookup(hex(object(request, 'proof request')['receiptHash'], 'receiptHash', 64)),
  )
}

export async function fetchProof(
  node: ModelexNode,
  peer: string,
  receiptHash: Hex,
  timeoutMs = 10_000,
): Promise<ProofAnswer> {
  const fields = object(
    await askOneFrame(node, peer, PROOF_PROTOCOL, MAX_PROOF_FRAME_BYTES, { receiptHash }, timeoutMs),
    'proof answer',
  )
  const status = oneOf(fields['status'], 'status', ['anchored', 'pending', 'unknown'] as const)
  if (status !== 'anchored') return { status }
  return {
    status,
    root: hex(fields['root'], 'root', 64),
    proof: array(fields['proof'], 'proof', 64).map((p, i) => hex(p, `proof[${i}]`, 64)),
  }
}
