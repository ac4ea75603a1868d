import fc from 'fast-check'
import { privateKeyToAddress } from 'viem/accounts'
import { describe, expect, test } from 'vitest'
import {
  announcementTopic,
  createAnnouncementValidator,
  decodeAnnouncement,
  encodeAnnouncement,
  MAX_ANNOUNCEMENT_BYTES,
  recoverAnnouncementSigner,
  signAnnouncement,
  topicContentHash,
  type Announcement,
} from './announcement.ts'
import {
  arbitraryUnsignedAnnouncement,
  MODEL_HASH,
  OTHER_KEY,
  OTHER_PEER_ID,
  PEER_ID,
  SIGNER_KEY,
  unsignedAnnouncement,
} from './announcement.arbitraries.ts'
import { InvalidAnnouncementError, type AnnouncementRejection } from './errors/p2p.ts'

const NOW = 1_700_000_000_000
const topic = announcementTopic(MODEL_HASH)
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

async function reason(promise: Promise<unknown>): Promise<AnnouncementRejection | 'accepted'> {
  try {
    await promise
    return 'accepted'
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidAnnouncementError)
    return (error as InvalidAnnouncementError).reason
  }
}

describe('announcements', () => {
  test('encode/decode round-trips and the signature recovers the signer', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryUnsignedAnnouncement, async (unsigned) => {
        const signed = await signAnnouncement(unsigned, SIGNER_KEY)
        const decoded = decodeAnnouncement(encodeAnnouncement(signed))
        expect(decoded).toEqual(signed)
        expect(await recoverAnnouncementSigner(decoded)).toBe(privateKeyToAddress(SIGNER_KEY))
      }),
      { numRuns: 60 },
    )
  })

  test('hex case carries no meaning: a signature or address in other case decodes to the same announcement', async () => {
    const signed = await signAnnouncement(unsignedAnnouncement({ timestamp: NOW, sequence: 1 }), SIGNER_KEY)
    const shouted = {
      ...signed,
      signature: `0x${signed.signature.slice(2).toUpperCase()}`,
      signer: signed.signer.toLowerCase(),
    }
    const decoded = decodeAnnouncement(bytes(shouted))
    expect(decoded).toEqual(signed)
    await expect(createAnnouncementValidator({ now: () => NOW }).validate(bytes(shouted), { topic })).resolves.toEqual(
      signed,
    )
  })

  test('topics are per model content hash', () => {
    expect(topic).toBe(`modelex/1/nodes/${MODEL_HASH}`)
    expect(topicContentHash(topic)).toBe(MODEL_HASH)
    expect(topicContentHash('modelex/1/jobs')).toBeNull()
    expect(topicContentHash('modelex/1/nodes/0x12')).toBeNull()
  })

  test('the validator accepts a good announcement and refuses each kind of bad one with its reason', async () => {
    const validator = createAnnouncementValidator({ now: () => NOW })
    const good = await signAnnouncement(unsignedAnnouncement({ timestamp: NOW, sequence: 10 }), SIGNER_KEY)
    expect(await validator.validate(encodeAnnouncement(good), { topic, from: PEER_ID })).toEqual(good)

    const next = (fields: Partial<Announcement>) =>
      signAnnouncement(unsignedAnnouncement({ timestamp: NOW, sequence: 11, ...fields }), SIGNER_KEY)
    expect(await reason(validator.validate(bytes({ ...good, capacity: -1 }), { topic }))).toBe('schema')
    expect(await reason(validator.validate(new Uint8Array(MAX_ANNOUNCEMENT_BYTES + 1), { topic }))).toBe('too-large')
    expect(
      await reason(
        validator.validate(bytes({ ...good, models: [{ ...good.models[0], id: 'x'.repeat(300) }] }), { topic }),
      ),
    ).toBe('schema')
    expect(
      await reason(
        validator.validate(encodeAnnouncement(await next({})), { topic: announcementTopic(`0x${'22'.repeat(32)}`) }),
      ),
    ).toBe('wrong-topic')
    expect(await reason(validator.validate(encodeAnnouncement(await next({})), { topic, from: OTHER_PEER_ID }))).toBe(
      'peer-mismatch',
    )
    expect(
      await reason(validator.validate(encodeAnnouncement(await next({ timestamp: NOW - 121_000 })), { topic })),
    ).toBe('stale')
    expect(
      await reason(validator.validate(encodeAnnouncement(await next({ timestamp: NOW + 121_000 })), { topic })),
    ).toBe('stale')
    expect(await reason(validator.validate(encodeAnnouncement(await next({ sequence: 10 })), { topic }))).toBe(
      'sequence',
    )
    expect(await reason(validator.validate(encodeAnnouncement(await next({ sequence: 9 })), { topic }))).toBe(
      'sequence',
    )
    // Signed by another key than the one declared.
    const forged = await signAnnouncement(unsignedAnnouncement({ timestamp: NOW, sequence: 12 }), OTHER_KEY)
    expect(await reason(validator.validate(encodeAnnouncement(forged), { topic }))).toBe('signer-mismatch')
    // A field changed after signing.
    const tampered = { ...(await next({ sequence: 13 })), pricePerMillionOutput: '1' }
    expect(await reason(validator.validate(encodeAnnouncement(tampered), { topic }))).toBe('signer-mismatch')
    // A signature that recovers to nothing.
    const broken = { ...(await next({ sequence: 14 })), signature: `0x${'00'.repeat(65)}` as const }
    expect(await reason(validator.validate(encodeAnnouncement(broken), { topic }))).toBe('bad-signature')
    // Refused ones did not move the counter: the real next one is accepted.
    expect(
      await reason(validator.validate(encodeAnnouncement(await next({ sequence: 11 })), { topic, from: PEER_ID })),
    ).toBe('accepted')
  })

  test('sequences are tracked per topic, so one announcement can go to every model topic', async () => {
    const other = `0x${'22'.repeat(32)}` as const
    const validator = createAnnouncementValidator({ now: () => NOW })
    const a = await signAnnouncement(
      unsignedAnnouncement({
        timestamp: NOW,
        models: [
          unsignedAnnouncement().models[0]!,
          { id: 'b', contentHash: other, engine: 'wasm', contextLength: 2048, tokensPerSecond: 1 },
        ],
      }),
      SIGNER_KEY,
    )
    expect(await reason(validator.validate(encodeAnnouncement(a), { topic }))).toBe('accepted')
    expect(await reason(validator.validate(encodeAnnouncement(a), { topic: announcementTopic(other) }))).toBe(
      'accepted',
    )
  })

  test('the decoder refuses prices outside uint256, unknown fields and imprecise speeds', async () => {
    const good = await signAnnouncement(unsignedAnnouncement(), SIGNER_KEY)
    expect(() => decodeAnnouncement(bytes({ ...good, pricePerMillionInput: (2n ** 256n).toString() }))).toThrow(
      InvalidAnnouncementError,
    )
    expect(() => decodeAnnouncement(bytes({ ...good, pricePerMillionInput: '01' }))).toThrow(InvalidAnnouncementError)
    expect(() => decodeAnnouncement(bytes({ ...good, extra: true }))).toThrow(/no such field/)
    expect(() =>
      decodeAnnouncement(bytes({ ...good, models: [{ ...good.models[0], tokensPerSecond: 1.0001 }] })),
    ).toThrow(/3 decimals/)
    expect(() => decodeAnnouncement(bytes({ ...good, models: [good.models[0], good.models[0]] }))).toThrow(/distinct/)
    expect(() =>
      encodeAnnouncement({
        ...good,
        models: Array.from({ length: 16 }, (_, i) => ({ ...good.models[0]!, id: '€'.repeat(250) + i })),
      }),
    ).toThrow(InvalidAnnouncementError)
  })

  test('the validator forgets the oldest counters beyond its bound', async () => {
    const validator = createAnnouncementValidator({ now: () => NOW, maxTracked: 1 })
    const hashB = `0x${'33'.repeat(32)}` as const
    const first = await signAnnouncement(unsignedAnnouncement({ timestamp: NOW, sequence: 5 }), SIGNER_KEY)
    const onB = await signAnnouncement(
      unsignedAnnouncement({ timestamp: NOW, sequence: 5, models: [{ ...first.models[0]!, contentHash: hashB }] }),
      SIGNER_KEY,
    )
    await validator.validate(encodeAnnouncement(first), { topic })
    await validator.validate(encodeAnnouncement(onB), { topic: announcementTopic(hashB) })
    // The first counter was dropped, so a replay of the first is no longer caught by sequence (the clock check still bounds replays).
    expect(await reason(validator.validate(encodeAnnouncement(first), { topic }))).toBe('accepted')
  })
})
