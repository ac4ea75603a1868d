/**
 * Batching as properties: however publications and cuts interleave, every queued digest ends in exactly one batch
 * (none lost, none in two), each batch is within the policy size, and each digest's proof verifies against its
 * batch's root.
 */
import fc from 'fast-check'
import { keccak256, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import { verifyAttestationProof } from './attestation.ts'
import {
  attestationBatchDue,
  attestationBatchProof,
  cutAttestationBatch,
  type AttestationBatch,
  type PendingAttestation,
} from './attestation-batch.ts'

describe('attestation batches', () => {
  it('place every queued digest in exactly one batch, within the size, with a verifying proof', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ publish: fc.integer({ min: 0, max: 40 }) }),
            fc.record({ tick: fc.integer({ min: 0, max: 5_000 }) }),
          ),
          { maxLength: 60 },
        ),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4_000 }),
        (steps, maxAttestations, maxAgeMs) => {
          const policy = { maxAttestations, maxAgeMs }
          let now = 0
          let pending: PendingAttestation[] = []
          const queued = new Set<string>()
          const batches: AttestationBatch[] = []
          const cutWhileDue = () => {
            for (let guard = 0; guard < 100 && attestationBatchDue(pending, policy, now); guard++) {
              const { batch, rest } = cutAttestationBatch(pending, policy)
              batches.push(batch)
              pending = rest
            }
          }
          for (const step of steps) {
            if ('publish' in step) {
              const hash = keccak256(toHex(`a${step.publish}`))
              // A digest is queued once (the book checks pending and batches before queuing).
              if (!queued.has(hash)) {
                queued.add(hash)
                pending.push({ hash, at: now })
              }
            } else now += step.tick
            cutWhileDue()
          }
          now += maxAgeMs
          cutWhileDue()
          expect(pending).toEqual([])
          const all = batches.flatMap((b) => b.attestationHashes)
          expect(new Set(all).size).toBe(all.length)
          expect(new Set(all)).toEqual(queued)
          for (const batch of batches) {
            expect(batch.attestationHashes.length).toBeLessThanOrEqual(maxAttestations)
            for (const h of batch.attestationHashes)
              expect(verifyAttestationProof(batch.root, h, attestationBatchProof(batch, h))).toBe(true)
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})
