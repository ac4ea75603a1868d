/**
 * Fetching a model file for the engines that load whole files (the WebAssembly engine's GGUFs): the file is
 * hashed while it streams in, and that keccak256 is the model's identity (`LoadedModel.contentHash`, what a node
 * announces and signs). A record with a pinned hash (the demo models) must match it, or the load fails with
 * `ModelIntegrityError` and nothing is cached; a record without one (remote GGUFs, custom URLs and local files)
 * gets the hash of the bytes it was served. Files are cached by hash, with a URL → hash index (`model-cache.ts`).
 */
import type { Hex } from 'viem'
import { createFileHasher } from '../core/file-hash.ts'
import { ModelDownloadError, ModelIntegrityError } from '../core/errors/index.ts'
import type { LoadProgress } from '../core/inference.ts'
import { defaultModelStore, type CachedModelFile, type ModelStore } from './model-cache.ts'

export type FetchModelParameters = {
  url: string
  /** The file's keccak256 when the catalog pins it; a mismatch is `ModelIntegrityError`. Null or omitted: learned. */
  contentHash?: string | null | undefined
  onProgress?: (progress: LoadProgress) => void
  signal?: AbortSignal
  fetch?: typeof fetch
  /** Where files are cached; default: this browser's Cache Storage where there is one; `null` disables caching. */
  store?: ModelStore | null
}

export type FetchedModel = { bytes: Uint8Array; /** keccak256 of `bytes` */ contentHash: Hex; fromCache: boolean }

/** A model source as the cache index knows it: resolved against the page (or worker) URL. */
export function absoluteModelUrl(source: string): string {
  return new URL(source, globalThis.location?.href).href
}

export async function fetchModelFile({
  url,
  contentHash,
  onProgress,
  signal,
  fetch: fetchFn = fetch,
  store = defaultModelStore(),
}: FetchModelParameters): Promise<FetchedModel> {
  const absolute = absoluteModelUrl(url)
  const expected = contentHash ? (contentHash.toLowerCase() as Hex) : null
  // blob: and data: URLs (a local file the user picked) are new each time: hashing them is the only way to know them.
  const indexable = /^https?:/.test(absolute)
  const cache = store ? guarded(store) : null
  const known = expected ?? (cache && indexable ? await cache.hashOf(absolute) : null)
  const cached = known && cache ? await cache.read(known) : null
  if (cached && known) {
    onProgress?.({
      phase: 'download',
      progress: 1,
      text: 'reading the cached model',
      loadedBytes: cached.byteLength,
      totalBytes: cached.byteLength,
    })
    return { bytes: cached, contentHash: known, fromCache: true }
  }

  let response: Response
  try {
    response = await fetchFn(absolute, signal ? { signal } : {})
  } catch (cause) {
    throw new ModelDownloadError(`Downloading the model failed: ${absolute} could not be fetched.`, {
      cause,
      details: 'Check the network connection and the URL.',
    })
  }
  if (!response.ok)
    throw new ModelDownloadError(`Downloading the model failed: ${absolute} answered HTTP ${response.status}.`, {
      data: { status: response.status },
    })
  const total = Number(response.headers.get('content-length') ?? 0) || undefined
  const { bytes, contentHash: actual } = await readHashing(response, total, onProgress)
  if (expected && actual !== expected) throw new ModelIntegrityError({ expected, actual, url: absolute })
  if (cache && indexable) {
    await cache.write(actual, bytes)
    await cache.remember(absolute, actual)
  }
  return { bytes, contentHash: actual, fromCache: false }
}

/** A full or unavailable cache must not fail a load: the model still runs, it is just not kept. */
function guarded(store: ModelStore): Pick<ModelStore, 'read' | 'write' | 'hashOf' | 'remember'> {
  return {
    read: (hash) => store.read(hash).catch(() => null),
    write: (hash, bytes) => store.write(hash, bytes).catch(() => {}),
    hashOf: (url) => store.hashOf(url).catch(() => null),
    remember: (url, hash) => store.remember(url, hash).catch(() => {}),
  }
}

async function readHashing(
  response: Response,
  total: number | undefined,
  onProgress?: (p: LoadProgress) => void,
): Promise<{ bytes: Uint8Array; contentHash: Hex }> {
  const text = 'downloading the model'
  const hasher = createFileHasher()
  const chunks: Uint8Array[] = []
  if (!response.body) {
    const whole = new Uint8Array(await response.arrayBuffer())
    hasher.update(whole)
    chunks.push(whole)
  } else {
    const reader = response.body.getReader()
    let lastReport = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      hasher.update(value)
      chunks.push(value)
      const loaded = hasher.bytes
      if (onProgress && (loaded - lastReport > 1 << 20 || loaded === total)) {
        lastReport = loaded
        onProgress({
          phase: 'download',
          progress: total ? Math.min(1, loaded / total) : 0,
          text,
          loadedBytes: loaded,
          ...(total ? { totalBytes: total } : {}),
        })
      }
    }
  }
  const bytes = new Uint8Array(hasher.bytes)
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk, at)
    at += chunk.byteLength
  }
  onProgress?.({ phase: 'download', progress: 1, text, loadedBytes: bytes.byteLength, totalBytes: bytes.byteLength })
  return { bytes, contentHash: hasher.digest() }
}

export type CachedModel = CachedModelFile

export async function listCachedModels(store: ModelStore | null = defaultModelStore()): Promise<CachedModel[]> {
  return store ? store.list() : []
}

/** Deletes a cached file by its content hash. */
export async function deleteCachedModel(
  contentHash: string,
  store: ModelStore | null = defaultModelStore(),
): Promise<boolean> {
  return store ? store.delete(contentHash.toLowerCase() as Hex) : false
}
