/**
 * Where downloaded model files live: bytes keyed by their content hash (keccak256), plus a small index from the
 * URL a file came from to its hash, so a model whose hash is learned on first download (a remote GGUF, a custom
 * URL) is found again without downloading it. Only bytes whose hash was computed on the way in are written, so a
 * read by hash is not hashed again (30 MiB of keccak costs seconds on a phone).
 *
 * The browser store keeps both in one Cache Storage cache (one place the browser evicts as a whole, reachable
 * from the engine worker); `memoryModelStore` serves tests and Node callers.
 */
import type { Hex } from 'viem'

export type CachedModelFile = { contentHash: Hex; bytes: number; /** URLs known to serve this file */ urls: string[] }

export type ModelStore = {
  /** The file with this content hash, or null. */
  read(contentHash: Hex): Promise<Uint8Array | null>
  /** Stores a file under the hash the caller computed from these very bytes. */
  write(contentHash: Hex, bytes: Uint8Array): Promise<void>
  /** The content hash last seen at this (absolute) URL, or null. */
  hashOf(url: string): Promise<Hex | null>
  remember(url: string, contentHash: Hex): Promise<void>
  list(): Promise<CachedModelFile[]>
  /** Removes the file and every URL pointing at it; false when there was none. */
  delete(contentHash: Hex): Promise<boolean>
}

export const MODEL_CACHE_NAME = 'modelex-models-v2'
/** The cache before files were keyed by hash; emptied when the new one is first opened. */
const OLD_CACHE_NAMES = ['modelex-models-v1']
/** Cache Storage keys must be http(s) URLs; these never reach the network. */
const FILE_PREFIX = 'https://modelex.invalid/file/'
const URL_PREFIX = 'https://modelex.invalid/url/'

export function cacheStorageModelStore(cacheStorage: CacheStorage): ModelStore {
  let opened: Promise<Cache> | null = null
  const open = () =>
    (opened ??= (async () => {
      for (const name of OLD_CACHE_NAMES) await cacheStorage.delete(name).catch(() => false)
      return cacheStorage.open(MODEL_CACHE_NAME)
    })())
  const urlEntries = async (cache: Cache) => {
    const out: { url: string; contentHash: Hex; key: Request }[] = []
    for (const key of await cache.keys()) {
      if (!key.url.startsWith(URL_PREFIX)) continue
      const contentHash = (await (await cache.match(key))?.text()) as Hex | undefined
      if (contentHash) out.push({ url: decodeURIComponent(key.url.slice(URL_PREFIX.length)), contentHash, key })
    }
    return out
  }
  return {
    async read(contentHash) {
      const response = await (await open()).match(FILE_PREFIX + contentHash)
      return response ? new Uint8Array(await response.arrayBuffer()) : null
    },
    async write(contentHash, bytes) {
      const body = bytes.slice().buffer
      await (
        await open()
      ).put(
        FILE_PREFIX + contentHash,
        new Response(body, {
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) },
        }),
      )
    },
    async hashOf(url) {
      const response = await (await open()).match(URL_PREFIX + encodeURIComponent(url))
      return response ? ((await response.text()) as Hex) : null
    },
    async remember(url, contentHash) {
      await (
        await open()
      ).put(
        URL_PREFIX + encodeURIComponent(url),
        new Response(contentHash, { headers: { 'content-type': 'text/plain' } }),
      )
    },
    async list() {
      const cache = await open()
      const urls = await urlEntries(cache)
      const out: CachedModelFile[] = []
      for (const key of await cache.keys()) {
        if (!key.url.startsWith(FILE_PREFIX)) continue
        const contentHash = key.url.slice(FILE_PREFIX.length) as Hex
        const response = await cache.match(key)
        out.push({
          contentHash,
          bytes: Number(response?.headers.get('content-length') ?? 0),
          urls: urls.filter((u) => u.contentHash === contentHash).map((u) => u.url),
        })
      }
      return out
    },
    async delete(contentHash) {
      const cache = await open()
      for (const entry of await urlEntries(cache)) if (entry.contentHash === contentHash) await cache.delete(entry.key)
      return cache.delete(FILE_PREFIX + contentHash)
    },
  }
}

/** The store in this browser or worker, or null where there is no Cache Storage (Node, insecure pages). */
export function defaultModelStore(): ModelStore | null {
  return globalThis.caches ? cacheStorageModelStore(globalThis.caches) : null
}

/** A store in memory, for tests and for Node callers that want files cached for the life of the process. */
export function memoryModelStore(): ModelStore & {
  readonly files: Map<Hex, Uint8Array>
  readonly urls: Map<string, Hex>
} {
  const files = new Map<Hex, Uint8Array>()
  const urls = new Map<string, Hex>()
  return {
    files,
    urls,
    async read(contentHash) {
      return files.get(contentHash)?.slice() ?? null
    },
    async write(contentHash, bytes) {
      files.set(contentHash, bytes.slice())
    },
    async hashOf(url) {
      return urls.get(url) ?? null
    },
    async remember(url, contentHash) {
      urls.set(url, contentHash)
    },
    async list() {
      return [...files].map(([contentHash, bytes]) => ({
        contentHash,
        bytes: bytes.byteLength,
        urls: [...urls].filter(([, h]) => h === contentHash).map(([u]) => u),
      }))
    },
    async delete(contentHash) {
      for (const [url, hash] of urls) if (hash === contentHash) urls.delete(url)
      return files.delete(contentHash)
    },
  }
}
