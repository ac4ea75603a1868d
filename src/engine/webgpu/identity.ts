/**
 * The content hash of a web-llm model, from the files web-llm will load: its tensor-cache manifest
 * (`tensor-cache.json`, which lists every weight shard with its path, byte size and md5, and every tensor's name,
 * shape, dtype and offset) and its compiled model library (`.wasm`). See `webLlmContentHash` for the formula.
 *
 * Both files are fetched by us before web-llm starts, through the Cache Storage scopes web-llm itself reads
 * ("webllm/model", "webllm/wasm" with its default "cache" backend), so web-llm reads the very bytes we hashed; the
 * library is also handed to web-llm with its SRI sha256, which web-llm checks, so no other library can run under
 * this id. What this does not cover: web-llm does not check shards against the manifest's md5, so a shard altered
 * at the host or in the browser's cache, keeping its size, would load under the same id.
 */
import type { Hex } from 'viem'
import { ModelDownloadError, ModelLoadError } from '../../core/errors/index.ts'
import { webLlmContentHash } from '../../core/file-hash.ts'

export type WebLlmIdentityParameters = {
  /** The record's `model` (weights base URL, as in web-llm's app config). */
  model: string
  /** The record's `model_lib` URL. */
  modelLib: string
  fetch?: typeof fetch
  /** Cache Storage shared with web-llm; null: fetch without caching (web-llm may then fetch other bytes). */
  caches?: CacheStorage | null
  /** The page URL relative model URLs resolve against (web-llm uses `document.URL` or the worker's origin). */
  baseUrl?: string
  signal?: AbortSignal
}

export type WebLlmIdentity = {
  contentHash: Hex
  /** SRI of the library we hashed, for web-llm's `integrity.model_lib`. */
  modelLibIntegrity: string
  tensorCacheUrl: string
  modelLibUrl: string
}

/** web-llm's `cleanModelUrl`: a Hugging Face repo URL gets `/resolve/main/`. */
export function webLlmModelBaseUrl(model: string, baseUrl?: string): string {
  let url = model.endsWith('/') ? model : `${model}/`
  if (!/.+\/resolve\/.+\//.test(url)) url += 'resolve/main/'
  return /^https?:/.test(url) ? new URL(url).href : new URL(url, baseUrl ?? globalThis.location?.href).href
}

export async function webLlmModelIdentity({
  model,
  modelLib,
  fetch: fetchFn = fetch,
  caches: cacheStorage = globalThis.caches ?? null,
  baseUrl,
  signal,
}: WebLlmIdentityParameters): Promise<WebLlmIdentity> {
  const tensorCacheUrl = new URL('tensor-cache.json', webLlmModelBaseUrl(model, baseUrl)).href
  // web-llm caches the library only for remote http(s) URLs outside localhost; elsewhere it fetches it each time.
  const libCached = /^https?:/.test(modelLib) && !modelLib.includes('localhost')
  const modelLibUrl = libCached ? modelLib : new URL(modelLib, baseUrl ?? globalThis.location?.href).href
  const read = (url: string, scope: string | null) =>
    readThroughCache(url, scope && cacheStorage ? { cacheStorage, scope } : null, fetchFn, signal)
  const [tensorCache, lib] = await Promise.all([
    read(tensorCacheUrl, 'webllm/model'),
    read(modelLibUrl, libCached ? 'webllm/wasm' : null),
  ])
  if (!isTensorCacheManifest(tensorCache))
    throw new ModelLoadError(`${tensorCacheUrl} is not a web-llm tensor-cache manifest (JSON with a "records" list).`, {
      details:
        'Check the model URL: it should be the folder (or Hugging Face repository) that holds tensor-cache.json.',
    })
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', lib.slice().buffer))
  return {
    contentHash: webLlmContentHash({ tensorCache, modelLib: lib }),
    modelLibIntegrity: `sha256-${base64(digest)}`,
    tensorCacheUrl,
    modelLibUrl,
  }
}

/** Reads `url` as web-llm's ArtifactCache would: from the cache when there, else fetched and stored under `url`. */
async function readThroughCache(
  url: string,
  cache: { cacheStorage: CacheStorage; scope: string } | null,
  fetchFn: typeof fetch,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const opened = cache ? await cache.cacheStorage.open(cache.scope).catch(() => null) : null
  const hit = opened ? await opened.match(new Request(url)) : undefined
  if (hit) return new Uint8Array(await hit.arrayBuffer())
  let response: Response
  try {
    response = await fetchFn(url, signal ? { signal } : {})
  } catch (cause) {
    throw new ModelDownloadError(`Downloading the model failed: ${url} could not be fetched.`, {
      cause,
      details: 'Check the network connection and the URL.',
    })
  }
  if (!response.ok)
    throw new ModelDownloadError(`Downloading the model failed: ${url} answered HTTP ${response.status}.`, {
      data: { status: response.status },
    })
  const bytes = new Uint8Array(await response.arrayBuffer())
  await opened?.put(new Request(url), new Response(bytes.slice().buffer, { headers: response.headers })).catch(() => {})
  return bytes
}

function isTensorCacheManifest(bytes: Uint8Array): boolean {
  try {
    return Array.isArray((JSON.parse(new TextDecoder().decode(bytes)) as { records?: unknown }).records)
  } catch {
    return false
  }
}

function base64(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}
