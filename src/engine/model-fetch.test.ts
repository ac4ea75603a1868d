/**
 * Model files are hashed while they stream in, verified against a pinned hash, and cached by hash. The model host
 * is a stand-in `fetch` (the hubs are beyond this machine); the cache is the in-memory store.
 */
import fc from 'fast-check'
import { keccak256 } from 'viem'
import { describe, expect, test } from 'vitest'
import { deleteCachedModel, fetchModelFile, listCachedModels } from './model-fetch.ts'
import { memoryModelStore } from './model-cache.ts'

const URL_A = 'https://models.invalid/a.gguf'

/** A host serving `files` by URL in the given chunk sizes, counting requests. */
function host(files: Record<string, Uint8Array>, chunk = 7) {
  const requests: string[] = []
  const fetchFn = (async (input: string | URL | Request) => {
    const url = String(input)
    requests.push(url)
    const file = files[url]
    if (!file) return new Response('not found', { status: 404 })
    let at = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= file.length) return controller.close()
        controller.enqueue(file.slice(at, (at += chunk)))
      },
    })
    return new Response(body, { headers: { 'content-length': String(file.length) } })
  }) as typeof fetch
  return { fetch: fetchFn, requests }
}

const fileOf = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)

describe('fetchModelFile', () => {
  test('the content hash of a streamed file is keccak256 of its bytes, for any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.integer({ min: 1, max: 300 }), async (file, chunk) => {
        const { fetch } = host({ [URL_A]: file }, chunk)
        const got = await fetchModelFile({ url: URL_A, fetch, store: null })
        expect(got.contentHash).toBe(keccak256(file))
        expect(got.bytes).toEqual(file)
      }),
      { numRuns: 50 },
    )
  })

  test('a file without a pinned hash is cached by the hash it has, and found again by its URL', async () => {
    const file = fileOf(1000)
    const { fetch, requests } = host({ [URL_A]: file })
    const store = memoryModelStore()
    const first = await fetchModelFile({ url: URL_A, fetch, store })
    expect(first).toMatchObject({ contentHash: keccak256(file), fromCache: false })
    expect(store.urls.get(URL_A)).toBe(keccak256(file))
    expect(store.files.get(keccak256(file))).toEqual(file)

    const second = await fetchModelFile({ url: URL_A, fetch, store })
    expect(second).toMatchObject({ contentHash: keccak256(file), fromCache: true })
    expect(second.bytes).toEqual(file)
    expect(requests).toHaveLength(1)
  })

  test('a pinned hash finds the file under another URL without downloading', async () => {
    const file = fileOf(500)
    const store = memoryModelStore()
    await fetchModelFile({ url: URL_A, fetch: host({ [URL_A]: file }).fetch, store })
    const elsewhere = host({})
    const got = await fetchModelFile({
      url: 'https://mirror.invalid/a.gguf',
      contentHash: keccak256(file).toUpperCase().replace('0X', '0x'),
      fetch: elsewhere.fetch,
      store,
    })
    expect(got).toMatchObject({ contentHash: keccak256(file), fromCache: true })
    expect(elsewhere.requests).toEqual([])
  })

  test('a file that does not match its pinned hash is refused and nothing is cached', async () => {
    const file = fileOf(300)
    const tampered = file.slice()
    tampered[123] = file[123]! ^ 1
    const store = memoryModelStore()
    const error = await fetchModelFile({
      url: URL_A,
      contentHash: keccak256(file),
      fetch: host({ [URL_A]: tampered }).fetch,
      store,
    }).catch((e: unknown) => e)
    expect(error).toMatchObject({
      name: 'ModelIntegrityError',
      data: { expected: keccak256(file), actual: keccak256(tampered), url: URL_A },
    })
    expect(store.files.size).toBe(0)
    expect(store.urls.size).toBe(0)
  })

  test('the same URL serving other bytes later keeps the cached file and its identity until it is deleted', async () => {
    const store = memoryModelStore()
    const v1 = fileOf(200, 1)
    const v2 = fileOf(200, 2)
    await fetchModelFile({ url: URL_A, fetch: host({ [URL_A]: v1 }).fetch, store })
    expect((await fetchModelFile({ url: URL_A, fetch: host({ [URL_A]: v2 }).fetch, store })).contentHash).toBe(
      keccak256(v1),
    )

    expect(await listCachedModels(store)).toEqual([{ contentHash: keccak256(v1), bytes: 200, urls: [URL_A] }])
    expect(await deleteCachedModel(keccak256(v1), store)).toBe(true)
    expect(await listCachedModels(store)).toEqual([])
    expect((await fetchModelFile({ url: URL_A, fetch: host({ [URL_A]: v2 }).fetch, store })).contentHash).toBe(
      keccak256(v2),
    )
  })

  test('a cache that fails does not fail the load', async () => {
    const broken = memoryModelStore()
    const failing = {
      ...broken,
      read: async () => Promise.reject(new Error('quota')),
      write: async () => Promise.reject(new Error('quota')),
      hashOf: async () => Promise.reject(new Error('gone')),
      remember: async () => Promise.reject(new Error('quota')),
    }
    const file = fileOf(64)
    expect(
      (await fetchModelFile({ url: URL_A, fetch: host({ [URL_A]: file }).fetch, store: failing })).contentHash,
    ).toBe(keccak256(file))
  })

  test('HTTP errors are ModelDownloadError with the status', async () => {
    await expect(
      fetchModelFile({ url: 'https://models.invalid/none.gguf', fetch: host({}).fetch, store: null }),
    ).rejects.toMatchObject({ name: 'ModelDownloadError', data: { status: 404 } })
  })
})
