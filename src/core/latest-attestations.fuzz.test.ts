/**
 * The request decoders of the attestation protocols on hostile input: random bytes and random JSON either decode to
 * a request within the limits or are refused with `InvalidAttestationRequestError`, never another error.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeAttestationProofAnswer, decodeAttestationProofRequest } from './attestation-batch.ts'
import { InvalidAttestationRequestError } from './errors/p2p.ts'
import { decodeLatestAttestationsRequest, LATEST_ATTESTATIONS_DEFAULTS } from './latest-attestations.ts'

function refusedOr<T>(decode: () => T, check: (value: T) => void): void {
  let value: T
  try {
    value = decode()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidAttestationRequestError)
    return
  }
  check(value)
}

const requestLike = fc.record(
  {
    type: fc.oneof(fc.constant('latest-attestations'), fc.string()),
    v: fc.oneof(fc.constant(1), fc.integer()),
    limit: fc.oneof(fc.integer({ min: -5, max: LATEST_ATTESTATIONS_DEFAULTS.maxAnswer + 5 }), fc.double(), fc.string()),
    node: fc.oneof(fc.constant('0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'), fc.string({ maxLength: 50 })),
    modelHash: fc.oneof(fc.constant(`0x${'11'.repeat(32)}`), fc.string({ maxLength: 70 })),
    extra: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: [] },
)

describe('attestation protocol decoders', () => {
  it('decode the latest-attestations request within its limits or refuse it with the typed error', () => {
    const within = (r: ReturnType<typeof decodeLatestAttestationsRequest>) => {
      expect(Number.isInteger(r.limit) && r.limit >= 1 && r.limit <= LATEST_ATTESTATIONS_DEFAULTS.maxAnswer).toBe(true)
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) =>
        refusedOr(() => decodeLatestAttestationsRequest(bytes), within),
      ),
      { numRuns: 5_000 },
    )
    fc.assert(
      fc.property(requestLike, (value) =>
        refusedOr(() => decodeLatestAttestationsRequest(new TextEncoder().encode(JSON.stringify(value))), within),
      ),
      { numRuns: 5_000 },
    )
  })

  it('decode proof requests and answers or refuse them with the typed error', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (value) => {
        refusedOr(
          () => decodeAttestationProofRequest(value),
          (r) => expect(r.attestationHash).toMatch(/^0x[0-9a-f]{64}$/),
        )
        refusedOr(
          () => decodeAttestationProofAnswer(value),
          (a) => expect(['anchored', 'pending', 'unknown']).toContain(a.status),
        )
      }),
      { numRuns: 5_000 },
    )
  })
})
