import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { signAnnouncement, type Announcement } from './announcement.ts'
import {
  MODEL_HASH,
  OTHER_KEY,
  OTHER_PEER_ID,
  PEER_ID,
  SIGNER_KEY,
  unsignedAnnouncement,
} from './announcement.arbitraries.ts'
import { DirectoryStore } from './directory-store.ts'
import {
  ANNOUNCEMENT_TTL_MS,
  applyDelta,
  decodeDirectoryRequest,
  decodeViewHeader,
  encodeDirectoryRequest,
  encodeViewHeader,
  MAX_DIRECTORY_LIMIT,
  queueDepthBucket,
  rankEntries,
  verifyDirectoryEntry,
  viewDigest,
} from './directory-view.ts'
import { DirectoryViewError, InvalidAnnouncementError, MalformedMessageError } from './errors/p2p.ts'
import { encodeJson } from './wire/check.ts'
import { FrameDecoder } from './wire/frame.ts'

const NOW = 1_700_000_000_000
const fake = (overrides: Parameters<typeof unsignedAnnouncement>[0]): Announcement => ({
  ...unsignedAnnouncement({ timestamp: NOW, ...overrides }),
  signature: `0x${'1'.repeat(130)}` as Hex,
})
const frame = (bytes: Uint8Array) => new FrameDecoder(1 << 20).push(bytes)[0] as Uint8Array

describe('ranking', () => {
  it('orders by output price as numbers (not text), then input price, then peer id; by speed; by free slots', () => {
    const a = fake({ peerId: PEER_ID, pricePerMillionOutput: '9', queueDepth: 2, capacity: 2 })
    const b = fake({ peerId: OTHER_PEER_ID, pricePerMillionOutput: '10', capacity: 4 })
    const entries = [b, a].map((announcement) => ({ announcement }))
    expect(rankEntries(entries, MODEL_HASH, 'price', 2).map((e) => e.announcement)).toEqual([a, b])
    expect(rankEntries(entries, MODEL_HASH, 'free', 2).map((e) => e.announcement)).toEqual([b, a])
    expect(rankEntries(entries, MODEL_HASH, 'price', 1)).toHaveLength(1)
  })

  it('buckets queue depth by powers of two', () => {
    expect([0, 1, 2, 3, 4, 7, 8, 100].map(queueDepthBucket)).toEqual([0, 1, 2, 2, 4, 4, 8, 64])
  })
})

describe('digests and deltas', () => {
  it('a view digest depends on the set only', () => {
    expect(
      viewDigest(
        new Map([
          ['a', 1],
          ['b', 2],
        ]),
      ),
    ).toBe(
      viewDigest(
        new Map([
          ['b', 2],
          ['a', 1],
        ]),
      ),
    )
    expect(viewDigest(new Map([['a', 1]]))).not.toBe(viewDigest(new Map([['a', 2]])))
  })

  it('refuses a delta that does not lead to the declared digest', () => {
    const a = fake({ peerId: PEER_ID })
    const wrong = { digest: viewDigest(new Map([[OTHER_PEER_ID, 1]])), base: null, removed: [], upserts: [a] }
    expect(() => applyDelta(new Map(), wrong)).toThrow(DirectoryViewError)
  })
})

describe('DirectoryStore', () => {
  it('answers unchanged, a delta after a price change, and everything for an unknown digest', () => {
    const store = new DirectoryStore()
    const a = fake({ peerId: PEER_ID, pricePerMillionOutput: '5' })
    const b = fake({ peerId: OTHER_PEER_ID, pricePerMillionOutput: '6' })
    store.record(a, encodeJson(a), NOW)
    store.record(b, encodeJson(b), NOW)
    const first = store.answer(MODEL_HASH, 'price', 1, null, NOW)
    expect(first.upserts.map((e) => e.announcement)).toEqual([a])
    expect(store.answer(MODEL_HASH, 'price', 1, first.digest, NOW)).toEqual({
      digest: first.digest,
      base: first.digest,
      removed: [],
      upserts: [],
    })
    const cheaper = fake({ peerId: OTHER_PEER_ID, pricePerMillionOutput: '4', sequence: 2 })
    store.record(cheaper, encodeJson(cheaper), NOW)
    const delta = store.answer(MODEL_HASH, 'price', 1, first.digest, NOW)
    expect(delta).toMatchObject({ base: first.digest, removed: [PEER_ID] })
    expect(delta.upserts.map((e) => e.announcement)).toEqual([cheaper])
    expect(store.answer(MODEL_HASH, 'price', 1, 'f'.repeat(32), NOW).base).toBeNull()
  })

  it('keeps the newest sequence, drops what is past the TTL, and bounds nodes per model', () => {
    const store = new DirectoryStore({ maxPerModel: 1 })
    const a2 = fake({ peerId: PEER_ID, sequence: 2 })
    expect(store.record(a2, encodeJson(a2), NOW)).toBe(true)
    expect(store.record(fake({ peerId: PEER_ID, sequence: 1 }), new Uint8Array(), NOW)).toBe(false)
    expect(store.record(fake({ peerId: OTHER_PEER_ID }), new Uint8Array(), NOW)).toBe(false)
    expect(store.view(MODEL_HASH, 'price', 5, NOW + ANNOUNCEMENT_TTL_MS + 1).entries).toEqual([])
    expect(store.expire(NOW + ANNOUNCEMENT_TTL_MS + 1)).toBe(1)
    expect(store.size).toBe(0)
  })
})

describe('verifyDirectoryEntry', () => {
  it('accepts a signed entry and refuses one signed by another key, about another model, or expired', async () => {
    const genuine = await signAnnouncement(unsignedAnnouncement({ timestamp: NOW }), SIGNER_KEY)
    await expect(
      verifyDirectoryEntry(encodeJson(genuine), { model: MODEL_HASH, now: NOW + ANNOUNCEMENT_TTL_MS - 1 }),
    ).resolves.toEqual(genuine)
    const impostor = await signAnnouncement(unsignedAnnouncement({ timestamp: NOW }), OTHER_KEY)
    const reason = (p: Promise<unknown>) =>
      p.then(
        () => 'accepted',
        (e: unknown) => (e instanceof InvalidAnnouncementError ? e.reason : 'other'),
      )
    expect(await reason(verifyDirectoryEntry(encodeJson(impostor), { model: MODEL_HASH, now: NOW }))).toBe(
      'signer-mismatch',
    )
    expect(await reason(verifyDirectoryEntry(encodeJson(genuine), { model: `0x${'22'.repeat(32)}`, now: NOW }))).toBe(
      'wrong-topic',
    )
    expect(
      await reason(
        verifyDirectoryEntry(encodeJson(genuine), { model: MODEL_HASH, now: NOW + ANNOUNCEMENT_TTL_MS + 1 }),
      ),
    ).toBe('stale')
    expect(await reason(verifyDirectoryEntry(new TextEncoder().encode('{'), { model: MODEL_HASH, now: NOW }))).toBe(
      'schema',
    )
  })
})

describe('wire', () => {
  it('round-trips requests and view headers', () => {
    const query = {
      type: 'query',
      v: 1,
      model: MODEL_HASH,
      rank: 'speed',
      limit: 10,
      since: null,
      watch: true,
    } as const
    expect(decodeDirectoryRequest(frame(encodeDirectoryRequest(query)))).toEqual(query)
    expect(decodeDirectoryRequest(frame(encodeDirectoryRequest({ type: 'publish', v: 1 })))).toEqual({
      type: 'publish',
      v: 1,
    })
    const header = { digest: 'a'.repeat(32), base: null, removed: [PEER_ID], count: 3 }
    expect(decodeViewHeader(frame(encodeViewHeader(header)))).toEqual({ type: 'view', v: 1, ...header })
  })

  it('refuses requests out of bounds or with extra fields, with a typed error', () => {
    const base = { type: 'query', v: 1, model: MODEL_HASH, rank: 'price', limit: 10, since: null, watch: false }
    for (const bad of [
      { ...base, limit: MAX_DIRECTORY_LIMIT + 1 },
      { ...base, limit: 0 },
      { ...base, rank: 'cheap' },
      { ...base, model: MODEL_HASH.toUpperCase() },
      { ...base, since: 'zz' },
      { ...base, extra: 1 },
      { ...base, watch: 'yes' },
      { type: 'publish', v: 2 },
      [1],
      'x',
    ]) {
      expect(() => decodeDirectoryRequest(encodeJson(bad))).toThrow(MalformedMessageError)
    }
    expect(() => decodeDirectoryRequest(new Uint8Array(10_000))).toThrow(MalformedMessageError)
    expect(() =>
      decodeViewHeader(
        encodeJson({ type: 'view', v: 1, digest: 'a'.repeat(32), base: null, removed: ['x'], count: 1 }),
      ),
    ).toThrow(MalformedMessageError)
    expect(() =>
      decodeViewHeader(
        encodeJson({
          type: 'view',
          v: 1,
          digest: 'a'.repeat(32),
          base: null,
          removed: [],
          count: MAX_DIRECTORY_LIMIT + 1,
        }),
      ),
    ).toThrow(MalformedMessageError)
  })
})
