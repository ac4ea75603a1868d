/**
 * The provider's books: one record per channel, one per signed receipt, one per batch, and a small work record
 * (receipts waiting for a batch, counters), each under its own key of a `KeyValueStore`. A paid request writes its
 * channel, its receipt and the work record, so a save does not grow with the history of the node. Everything is
 * loaded into memory at start (receipts only by hash); the cashier and the settlement loop share one `Books`.
 */
import type { Address, Hex } from 'viem'
import type { Batch, PendingReceipt } from '../core/batch.ts'
import type { ChannelLedger } from '../core/credit.ts'
import type { JsonValue } from '../core/errors/base.ts'
import type { KeyValueStore } from '../store/kv.ts'
import { fromStored, storedRecords } from '../store/payments.ts'

/** A channel as the node keeps it: the ledger (without in-flight reservations, which live in memory) and more. */
export type ChannelBook = Omit<ChannelLedger, 'reserved'> & {
  /** Redeemed on-chain, as last seen. */
  redeemed: bigint
  /** 1 open, 2 closing, 3 closed, as last seen, and when (ms). */
  status: number
  checkedAt: number
  /** The channel's latest receipt (highest cumulativePaid): what a consumer that missed one catches up with. */
  lastReceipt: Hex | null
  /** The consumer's final voucher for exactly the settled total, redeemed instead of the highest one when it still covers everything. */
  final: { cumulativeAmount: bigint; signature: Hex } | null
}

type Index = { channels: string[]; batches: Hex[] }
/** `closeWatchFrom`: the next block to look at for channel closes (null: the deployment's start block). */
type Work = {
  pending: PendingReceipt[]
  earningsRedeemed: bigint
  jobsServed: number
  tokensGenerated: number
  closeWatchFrom: bigint | null
}

export type Books = {
  readonly channels: ReadonlyMap<string, ChannelBook>
  readonly batches: readonly Batch[]
  readonly work: Work
  load(): Promise<void>
  channel(id: string): ChannelBook | undefined
  putChannel(book: ChannelBook): Promise<void>
  receipt(hash: Hex): Promise<JsonValue | undefined>
  putReceipt(hash: Hex, encoded: JsonValue): Promise<void>
  putBatch(batch: Batch): Promise<void>
  saveWork(): Promise<void>
  /** The batch holding a receipt, if it was cut. */
  batchOf(hash: Hex): Batch | undefined
}

export const PROVIDER_BOOKS_PREFIX = 'provider-books-v2'

export function createBooks(store: KeyValueStore, prefix = PROVIDER_BOOKS_PREFIX): Books {
  const records = storedRecords(store, prefix)
  const channels = new Map<string, ChannelBook>()
  const batches: Batch[] = []
  const batchByReceipt = new Map<string, Batch>()
  let index: Index = { channels: [], batches: [] }
  const work: Work = { pending: [], earningsRedeemed: 0n, jobsServed: 0, tokensGenerated: 0, closeWatchFrom: null }

  const indexBatch = (batch: Batch) => {
    for (const hash of batch.receiptHashes) batchByReceipt.set(hash.toLowerCase(), batch)
  }

  return {
    channels,
    batches,
    work,
    async load() {
      const stored = await records.get<Index>('index')
      if (!stored) await migrateV1(store, this)
      index = (await records.get<Index>('index')) ?? { channels: [], batches: [] }
      Object.assign(work, (await records.get<Work>('work')) ?? {})
      channels.clear()
      for (const id of index.channels) {
        const book = await records.get<ChannelBook>(`channel:${id}`)
        if (book) channels.set(id, book)
      }
      batches.length = 0
      for (const root of index.batches) {
        const batch = await records.get<Batch>(`batch:${root}`)
        if (batch) {
          batches.push(batch)
          indexBatch(batch)
        }
      }
    },
    channel: (id) => channels.get(id),
    async putChannel(book) {
      const id = book.channelId.toString()
      const isNew = !channels.has(id)
      channels.set(id, book)
      await records.put(`channel:${id}`, book)
      if (isNew) {
        index.channels.push(id)
        await records.put('index', index)
      }
    },
    receipt: (hash) => records.get<JsonValue>(`receipt:${hash.toLowerCase()}`),
    putReceipt: (hash, encoded) => records.put(`receipt:${hash.toLowerCase()}`, encoded),
    async putBatch(batch) {
      if (!batches.includes(batch)) {
        batches.push(batch)
        index.batches.push(batch.root)
        await records.put('index', index)
      }
      indexBatch(batch)
      await records.put(`batch:${batch.root}`, batch)
    },
    saveWork: () => records.put('work', work),
    batchOf: (hash) => batchByReceipt.get(hash.toLowerCase()),
  }
}

/** The single document of earlier versions (every receipt in one record): read once, written as records. */
const V1_KEY = 'provider-payments-v1'
type V1State = {
  ledgers: Record<string, Omit<ChannelLedger, 'reserved'>>
  redeemed: Record<string, bigint>
  receipts: Record<string, JsonValue>
  pending: PendingReceipt[]
  batches: Batch[]
  earningsRedeemed: bigint
  jobsServed: number
  tokensGenerated: number
}

async function migrateV1(store: KeyValueStore, books: Books): Promise<void> {
  const raw = await store.get(V1_KEY)
  if (raw === undefined) return
  const old = fromStored<V1State>(raw)
  // The channel's latest receipt is the one with the highest cumulative total (what a consumer catches up with).
  const latest = new Map<string, { hash: Hex; cumulative: bigint }>()
  for (const [hash, encoded] of Object.entries(old.receipts ?? {})) {
    await books.putReceipt(hash as Hex, encoded)
    const r = (encoded as { receipt?: { channelId?: string; cumulativePaid?: string } }).receipt
    if (!r?.channelId || !r.cumulativePaid) continue
    const cumulative = BigInt(r.cumulativePaid)
    const known = latest.get(r.channelId)
    if (!known || cumulative > known.cumulative) latest.set(r.channelId, { hash: hash as Hex, cumulative })
  }
  for (const [id, ledger] of Object.entries(old.ledgers ?? {})) {
    await books.putChannel({
      ...ledger,
      redeemed: old.redeemed?.[id] ?? 0n,
      status: 1,
      checkedAt: 0,
      lastReceipt: latest.get(id)?.hash ?? null,
      final: null,
    })
  }
  for (const batch of old.batches ?? []) await books.putBatch(batch)
  Object.assign(books.work, {
    pending: old.pending ?? [],
    earningsRedeemed: old.earningsRedeemed ?? 0n,
    jobsServed: old.jobsServed ?? 0,
    tokensGenerated: old.tokensGenerated ?? 0,
  })
  await books.saveWork()
}

export function newChannelBook({
  channelId,
  consumer,
  deposit,
  redeemed,
  status,
  checkedAt,
}: {
  channelId: bigint
  consumer: Address
  deposit: bigint
  redeemed: bigint
  status: number
  checkedAt: number
}): ChannelBook {
  return {
    channelId,
    consumer,
    deposit,
    voucher: null,
    settled: 0n,
    redeemed,
    status,
    checkedAt,
    lastReceipt: null,
    final: null,
  }
}
