import { describe, expect, test } from 'vitest'
import type { PaidRecord, ServedRecord } from '../core/history.ts'
import { createHistoryStore, type HistoryKeyValueStore } from './history.ts'

// Node has no IndexedDB; a map with the same methods (the browser tests read and write the real database).
const mapStore = (): HistoryKeyValueStore & { map: Map<string, unknown> } => {
  const map = new Map<string, unknown>()
  return {
    map,
    get: async (k) => structuredClone(map.get(k)),
    set: async (k, v) => void map.set(k, structuredClone(v)),
    delete: async (k) => void map.delete(k),
  }
}
const served = (at: number): ServedRecord => ({
  at,
  model: 'm',
  kind: 'chat',
  tokensIn: 1,
  tokensOut: 2,
  earnings: 10n ** 20n + BigInt(at),
  latencyMs: at % 2 ? null : 5,
})
const paid = (at: number, hash: string): PaidRecord => ({
  at,
  node: 'A',
  model: 'm',
  tokensIn: 1,
  tokensOut: 2,
  cost: 3n,
  receiptHash: `0x${hash.repeat(64)}` as `0x${string}`,
  verification: 'signed',
})

describe('history store', () => {
  test('appends in order and reads back after a restart, amounts exact', async () => {
    const kv = mapStore()
    const history = createHistoryStore(kv, { pageSize: 4 })
    await Promise.all(Array.from({ length: 10 }, (_, i) => history.served.append(served(i))))
    expect(await history.served.list()).toEqual(Array.from({ length: 10 }, (_, i) => served(i)))
    // Stored as decimal strings, in three pages.
    expect(kv.map.get('history:served:meta')).toEqual({ first: 0, last: 2 })
    expect((kv.map.get('history:served:page:0') as { earnings: unknown }[])[0]?.earnings).toBe('100000000000000000000')
    const again = createHistoryStore(kv, { pageSize: 4 })
    expect(await again.served.list()).toEqual(await history.served.list())
  })

  test("two writers on one database (two tabs) see and keep each other's records", async () => {
    const kv = mapStore()
    const first = createHistoryStore(kv, { pageSize: 2 })
    const second = createHistoryStore(kv, { pageSize: 2 })
    for (let i = 0; i < 5; i++) await (i % 2 ? second : first).served.append(served(i))
    expect((await first.served.list()).map((r) => r.at)).toEqual([0, 1, 2, 3, 4])
    expect(await second.served.list()).toEqual(await first.served.list())
  })

  test('is bounded: the oldest pages are dropped and deleted', async () => {
    const kv = mapStore()
    const history = createHistoryStore(kv, { pageSize: 3, maxPages: 2 })
    for (let i = 0; i < 20; i++) await history.uptime.append({ at: i, online: true })
    expect((await history.uptime.list()).map((s) => s.at)).toEqual([15, 16, 17, 18, 19])
    expect([...kv.map.keys()].filter((k) => k.startsWith('history:uptime:page:')).sort()).toEqual([
      'history:uptime:page:5',
      'history:uptime:page:6',
    ])
  })

  test('leaves out a damaged record and keeps the rest', async () => {
    const kv = mapStore()
    const history = createHistoryStore(kv)
    await history.paid.append(paid(1, 'a'))
    await history.paid.append(paid(2, 'b'))
    const page = kv.map.get('history:paid:page:0') as Record<string, unknown>[]
    kv.map.set('history:paid:page:0', [{ ...page[0], cost: 'lots' }, page[1]])
    expect((await createHistoryStore(kv).paid.list()).map((r) => r.at)).toEqual([2])
    kv.map.set('history:paid:meta', 'garbage')
    expect(await createHistoryStore(kv).paid.list()).toEqual([])
  })

  test('sets a receipt verification state, and says when there is no such receipt', async () => {
    const kv = mapStore()
    const history = createHistoryStore(kv)
    await history.paid.append(paid(1, 'a'))
    await history.paid.append(paid(2, 'b'))
    expect(await history.setVerification(`0x${'B'.repeat(64)}`, 'verified')).toBe(true)
    expect(await history.setVerification(`0x${'c'.repeat(64)}`, 'verified')).toBe(false)
    expect((await createHistoryStore(kv).paid.list()).map((r) => r.verification)).toEqual(['signed', 'verified'])
  })
})
