/**
 * The template store: templates kept by id (their content hash), as canonical JSON, in any `KeyValueStore` — an
 * IndexedDB database of its own in the browser (`indexedDbTemplateStore`), a map in Node (`memoryTemplateStore`).
 * Every read parses the stored JSON again and checks its hash, so a corrupted entry is refused, not served.
 */
import { createStore, get, set } from 'idb-keyval'
import type { Hex } from 'viem'
import { canonicalJson, parseTemplate, templateId, type PromptTemplate } from '../core/templates.ts'
import type { KeyValueStore } from './kv.ts'

export type StoredTemplate = { id: Hex; template: PromptTemplate; storedAt: number }

export type TemplateStore = {
  /** The template of this id, or null. */
  get(id: Hex): Promise<PromptTemplate | null>
  /** Checks the template (`parseTemplate`), stores it, and returns its id. Storing it twice is harmless. */
  put(template: PromptTemplate): Promise<Hex>
  /** Every stored template, oldest first. */
  list(): Promise<StoredTemplate[]>
}

/** The most templates one store keeps; the oldest are dropped first. */
export const MAX_STORED_TEMPLATES = 512

const INDEX_KEY = 'template-index'
const entryKey = (id: Hex) => `template:${id.toLowerCase()}`

export function createTemplateStore(
  kv: KeyValueStore,
  { now = () => Date.now() }: { now?: () => number } = {},
): TemplateStore {
  const index = async (): Promise<{ id: Hex; storedAt: number }[]> => {
    const value = await kv.get(INDEX_KEY)
    return Array.isArray(value) ? (value as { id: Hex; storedAt: number }[]) : []
  }
  const read = async (id: Hex): Promise<PromptTemplate | null> => {
    const json = await kv.get(entryKey(id))
    if (typeof json !== 'string') return null
    const template = parseTemplate(json)
    return templateId(template) === id.toLowerCase() ? template : null
  }
  let writing = Promise.resolve()
  return {
    get: read,
    async put(template) {
      const checked = parseTemplate(canonicalJson(template))
      const id = templateId(checked)
      // One write at a time, so two puts never lose each other's index entry.
      const done = writing.then(async () => {
        await kv.set(entryKey(id), canonicalJson(checked))
        const entries = await index()
        if (entries.some((entry) => entry.id === id)) return
        const kept = [...entries, { id, storedAt: now() }].slice(-MAX_STORED_TEMPLATES)
        await kv.set(INDEX_KEY, kept)
      })
      writing = done.catch(() => {})
      await done
      return id
    },
    async list() {
      const out: StoredTemplate[] = []
      for (const entry of await index()) {
        const template = await read(entry.id).catch(() => null)
        if (template) out.push({ id: entry.id, template, storedAt: entry.storedAt })
      }
      return out
    },
  }
}

export function memoryTemplateStore(): TemplateStore {
  const map = new Map<string, unknown>()
  return createTemplateStore({
    get: async (key) => map.get(key),
    set: async (key, value) => {
      map.set(key, value)
    },
  })
}

/** The browser's template store: IndexedDB database `modelex-templates`. */
export function indexedDbTemplateStore(): TemplateStore {
  const store = createStore('modelex-templates', 'templates')
  return createTemplateStore({ get: (key) => get(key, store), set: (key, value) => set(key, value, store) })
}
