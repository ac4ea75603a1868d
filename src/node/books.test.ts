import { describe, expect, it } from 'vitest'
import type { Hex } from 'viem'
import type { KeyValueStore } from '../store/kv.ts'
import { memoryStore, toStored } from '../store/payments.ts'
import { createBooks, newChannelBook } from './books.ts'

const consumer = `0x${'c0'.repeat(20)}` as const
const hash = (i: number) => `0x${i.toString(16).padStart(64, '0')}` as Hex

/** A store that remembers the keys and sizes of its writes. */
function recordingStore(): KeyValueStore & { writes: { key: string; bytes: number }[] } {
  const inner = memoryStore()
  const writes: { key: string; bytes: number }[] = []
  return {
    writes,
    get: (key) => inner.get(key),
    set: async (key, value) => {
      writes.push({ key, bytes: JSON.stringify(value).length })
      await inner.set(key, value)
    },
  }
}

describe('provider books', () => {
  it('a paid request writes its receipt, its channel and the work record, whatever the history', async () => {
    const store = recordingStore()
    const books = createBooks(store)
    await books.load()
    let book = newChannelBook({ channelId: 1n, consumer, deposit: 10n ** 18n, redeemed: 0n, status: 1, checkedAt: 0 })
    const settleOne = async (i: number) => {
      store.writes.length = 0
      book = { ...book, settled: book.settled + 1n, lastReceipt: hash(i) }
      books.work.pending = [{ receiptHash: hash(i), signedAt: i }] // anchored in batches: bounded by the batch size
      await books.putReceipt(hash(i), { receipt: { n: i, text: 'x'.repeat(200) } })
      await books.putChannel(book)
      await books.saveWork()
      return store.writes.map((w) => w.key.split(':').slice(1, 2).join()).sort()
    }
    expect(await settleOne(1)).toEqual(['channel', 'index', 'receipt', 'work'])
    for (let i = 2; i < 200; i++) await settleOne(i)
    const last = await settleOne(200)
    expect(last).toEqual(['channel', 'receipt', 'work'])
    expect(Math.max(...store.writes.map((w) => w.bytes))).toBeLessThan(1_000)
    // And everything comes back.
    const again = createBooks(store)
    await again.load()
    expect(again.channel('1')?.settled).toBe(200n)
    expect(await again.receipt(hash(7))).toEqual({ receipt: { n: 7, text: 'x'.repeat(200) } })
  })

  it('reads the single document of earlier versions once, as records, with each channel latest receipt', async () => {
    const store = memoryStore()
    const receipt = (channelId: string, cumulativePaid: string) => ({
      receipt: { channelId, cumulativePaid },
      receiptHash: '0x',
      signature: '0x',
    })
    await store.set(
      'provider-payments-v1',
      toStored({
        ledgers: {
          '3': {
            channelId: 3n,
            consumer,
            deposit: 100n,
            voucher: { cumulativeAmount: 50n, signature: '0xab' },
            settled: 40n,
          },
        },
        redeemed: { '3': 20n },
        receipts: { [hash(1)]: receipt('3', '10'), [hash(2)]: receipt('3', '40'), [hash(3)]: receipt('3', '25') },
        pending: [{ receiptHash: hash(2), signedAt: 5 }],
        batches: [{ root: hash(9), receiptHashes: [hash(1)], status: 'anchored' }],
        earningsRedeemed: 20n,
        jobsServed: 3,
        tokensGenerated: 30,
      }),
    )
    const books = createBooks(store)
    await books.load()
    expect(books.channel('3')).toMatchObject({
      settled: 40n,
      redeemed: 20n,
      lastReceipt: hash(2),
      voucher: { cumulativeAmount: 50n },
    })
    expect(books.work).toMatchObject({ jobsServed: 3, earningsRedeemed: 20n, pending: [{ receiptHash: hash(2) }] })
    expect(books.batchOf(hash(1))?.root).toBe(hash(9))
    expect(await books.receipt(hash(3))).toEqual(receipt('3', '25'))
  })
})
