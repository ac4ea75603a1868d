/**
 * Node-only: a `KeyValueStore` kept in one JSON file (mode 0600: it may hold a wallet key), for Node programs that
 * must keep state across restarts, such as the gateway's payment channels and receipts. Values must survive JSON
 * (the payment documents do: their bigints are tagged strings). Each write replaces the file atomically, in order.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { StoreFileError } from '../core/errors/p2p.ts'
import type { KeyValueStore } from './kv.ts'

export function jsonFileStore(path: string): KeyValueStore {
  let entries: Record<string, unknown> | undefined
  let queue: Promise<void> = Promise.resolve()
  const read = async (): Promise<Record<string, unknown>> => {
    if (entries) return entries
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      return (entries = {})
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new StoreFileError({ path, details: 'it is not JSON' })
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new StoreFileError({ path, details: 'it does not hold a JSON object' })
    return (entries = parsed as Record<string, unknown>)
  }
  return {
    get: async (key) => (await read())[key],
    set(key, value) {
      const next = queue.then(async () => {
        const all = await read()
        all[key] = value
        await mkdir(dirname(path), { recursive: true })
        const temporary = `${path}.${process.pid}.tmp`
        await writeFile(temporary, JSON.stringify(all, null, 1), { mode: 0o600 })
        await rename(temporary, path)
      })
      queue = next.catch(() => {})
      return next
    },
  }
}
