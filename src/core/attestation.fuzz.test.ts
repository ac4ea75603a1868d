/**
 * Random and mutated attestation messages through the decoder (where almost all garbage ends), and a sample of
 * mutated signed ones through the whole validator, signature included. Every outcome is a verified attestation or
 * an `InvalidAttestationError`; a mutation that survives is always re-encoded to the same meaning and, if verified,
 * still recovers to its declared signer.
 */
import fc from 'fast-check'
import { privateKeyToAccount } from 'viem/accounts'
import { expect, test } from 'vitest'
import {
  ATTESTATION_SUITES,
  createAttestationValidator,
  decodeAttestation,
  encodeAttestation,
  signAttestation,
  SUITE_UNITS,
  verifyAttestation,
  type Attestation,
} from './attestation.ts'
import { InvalidAttestationError } from './errors/p2p.ts'

const NOW_S = 1_700_000_000
const domain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const
const signer = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d')
const address = fc
  .uint8Array({ minLength: 20, maxLength: 20 })
  .map((b) => `0x${Buffer.from(b).toString('hex')}` as const)

const arbitraryAttestation: fc.Arbitrary<Attestation> = fc
  .record({
    evaluator: address,
    node: address,
    modelHash: fc
      .uint8Array({ minLength: 32, maxLength: 32 })
      .map((b) => `0x${Buffer.from(b).toString('hex')}` as const),
    suite: fc.constantFrom(...ATTESTATION_SUITES),
    fraction: fc.double({ min: 0, max: 1, noNaN: true }),
    sampleSize: fc.integer({ min: 1, max: 100_000 }),
    length: fc.integer({ min: 1, max: 86_400 }),
    age: fc.integer({ min: 0, max: 86_400 }),
    nonce: fc.nat(),
  })
  .map(({ fraction, suite, length, age, ...rest }) => ({
    ...rest,
    evaluator: signer.address,
    suite,
    score: Math.floor(fraction * SUITE_UNITS[suite].max),
    windowStart: NOW_S - age - length,
    windowEnd: NOW_S - age,
  }))

type Edit = [number, number, 'set' | 'insert' | 'delete']
const edits = fc.array(
  fc.tuple(
    fc.nat(),
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom('set' as const, 'insert' as const, 'delete' as const),
  ),
  { minLength: 1, maxLength: 3 },
)
function apply(bytes: Uint8Array, list: Edit[]): Uint8Array {
  const out = [...bytes]
  for (const [at, value, op] of list) {
    const i = out.length === 0 ? 0 : at % out.length
    if (op === 'set' && out.length) out[i] = value
    else if (op === 'insert') out.splice(i, 0, value)
    else out.splice(i, 1)
  }
  return Uint8Array.from(out)
}

function decodes(bytes: Uint8Array): boolean {
  try {
    decodeAttestation(bytes)
    return true
  } catch (error) {
    if (!(error instanceof InvalidAttestationError)) throw error
    return false
  }
}

test('10^5 random and mutated messages decode or are refused with InvalidAttestationError', async () => {
  const valid = await Promise.all(fc.sample(arbitraryAttestation, 50).map((a) => signAttestation(signer, a, domain)))
  const encoded = valid.map((s) => encodeAttestation(s, domain))
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 3_000 }),
        fc.tuple(fc.constantFrom(...encoded), edits).map(([b, e]) => apply(b, e)),
      ),
      (bytes) => {
        if (decodes(bytes)) {
          // What decodes re-encodes to a message that decodes to the same thing.
          const message = decodeAttestation(bytes)
          expect(decodeAttestation(encodeAttestation(message.signed, message.domain))).toEqual(message)
        }
      },
    ),
    { numRuns: 100_000 },
  )
}, 120_000)

test('mutated signed messages through the whole validator: verified ones recover to their signer', async () => {
  const valid = await Promise.all(fc.sample(arbitraryAttestation, 20).map((a) => signAttestation(signer, a, domain)))
  const encoded = valid.map((s) => encodeAttestation(s, domain))
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...encoded), edits, async (bytes, list) => {
      const validator = createAttestationValidator({ domain, now: () => NOW_S * 1000 })
      try {
        const verified = await validator.validate(apply(bytes, list))
        expect(await verifyAttestation(verified, domain)).toBe(true)
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidAttestationError)
      }
    }),
    { numRuns: 300 },
  )
}, 120_000)
