/**
 * Persistent payment state: a provider's channel ledgers, signed receipts, pending and anchored batches and
 * redemptions; a consumer's channels and receipts. Each side keeps one document under one key of a
 * `KeyValueStore` (IndexedDB in the app, a Map in Node tests and SDK programs that need no persistence), written
 * through a queue so saves land in order. Bigints are stored as tagged strings, so the same document also survives
 * JSON.
 */
import { keyedQueue } from '../core/keyed-queue.ts'
import type { KeyValueStore } from './kv.ts'

/** A store that lives as long as the process: for Node programs and tests (a real store, not a stand-in). */
export function memoryStore(): KeyValueStore {
  const map = new Map<string, unknown>()
  return {
    get: async (key) => map.get(key),
    set: async (key, value) => {
      map.set(key, value)
    },
  }
}

const BIGINT_TAG = '__bigint:'

export function toStored(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${BIGINT_TAG}${v.toString()}` : v)),
  )
}

export function fromStored<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value), (_key, v: unknown) =>
    typeof v === 'string' && v.startsWith(BIGINT_TAG) ? BigInt(v.slice(BIGINT_TAG.length)) : v,
  ) as T
}

export type Document<T> = {
  load(): Promise<T>
  /** Saves after every save asked for before it; resolves when this one is written. */
  save(value: T): Promise<void>
}

/** One document under `key`, `initial()` when there is none yet. */
export function storedDocument<T>(store: KeyValueStore, key: string, initial: () => T): Document<T> {
  let queue: Promise<void> = Promise.resolve()
  return {
    async load() {
      const raw = await store.get(key)
      return raw === undefined ? initial() : fromStored<T>(raw)
    },
    save(value) {
      const snapshot = toStored(value)
      const next = queue.then(() => store.set(key, snapshot))
      queue = next.catch(() => {})
      return next
    },
  }
}

/** Records under `prefix:<name>`, each written through its own queue so saves of one record land in order. */
export type Records = {
  get<T>(name: string): Promise<T | undefined>
  put(name: string, value: unknown): Promise<void>
}

export function storedRecords(store: KeyValueStore, prefix: string): Records {
  const inOrder = keyedQueue()
  return {
    async get<T>(name: string) {
      const raw = await store.get(`${prefix}:${name}`)
      return raw === undefined ? undefined : fromStored<T>(raw)
    },
    put(name, value) {
      const snapshot = toStored(value)
      return inOrder(name, () => store.set(`${prefix}:${name}`, snapshot))
    },
  }
}
export const CONSUMER_STATE_KEY = 'consumer-payments-v1'
