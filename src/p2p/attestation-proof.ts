/**
 * `/modelex/attestation-proof/1.0.0`: anyone holding one of an evaluator's attestations asks the evaluator's node for
 * its inclusion proof (one frame `{ attestationHash }`); the node answers `{ status: 'anchored', root, proof }`, or
 * `{ status: 'pending' }` while it waits for its batch, or `{ status: 'unknown' }`. The asker checks the proof
 * on-chain itself with `verifyAttestationAnchor` (under the attestation's evaluator): the node's word is not needed.
 *
 * @example
 * const stop = await serveAttestationProofs(node, book)
 * const answer = await fetchAttestationProof(other, evaluatorPeerId, hash)
 * if (answer.status === 'anchored') await verifyAttestationAnchor(client, { anchor, evaluator, root: answer.root, attestationHash: hash, proof: answer.proof })
 */
import type { PeerId } from '@libp2p/interface'
import type { Hex } from 'viem'
import {
  ATTESTATION_PROOF_PROTOCOL,
  decodeAttestationProofAnswer,
  decodeAttestationProofRequest,
  MAX_ATTESTATION_PROOF_FRAME_BYTES,
  type AttestationProofAnswer,
} from '../core/attestation-batch.ts'
import type { ModelexNode } from './node.ts'
import { askOneFrame, serveOneFrame } from './one-frame.ts'

/** What answers: an attestation book (`AttestationBook.proofAnswer`). */
export type AttestationProofSource = { proofAnswer(attestationHash: Hex): Promise<AttestationProofAnswer> }

/** Serves proofs until the returned function is called. A malformed request closes its stream, unanswered. */
export function serveAttestationProofs(
  node: ModelexNode,
  source: AttestationProofSource,
): Promise<() => Promise<void>> {
  return serveOneFrame(
    node,
    ATTESTATION_PROOF_PROTOCOL,
    MAX_ATTESTATION_PROOF_FRAME_BYTES,
    async (request) => source.proofAnswer(decodeAttestationProofRequest(request).attestationHash),
    { maxInboundStreams: 32 },
  )
}

/** Asks `peer` (the evaluator's node) for the proof of `attestationHash`; throws `InvalidAttestationRequestError` on an answer outside the protocol. */
export async function fetchAttestationProof(
  node: ModelexNode,
  peer: PeerId | string,
  attestationHash: Hex,
  timeoutMs = 10_000,
): Promise<AttestationProofAnswer> {
  return decodeAttestationProofAnswer(
    await askOneFrame(
      node,
      peer.toString(),
      ATTESTATION_PROOF_PROTOCOL,
      MAX_ATTESTATION_PROOF_FRAME_BYTES,
      { attestationHash },
      timeoutMs,
    ),
  )
}
