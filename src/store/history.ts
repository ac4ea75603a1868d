/**
 * The dashboards' history in a key-value store: what this browser's provider served, when it was online, and what
 * its consumer paid (`src/core/history.ts` has the record types and everything computed from them). Each kind is an
 * append-only log cut into pages of `HISTORY_PAGE_SIZE` records under `history:<kind>:page:<n>`, with
 * `history:<kind>:meta` = `{ first, last }`, so an append rewrites one small page, not the whole history. A log is
 * bounded: past `maxPages` pages the oldest page is dropped whole. Amounts are stored as decimal strings (any store
 * takes them, JSON files too); every record read back is checked, and one that is not valid is left out.
 *
 * In the browser it is the IndexedDB database `modelex-history` (object store `history`), apart from the keys.
 */
import { createStore, del, get, set } from 'idb-keyval'
import type { Hex } from 'viem'
import {
  parsePaidRecord,
  parseServedRecord,
  parseUptimeSample,
  type PaidRecord,
  type ReceiptVerification,
  type ServedRecord,
  type UptimeSample,
} from '../core/history.ts'
import type { KeyValueStore } from './kv.ts'

/** Records per page. */
export const HISTORY_PAGE_SIZE = 256
/** Pages kept per log by default: 40 × 256 = 10,240 records, then the oldest page goes. */
export const HISTORY_MAX_PAGES = 40

/** A store that can also delete (a dropped page is deleted; without `delete` it is overwritten with null). */
export type HistoryKeyValueStore = KeyValueStore & { delete?(key: string): Promise<void> }

/** One bounded log of records, oldest first. */
export type HistoryLog<T> = {
  append(record: T): Promise<void>
  /** Every kept record, oldest first. */
  list(): Promise<T[]>
  /** Changes the records `match` picks (newest pages first); resolves to how many changed. */
  update(match: (record: T) => boolean, change: (record: T) => T): Promise<number>
}

type Codec<T> = { encode(record: T): unknown; decode(value: unknown): T }
type Meta = { first: number; last: number }

export type HistoryLogOptions = { maxPages?: number; pageSize?: number }

export function createHistoryLog<T>(
  kv: HistoryKeyValueStore,
  name: string,
  codec: Codec<T>,
  { maxPages = HISTORY_MAX_PAGES, pageSize = HISTORY_PAGE_SIZE }: HistoryLogOptions = {},
): HistoryLog<T> {
  const metaKey = `history:${name}:meta`
  const pageKey = (n: number) => `history:${name}:page:${n}`
  let queue: Promise<unknown> = Promise.resolve()

  const decodePage = (value: unknown): T[] => {
    if (!Array.isArray(value)) return []
    const out: T[] = []
    for (const item of value) {
      try {
        out.push(codec.decode(item))
      } catch {
        // A record that is not valid (an older format, a damaged entry) is left out; the rest of the page stays.
      }
    }
    return out
  }
  // Read from the store every time, not from a copy in memory: another tab of the app may have written since.
  const readMeta = async (): Promise<Meta> => {
    const raw = (await kv.get(metaKey)) as Partial<Meta> | undefined
    return raw &&
      Number.isSafeInteger(raw.first) &&
      Number.isSafeInteger(raw.last) &&
      (raw.first as number) <= (raw.last as number)
      ? { first: raw.first as number, last: raw.last as number }
      : { first: 0, last: -1 }
  }
  /** The kept page numbers, oldest first (at most `maxPages`, whatever the meta says). */
  const kept = (meta: Meta) => {
    const out: number[] = []
    for (let n = Math.max(meta.first, meta.last - maxPages + 1); n <= meta.last; n++) out.push(n)
    return out
  }
  const readPage = async (n: number) => decodePage(await kv.get(pageKey(n)))
  const savePage = (n: number, page: T[]) =>
    kv.set(
      pageKey(n),
      page.map((record) => codec.encode(record)),
    )
  /** One write at a time, in order. */
  const serial = <R>(work: () => Promise<R>): Promise<R> => {
    const next = queue.then(work)
    queue = next.catch(() => {})
    return next
  }

  return {
    append(record) {
      return serial(async () => {
        const meta = await readMeta()
        let page = meta.last >= meta.first && meta.last >= 0 ? await readPage(meta.last) : []
        if (meta.last < 0 || page.length >= pageSize) {
          meta.last++
          page = []
        }
        page.push(record)
        await savePage(meta.last, page)
        const dropped: number[] = []
        while (meta.last - meta.first + 1 > maxPages) dropped.push(meta.first++)
        await kv.set(metaKey, { ...meta })
        for (const n of dropped) await (kv.delete ? kv.delete(pageKey(n)) : kv.set(pageKey(n), null))
      })
    },
    async list() {
      await queue
      const out: T[] = []
      for (const n of kept(await readMeta())) out.push(...(await readPage(n)))
      return out
    },
    update(match, change) {
      return serial(async () => {
        let changed = 0
        for (const n of kept(await readMeta()).reverse()) {
          const page = await readPage(n)
          let touched = false
          page.forEach((record, i) => {
            if (!match(record)) return
            page[i] = change(record)
            touched = true
            changed++
          })
          if (touched) await savePage(n, page)
        }
        return changed
      })
    },
  }
}

const withAmount = (value: unknown, field: string): unknown => {
  if (typeof value !== 'object' || value === null) return value
  const amount = (value as Record<string, unknown>)[field]
  return typeof amount === 'string' && /^\d{1,78}$/.test(amount) ? { ...value, [field]: BigInt(amount) } : value
}

const servedCodec: Codec<ServedRecord> = {
  encode: (r) => ({ ...r, earnings: r.earnings.toString() }),
  decode: (v) => parseServedRecord(withAmount(v, 'earnings')),
}
const paidCodec: Codec<PaidRecord> = {
  encode: (r) => ({ ...r, cost: r.cost.toString() }),
  decode: (v) => parsePaidRecord(withAmount(v, 'cost')),
}
const uptimeCodec: Codec<UptimeSample> = { encode: (s) => ({ ...s }), decode: parseUptimeSample }

/** A browser's (or a node's) history: the provider's served requests and uptime, the consumer's paid requests. */
export type HistoryStore = {
  readonly served: HistoryLog<ServedRecord>
  readonly uptime: HistoryLog<UptimeSample>
  readonly paid: HistoryLog<PaidRecord>
  /** Sets the verification state of the paid record with this receipt; false when there is none. */
  setVerification(receiptHash: Hex, verification: ReceiptVerification): Promise<boolean>
}

export function createHistoryStore(kv: HistoryKeyValueStore, options: HistoryLogOptions = {}): HistoryStore {
  const paid = createHistoryLog(kv, 'paid', paidCodec, options)
  return {
    served: createHistoryLog(kv, 'served', servedCodec, options),
    uptime: createHistoryLog(kv, 'uptime', uptimeCodec, options),
    paid,
    async setVerification(receiptHash, verification) {
      const hash = receiptHash.toLowerCase()
      return (
        (await paid.update(
          (r) => r.receiptHash.toLowerCase() === hash,
          (r) => ({ ...r, verification }),
        )) > 0
      )
    },
  }
}

/** The IndexedDB database and object store the app keeps its history in. */
export const HISTORY_DATABASE = 'modelex-history'
export const HISTORY_OBJECT_STORE = 'history'

let shared: HistoryStore | undefined

/** The app's history (IndexedDB database `modelex-history`), one per page so every view appends to the same logs. */
export function indexedDbHistory(): HistoryStore {
  if (shared) return shared
  const store = createStore(HISTORY_DATABASE, HISTORY_OBJECT_STORE)
  shared = createHistoryStore({
    get: (key) => get(key, store),
    set: (key, value) => set(key, value, store),
    delete: (key) => del(key, store),
  })
  return shared
}
