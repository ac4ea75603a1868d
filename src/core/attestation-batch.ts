/**
 * When an evaluator anchors its attestations, and what others can ask it about them. Like receipts
 * (`batch.ts`): published attestations wait in a pending list; a batch is cut when N wait or the oldest has waited T;
 * a cut batch is fixed (its root computed once and stored before any transaction), so a retry after a failure resends
 * the same root and no attestation lands in two anchored batches. Then the wire of
 * `/modelex/attestation-proof/1.0.0`, through which anyone asks the evaluator for an attestation's inclusion proof
 * and checks it on-chain itself (`verifyAttestationAnchor`). Pure.
 */
import type { Hex } from 'viem'
import { attestationProof, buildAttestationTree } from './attestation.ts'
import type { Address } from './deployment.ts'
import { InvalidAttestationRequestError, MalformedMessageError } from './errors/p2p.ts'
import { array, fail, object, oneOf, only, string } from './wire/check.ts'

export type AttestationBatchPolicy = {
  /** Anchor as soon as this many attestations wait (and at most this many per batch). */
  maxAttestations: number
  /** Anchor when the oldest pending attestation has waited this long (ms), however few wait. */
  maxAgeMs: number
}

export const ATTESTATION_BATCH_DEFAULTS: AttestationBatchPolicy = { maxAttestations: 256, maxAgeMs: 60 * 60 * 1000 }

/** An attestation digest waiting for its batch, and when it was queued (ms since the epoch). */
export type PendingAttestation = { hash: Hex; at: number }

export type AttestationBatch = {
  root: Hex
  attestationHashes: Hex[]
  /** `cut`: stored, not known on-chain yet; `anchored`: the root is on-chain under the evaluator. */
  status: 'cut' | 'anchored'
  /** The anchoring transaction, when this book sent it (absent when it found the root anchored already). */
  transactionHash?: Hex
  /** The operator the root is anchored under, when the transaction's event said. */
  operator?: Address
  anchoredAt?: number
}

export function attestationBatchDue(
  pending: readonly PendingAttestation[],
  policy: AttestationBatchPolicy,
  now: number,
): boolean {
  if (pending.length === 0) return false
  if (pending.length >= policy.maxAttestations) return true
  const oldest = pending.reduce((min, p) => (p.at < min ? p.at : min), Number.POSITIVE_INFINITY)
  return now - oldest >= policy.maxAgeMs
}

/** Cuts the next batch (the oldest pending, at most `maxAttestations`) and returns it with what stays pending. */
export function cutAttestationBatch(
  pending: readonly PendingAttestation[],
  policy: AttestationBatchPolicy,
): { batch: AttestationBatch; rest: PendingAttestation[] } {
  const ordered = [...pending].sort((a, b) => a.at - b.at)
  const taken = ordered.slice(0, Math.max(1, policy.maxAttestations))
  const attestationHashes = [...new Set(taken.map((p) => p.hash.toLowerCase() as Hex))]
  const takenSet = new Set<string>(attestationHashes)
  return {
    batch: { root: buildAttestationTree(attestationHashes).root, attestationHashes, status: 'cut' },
    rest: ordered.filter((p) => !takenSet.has(p.hash.toLowerCase())),
  }
}

/** The inclusion proof of one attestation digest in a batch. */
export function attestationBatchProof(batch: AttestationBatch, attestationHash: Hex): Hex[] {
  return attestationProof(buildAttestationTree(batch.attestationHashes), attestationHash)
}

export const ATTESTATION_PROOF_PROTOCOL = '/modelex/attestation-proof/1.0.0'
/** A proof of a batch of 2^20 attestations is 20 hashes; a frame of 4 KiB holds 50 with room to spare. */
export const MAX_ATTESTATION_PROOF_FRAME_BYTES = 4 * 1024
const MAX_PROOF_DEPTH = 48

export type AttestationProofRequest = { attestationHash: Hex }
export type AttestationProofAnswer =
  { status: 'anchored'; root: Hex; proof: Hex[]; transactionHash?: Hex } | { status: 'pending' } | { status: 'unknown' }

const BYTES32 = /^0x[0-9a-fA-F]{64}$/

function bytes32(value: unknown, path: string): Hex {
  const text = string(value, path, 66)
  if (!BYTES32.test(text)) fail(path, 'a bytes32 hex string')
  return text.toLowerCase() as Hex
}

function strict<T>(decode: () => T): T {
  try {
    return decode()
  } catch (error) {
    if (error instanceof MalformedMessageError)
      throw new InvalidAttestationRequestError({
        protocol: ATTESTATION_PROOF_PROTOCOL,
        details: error.details ?? error.message,
        cause: error,
      })
    throw error
  }
}

/** Throws `InvalidAttestationRequestError` for anything but `{ attestationHash }`. */
export function decodeAttestationProofRequest(value: unknown): AttestationProofRequest {
  return strict(() => {
    const fields = object(value, 'request')
    only(fields, 'request', ['attestationHash'])
    return { attestationHash: bytes32(fields['attestationHash'], 'request.attestationHash') }
  })
}

/** Throws `InvalidAttestationRequestError` for an answer outside the protocol. */
export function decodeAttestationProofAnswer(value: unknown): AttestationProofAnswer {
  return strict(() => {
    const fields = object(value, 'answer')
    const status = oneOf(fields['status'], 'answer.status', ['anchored', 'pending', 'unknown'] as const)
    if (status !== 'anchored') {
      only(fields, 'answer', ['status'])
      return { status }
    }
    only(fields, 'answer', ['status', 'root', 'proof', 'transactionHash'])
    const answer: AttestationProofAnswer = {
      status,
      root: bytes32(fields['root'], 'answer.root'),
      proof: array(fields['proof'], 'answer.proof', MAX_PROOF_DEPTH).map((p, i) => bytes32(p, `answer.proof[${i}]`)),
    }
    if (fields['transactionHash'] !== undefined)
      answer.transactionHash = bytes32(fields['transactionHash'], 'answer.transactionHash')
    return answer
  })
}
