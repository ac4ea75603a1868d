/**
 * Fetching model files with progress, an integrity check against the catalog's content hash, and a
 * Cache Storage cache so a model downloads once per browser. Shared by the engines that load whole files.
 */
import { keccak256 } from 'viem'
import { ModelDownloadError, ModelLoadError } from '../core/errors/index.ts'
import type { LoadProgress } from '../core/inference.ts'

export const MODEL_CACHE_NAME = 'modelex-models-v1'

export type FetchModelParameters = {
  url: string
  /** Expected keccak256 of the file; a mismatch is a `ModelLoadError` (reason "integrity"). Omit to skip. */
  contentHash?: string
  onProgress?: (progress: LoadProgress) => void
  signal?: AbortSignal
  fetch?: typeof fetch
  /** Cache Storage to use; `null` disables caching. */
  caches?: CacheStorage | null
}

export async function fetchModelFile({ url, contentHash, onProgress, signal, fetch: fetchFn = fetch, caches: cacheStorage = globalThis.caches ?? null }: FetchModelParameters): Promise<Uint8Array> {
  const cache = cacheStorage ? await cacheStorage.open(MODEL_CACHE_NAME).catch(() => null) : null
  const absolute = new URL(url, globalThis.location?.href).href
  const key = cacheKey(absolute, contentHash)
  let response = cache ? await cache.match(key) : undefined
  const fromCache = Boolean(response)
  if (!response) {
    try {
      response = await fetchFn(absolute, signal ? { signal } : {})
    } catch (cause) {
      throw new ModelDownloadError(`Downloading the model failed: ${absolute} could not be fetched.`, { cause, details: 'Check the network connection and the URL.' })
    }
    if (!response.ok) throw new ModelDownloadError(`Downloading the model failed: ${absolute} answered HTTP ${response.status}.`, { data: { status: response.status } })
  }
  const total = Number(response.headers.get('content-length') ?? 0) || undefined
  const bytes = await readWithProgress(response, total, fromCache, onProgress)
  // Files enter the cache only after passing this check, so a cache hit is not hashed again (30 MiB of keccak
  // costs seconds on a phone).
  if (contentHash && !fromCache) {
    const actual = keccak256(bytes)
    if (actual.toLowerCase() !== contentHash.toLowerCase()) {
      throw new ModelLoadError('The model file does not match its content hash: it is corrupt or not the model it claims to be.', {
        details: `expected ${contentHash}, got ${actual} for ${absolute}`,
        data: { reason: 'integrity', expected: contentHash, actual },
      })
    }
  }
  if (cache && !fromCache) {
    await cache.put(key, new Response(bytes.slice().buffer, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) } })).catch(() => {})
  }
  return bytes
}

const INTEGRITY_PARAM = 'modelex-integrity'

/** Cache entries are keyed by URL and expected hash, so a model republished under the same URL is fetched anew. */
function cacheKey(absoluteUrl: string, contentHash: string | undefined): string {
  if (!contentHash) return absoluteUrl
  const url = new URL(absoluteUrl)
  url.searchParams.set(INTEGRITY_PARAM, contentHash.toLowerCase())
  return url.href
}

function withoutCacheKey(url: string): string {
  const parsed = new URL(url)
  parsed.searchParams.delete(INTEGRITY_PARAM)
  return parsed.href
}

async function readWithProgress(response: Response, total: number | undefined, fromCache: boolean, onProgress?: (p: LoadProgress) => void): Promise<Uint8Array> {
  const text = fromCache ? 'reading the cached model' : 'downloading the model'
  if (!response.body) return new Uint8Array(await response.arrayBuffer())
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let loaded = 0
  let lastReport = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    loaded += value.byteLength
    if (onProgress && (loaded - lastReport > 1 << 20 || loaded === total)) {
      lastReport = loaded
      onProgress({ phase: 'download', progress: total ? Math.min(1, loaded / total) : 0, text, loadedBytes: loaded, ...(total ? { totalBytes: total } : {}) })
    }
  }
  const bytes = new Uint8Array(loaded)
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk, at)
    at += chunk.byteLength
  }
  onProgress?.({ phase: 'download', progress: 1, text, loadedBytes: loaded, totalBytes: loaded })
  return bytes
}

export type CachedModel = { url: string; bytes: number }

export async function listCachedModels(cacheStorage: CacheStorage = caches): Promise<CachedModel[]> {
  const cache = await cacheStorage.open(MODEL_CACHE_NAME)
  const out: CachedModel[] = []
  for (const request of await cache.keys()) {
    const response = await cache.match(request)
    out.push({ url: withoutCacheKey(request.url), bytes: Number(response?.headers.get('content-length') ?? 0) })
  }
  return out
}

export async function deleteCachedModel(url: string, cacheStorage: CacheStorage = caches): Promise<boolean> {
  const cache = await cacheStorage.open(MODEL_CACHE_NAME)
  const target = new URL(url, globalThis.location?.href).href
  let deleted = false
  for (const request of await cache.keys()) {
    if (withoutCacheKey(request.url) === target) deleted = (await cache.delete(request)) || deleted
  }
  return deleted
}
