/**
 * The key-value store behind our persistent keys: IndexedDB through idb-keyval in the browser, and anything with
 * the same two methods elsewhere (Node code uses the file store in `key-file.ts` instead).
 */
import { createStore, get, set, type UseStore } from 'idb-keyval'

export type KeyValueStore = {
  get(key: string): Promise<unknown>
  set(key: string, value: unknown): Promise<void>
}

let shared: UseStore | undefined

/** The app's IndexedDB store (database `modelex`, object store `keys`). */
export function indexedDbStore(): KeyValueStore {
  shared ??= createStore('modelex', 'keys')
  const store = shared
  return { get: (key) => get(key, store), set: (key, value) => set(key, value, store) }
}
