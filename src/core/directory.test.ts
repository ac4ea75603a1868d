import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import type { Announcement } from './announcement.ts'
import { OTHER_PEER_ID, PEER_ID, unsignedAnnouncement } from './announcement.arbitraries.ts'
import { DirectoryTable } from './directory.ts'

const sig = `0x${'ab'.repeat(65)}` as const
const announce = (fields: Partial<Announcement> = {}): Announcement => ({
  ...unsignedAnnouncement(fields),
  signature: sig,
  ...fields,
})

describe('directory table', () => {
  test('adds, updates, and expires a node after three missed announcements', () => {
    const table = new DirectoryTable({ announceIntervalMs: 1000, missedAnnouncements: 3 })
    expect(table.upsert(announce({ sequence: 1 }), 0)).toBe('added')
    expect(table.upsert(announce({ sequence: 2 }), 1000)).toBe('updated')
    expect(table.get(PEER_ID)?.firstSeen).toBe(0)
    expect(table.get(PEER_ID)?.lastSeen).toBe(1000)
    expect(table.expire(4000)).toEqual([])
    expect(table.expire(4001)).toEqual([PEER_ID])
    expect(table.size).toBe(0)
  })

  test('an entry from the query protocol lives from when it was signed; the same one again changes nothing', () => {
    const table = new DirectoryTable({ announceIntervalMs: 1000, missedAnnouncements: 1 })
    expect(table.upsert(announce({ sequence: 1 }), 5000, 4500)).toBe('added')
    expect(table.get(PEER_ID)?.lastSeen).toBe(4500)
    expect(table.upsert(announce({ sequence: 1 }), 5200, 4500)).toBe('ignored')
    expect(table.expire(5501)).toEqual([PEER_ID])
  })

  test('an older sequence (the same node heard on another topic) does not roll back', () => {
    const table = new DirectoryTable()
    table.upsert(announce({ sequence: 5, capacity: 4 }), 0)
    expect(table.upsert(announce({ sequence: 4, capacity: 1 }), 10)).toBe('ignored')
    expect(table.get(PEER_ID)?.announcement.capacity).toBe(4)
  })

  test('keeps RTT, and forgets the registered mark when signer or operator change', () => {
    const table = new DirectoryTable()
    table.upsert(announce({ sequence: 1 }), 0)
    table.setRtt(PEER_ID, 12)
    table.setRegistered(PEER_ID, true)
    table.upsert(announce({ sequence: 2 }), 1)
    expect(table.get(PEER_ID)).toMatchObject({ rttMs: 12, registered: true })
    table.upsert(announce({ sequence: 3, operator: '0x0000000000000000000000000000000000000001' }), 2)
    expect(table.get(PEER_ID)?.registered).toBeNull()
    expect(table.setRtt(OTHER_PEER_ID, 1)).toBe(false)
  })

  test('lists by model, cheapest output then fastest round trip', () => {
    const table = new DirectoryTable()
    table.upsert(announce({ peerId: PEER_ID, pricePerMillionOutput: '20' }), 0)
    table.upsert(announce({ peerId: OTHER_PEER_ID, pricePerMillionOutput: '10' }), 0)
    expect(table.list().map((e) => e.peerId)).toEqual([OTHER_PEER_ID, PEER_ID])
    expect(table.list({ contentHash: `0x${'99'.repeat(32)}` })).toEqual([])
  })

  test('property: an entry is present exactly while its last announcement is within the expiry window', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.nat({ max: 5000 })), { maxLength: 40 }),
        fc.integer({ min: 1, max: 2000 }),
        (steps, interval) => {
          const table = new DirectoryTable({ announceIntervalMs: interval, missedAnnouncements: 3 })
          let now = 0
          let last: number | null = null
          let sequence = 0
          for (const [announces, advance] of steps) {
            now += advance
            if (announces) {
              table.upsert(announce({ sequence: ++sequence }), now)
              last = now
            }
            table.expire(now)
            const alive = last !== null && now - last <= 3 * interval
            expect(table.get(PEER_ID) !== undefined).toBe(alive)
            if (!alive) last = null
          }
        },
      ),
      { numRuns: 500 },
    )
  })

  test('bounded: beyond maxEntries new nodes are ignored', () => {
    const table = new DirectoryTable({ maxEntries: 1 })
    table.upsert(announce({ peerId: PEER_ID }), 0)
    expect(table.upsert(announce({ peerId: OTHER_PEER_ID }), 0)).toBe('ignored')
  })
})
