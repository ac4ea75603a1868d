import fc from 'fast-check'
import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { signAnnouncement, type Announcement } from './announcement.ts'
import { MODEL_HASH, SIGNER_KEY, unsignedAnnouncement } from './announcement.arbitraries.ts'
import { DirectoryStore } from './directory-store.ts'
import {
  applyDelta,
  diffViews,
  idsOf,
  mergeViews,
  verifyDirectoryEntry,
  viewDigest,
  type DirectoryView,
} from './directory-view.ts'
import { InvalidAnnouncementError } from './errors/p2p.ts'
import { encodeJson } from './wire/check.ts'

const PEERS = Array.from({ length: 12 }, (_, i) => `12D3KooW${String.fromCharCode(65 + i).repeat(44)}`)
const NOW = 1_700_000_000_000

const entry = fc
  .record({
    peer: fc.integer({ min: 0, max: PEERS.length - 1 }),
    sequence: fc.nat({ max: 5 }),
    price: fc.nat({ max: 20 }),
    sig: fc.nat({ max: 3 }),
  })
  .map(({ peer, sequence, price, sig }): Announcement => ({
    ...unsignedAnnouncement({
      peerId: PEERS[peer] as string,
      sequence,
      pricePerMillionOutput: String(price),
      timestamp: NOW,
    }),
    signature: `0x${String(sig).repeat(130)}` as Hex,
  }))
const view = fc
  .array(entry, { maxLength: 10 })
  .map((entries): DirectoryView => new Map(entries.map((a) => [a.peerId, a])))

describe('directory views (properties)', () => {
  it('a delta applied to the old view equals the new view', () => {
    fc.assert(
      fc.property(view, view, (from, to) => {
        const { removed, changed } = diffViews(idsOf(from), idsOf(to))
        const delta = {
          digest: viewDigest(idsOf(to)),
          base: viewDigest(idsOf(from)),
          removed,
          upserts: changed.map((p) => to.get(p) as Announcement),
        }
        expect(idsOf(applyDelta(from, delta))).toEqual(idsOf(to))
      }),
    )
  })

  it('a delta relative to a view we do not hold, or leading elsewhere, is refused', () => {
    fc.assert(
      fc.property(view, view, view, (held, from, to) => {
        fc.pre(viewDigest(idsOf(held)) !== viewDigest(idsOf(from)))
        const { removed, changed } = diffViews(idsOf(from), idsOf(to))
        const delta = {
          digest: viewDigest(idsOf(to)),
          base: viewDigest(idsOf(from)),
          removed,
          upserts: changed.map((p) => to.get(p) as Announcement),
        }
        expect(() => applyDelta(held, delta)).toThrow(/wrong-base/)
      }),
    )
  })

  it('merge is order-independent and keeps the highest sequence of each node', () => {
    fc.assert(
      fc.property(fc.array(view, { maxLength: 5 }), fc.nat(), (views, seed) => {
        const shuffled = [...views].sort(() => 0).map((_, i, all) => all[(i + seed) % all.length] as DirectoryView)
        const merged = mergeViews(views)
        expect(mergeViews(shuffled)).toEqual(merged)
        expect(mergeViews([...views].reverse())).toEqual(merged)
        for (const v of views)
          for (const [peerId, a] of v)
            expect((merged.get(peerId) as Announcement).sequence).toBeGreaterThanOrEqual(a.sequence)
      }),
    )
  })

  it("a relay's delta applied to the view it served before equals the view it serves now", () => {
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 30 }),
        fc.array(entry, { maxLength: 30 }),
        fc.constantFrom('price', 'speed', 'free' as const),
        fc.integer({ min: 1, max: 6 }),
        (first, then, rank, limit) => {
          const store = new DirectoryStore()
          for (const a of first) store.record(a, encodeJson(a), NOW)
          const before = store.answer(MODEL_HASH, rank, limit, null, NOW)
          const held = new Map(before.upserts.map((e) => [e.announcement.peerId, e.announcement]))
          for (const a of then) store.record(a, encodeJson(a), NOW)
          const delta = store.answer(MODEL_HASH, rank, limit, before.digest, NOW)
          const after = applyDelta(held, { ...delta, upserts: delta.upserts.map((e) => e.announcement) })
          // Against a store that ranks from scratch, so a view cached past a change that alters it would show.
          const fresh = new DirectoryStore()
          for (const a of [...first, ...then]) fresh.record(a, encodeJson(a), NOW)
          expect(idsOf(after)).toEqual(fresh.view(MODEL_HASH, rank, limit, NOW).ids)
        },
      ),
    )
  })
})

describe('directory entries (properties)', () => {
  const alterations: fc.Arbitrary<(a: Announcement) => Announcement> = fc.oneof(
    fc
      .bigInt({ min: 0n, max: 10n ** 20n })
      .map((p) => (a: Announcement) => ({ ...a, pricePerMillionOutput: String(p) })),
    fc
      .bigInt({ min: 0n, max: 10n ** 20n })
      .map((p) => (a: Announcement) => ({ ...a, pricePerMillionInput: String(p) })),
    fc.nat({ max: 64 }).map((c) => (a: Announcement) => ({ ...a, capacity: c })),
    fc.nat({ max: 64 }).map((q) => (a: Announcement) => ({ ...a, queueDepth: q })),
    fc.nat({ max: 1000 }).map((s) => (a: Announcement) => ({ ...a, sequence: s })),
    fc.integer({ min: -60_000, max: 60_000 }).map((d) => (a: Announcement) => ({ ...a, timestamp: a.timestamp + d })),
    fc.constantFrom(...PEERS).map((p) => (a: Announcement) => ({ ...a, peerId: p })),
  )

  it('a forged or altered entry is rejected, the genuine one accepted', async () => {
    const genuine = await signAnnouncement(unsignedAnnouncement({ timestamp: NOW, sequence: 7 }), SIGNER_KEY)
    await expect(verifyDirectoryEntry(encodeJson(genuine), { model: MODEL_HASH, now: NOW })).resolves.toEqual(genuine)
    await fc.assert(
      fc.asyncProperty(alterations, async (alter) => {
        const altered = alter(genuine)
        fc.pre(JSON.stringify(altered) !== JSON.stringify(genuine))
        const outcome = await verifyDirectoryEntry(encodeJson(altered), { model: MODEL_HASH, now: NOW }).catch(
          (e: unknown) => e,
        )
        expect(outcome).toBeInstanceOf(InvalidAnnouncementError)
      }),
      { numRuns: 40 },
    )
  })
})
