import { keccak256, toHex, type Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { buildAttestationTree, verifyAttestationProof } from './attestation.ts'
import {
  attestationBatchDue,
  attestationBatchProof,
  cutAttestationBatch,
  decodeAttestationProofAnswer,
  decodeAttestationProofRequest,
  type AttestationBatchPolicy,
  type PendingAttestation,
} from './attestation-batch.ts'
import { InvalidAttestationRequestError } from './errors/p2p.ts'

const hash = (i: number): Hex => keccak256(toHex(`attestation ${i}`))
const pending = (n: number, at = (i: number) => 1_000 + i): PendingAttestation[] =>
  Array.from({ length: n }, (_, i) => ({ hash: hash(i), at: at(i) }))
const policy: AttestationBatchPolicy = { maxAttestations: 3, maxAgeMs: 10_000 }

describe('attestationBatchDue', () => {
  it('is due by count or by the age of the oldest, never when nothing waits', () => {
    expect(attestationBatchDue([], policy, 1e12)).toBe(false)
    expect(attestationBatchDue(pending(2), policy, 1_000 + 9_999)).toBe(false)
    expect(attestationBatchDue(pending(2), policy, 1_000 + 10_000)).toBe(true)
    expect(attestationBatchDue(pending(3), policy, 1_002)).toBe(true)
  })
})

describe('cutAttestationBatch', () => {
  it('takes the oldest up to the policy size and leaves the rest pending', () => {
    const waiting = pending(5, (i) => 5_000 - i)
    const { batch, rest } = cutAttestationBatch(waiting, policy)
    expect(batch.status).toBe('cut')
    expect(batch.attestationHashes).toEqual([hash(4), hash(3), hash(2)])
    expect(batch.root).toBe(buildAttestationTree(batch.attestationHashes).root)
    expect(rest.map((p) => p.hash)).toEqual([hash(1), hash(0)])
  })

  it('makes one leaf of a digest queued twice (in either case)', () => {
    const waiting = [
      { hash: hash(1), at: 1 },
      { hash: hash(1).toUpperCase().replace('0X', '0x') as Hex, at: 2 },
      { hash: hash(2), at: 3 },
    ]
    const { batch, rest } = cutAttestationBatch(waiting, { maxAttestations: 10, maxAgeMs: 0 })
    expect(batch.attestationHashes).toEqual([hash(1), hash(2)])
    expect(rest).toEqual([])
  })

  it('gives every digest of the batch a proof against its root', () => {
    const { batch } = cutAttestationBatch(pending(7), { maxAttestations: 7, maxAgeMs: 0 })
    for (const h of batch.attestationHashes)
      expect(verifyAttestationProof(batch.root, h, attestationBatchProof(batch, h))).toBe(true)
    expect(() => attestationBatchProof(batch, hash(99))).toThrow()
  })
})

describe('attestation-proof wire', () => {
  const root = hash(100)
  it('decodes requests and answers, lower-casing hashes', () => {
    expect(decodeAttestationProofRequest({ attestationHash: hash(1).toUpperCase().replace('0X', '0x') })).toEqual({
      attestationHash: hash(1),
    })
    expect(decodeAttestationProofAnswer({ status: 'pending' })).toEqual({ status: 'pending' })
    expect(decodeAttestationProofAnswer({ status: 'unknown' })).toEqual({ status: 'unknown' })
    expect(
      decodeAttestationProofAnswer({ status: 'anchored', root, proof: [hash(2)], transactionHash: hash(3) }),
    ).toEqual({ status: 'anchored', root, proof: [hash(2)], transactionHash: hash(3) })
    expect(decodeAttestationProofAnswer({ status: 'anchored', root, proof: [] })).toEqual({
      status: 'anchored',
      root,
      proof: [],
    })
  })

  it.each([
    ['a request without a hash', () => decodeAttestationProofRequest({})],
    ['a request with a short hash', () => decodeAttestationProofRequest({ attestationHash: '0x1234' })],
    ['a request with more fields', () => decodeAttestationProofRequest({ attestationHash: hash(1), evaluator: '0x' })],
    ['a request that is not an object', () => decodeAttestationProofRequest('0x')],
    ['an answer with an unknown status', () => decodeAttestationProofAnswer({ status: 'maybe' })],
    ['an anchored answer without a root', () => decodeAttestationProofAnswer({ status: 'anchored', proof: [] })],
    [
      'an anchored answer with a bad proof element',
      () => decodeAttestationProofAnswer({ status: 'anchored', root, proof: ['0x00'] }),
    ],
    [
      'an anchored answer with a proof deeper than any tree',
      () => decodeAttestationProofAnswer({ status: 'anchored', root, proof: Array.from({ length: 49 }, () => root) }),
    ],
    ['a pending answer with extra fields', () => decodeAttestationProofAnswer({ status: 'pending', root })],
  ])('refuse %s with InvalidAttestationRequestError', (_name, decode) => {
    expect(decode).toThrow(InvalidAttestationRequestError)
  })
})
