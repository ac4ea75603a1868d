/**
 * Random and mutated announcements: 10^5 through the decoder (size and schema, where almost all garbage ends),
 * and a sample of mutated signed ones through the whole validator, signature check included (a signature
 * recovery costs milliseconds, so 10^5 of them would not fit a CI run on 2 cores). Every outcome is an
 * announcement or an `InvalidAnnouncementError`.
 */
import fc from 'fast-check'
import { expect, test } from 'vitest'
import {
  announcementTopic,
  createAnnouncementValidator,
  decodeAnnouncement,
  encodeAnnouncement,
  signAnnouncement,
} from './announcement.ts'
import {
  arbitraryUnsignedAnnouncement,
  MODEL_HASH,
  SIGNER_KEY,
  unsignedAnnouncement,
} from './announcement.arbitraries.ts'
import { InvalidAnnouncementError } from './errors/p2p.ts'

const NOW = 1_700_000_000_000

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

const outcome = (run: () => unknown): 'ok' | 'refused' => {
  try {
    run()
    return 'ok'
  } catch (error) {
    if (!(error instanceof InvalidAnnouncementError)) throw error
    return 'refused'
  }
}

test('10^5 random and mutated announcements decode or are refused with InvalidAnnouncementError', async () => {
  const valid = await Promise.all(
    fc.sample(arbitraryUnsignedAnnouncement, 50).map((a) => signAnnouncement(a, SIGNER_KEY)),
  )
  const encoded = valid.map(encodeAnnouncement)
  const counts = { ok: 0, refused: 0 }
  const count = (o: 'ok' | 'refused'): void => {
    counts[o]++
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (b) => count(outcome(() => decodeAnnouncement(b)))),
    { numRuns: 20_000 },
  )
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 3 }), (v) =>
      count(outcome(() => decodeAnnouncement(new TextEncoder().encode(JSON.stringify(v) ?? 'null')))),
    ),
    { numRuns: 20_000 },
  )
  fc.assert(
    fc.property(fc.nat({ max: encoded.length - 1 }), edits, (i, list) =>
      count(outcome(() => decodeAnnouncement(apply(encoded[i] as Uint8Array, list)))),
    ),
    { numRuns: 40_000 },
  )
  // Structural mutations: one field replaced by any JSON value.
  const keys = Object.keys(valid[0] as object)
  fc.assert(
    fc.property(
      fc.nat({ max: valid.length - 1 }),
      fc.constantFrom(...keys),
      fc.jsonValue({ maxDepth: 2 }),
      (i, key, value) =>
        count(
          outcome(() => decodeAnnouncement(new TextEncoder().encode(JSON.stringify({ ...valid[i], [key]: value })))),
        ),
    ),
    { numRuns: 20_000 },
  )
  expect(counts.ok + counts.refused).toBe(100_000)
  expect(counts.ok).toBeGreaterThan(1000)
  expect(counts.refused).toBeGreaterThan(50_000)
}, 120_000)

test('mutated signed announcements through the full validator: accepted only when intact, never another error', async () => {
  const signed = await signAnnouncement(unsignedAnnouncement({ timestamp: NOW, sequence: 1 }), SIGNER_KEY)
  const original = encodeAnnouncement(signed)
  const topic = announcementTopic(MODEL_HASH)
  let accepted = 0
  await fc.assert(
    fc.asyncProperty(edits, async (list) => {
      // A fresh validator each time, so the sequence check does not hide the signature check.
      const validator = createAnnouncementValidator({ now: () => NOW })
      const mutated = apply(original, list)
      try {
        const result = await validator.validate(mutated, { topic })
        accepted++
        // Only byte changes that do not change the meaning (for example in insignificant JSON) pass.
        expect(result).toEqual(signed)
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidAnnouncementError)
      }
    }),
    { numRuns: 3000 },
  )
  expect(accepted).toBeLessThan(3000)
}, 120_000)
