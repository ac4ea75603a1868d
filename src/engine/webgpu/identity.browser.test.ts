/**
 * A web-llm model's identity, computed in a real browser from files served by the fixture server: the keccak256 of
 * the tensor-cache manifest and the model library, read through the Cache Storage scopes web-llm reads, so web-llm
 * loads the bytes that were hashed. (web-llm itself needs a GPU and its hosted libraries, neither of which is here.)
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { Browser } from 'playwright-core'
import { keccak256 } from 'viem'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { webLlmContentHash } from '../../core/file-hash.ts'
import { launchChromium } from '../../server/lib/chromium.ts'
import { openFixture } from '../../server/testing/fixture-page.ts'

const here = new URL('./fixtures/web-llm/', import.meta.url)
let browser: Browser
let manifest: Uint8Array
let lib: Uint8Array
beforeAll(async () => {
  browser = await launchChromium()
  manifest = new Uint8Array(await readFile(new URL('resolve/main/tensor-cache.json', here)))
  lib = new Uint8Array(await readFile(new URL('model.wasm', here)))
})
afterAll(async () => {
  await browser?.close()
})

type Identity = { contentHash: string; modelLibIntegrity: string; tensorCacheUrl: string; modelLibUrl: string }

test("the identity is keccak256 of the manifest and library hashes, and web-llm's caches then hold those bytes", async () => {
  const { page, errors } = await openFixture(browser, 'src/engine/webgpu/fixtures/identity.html')
  const identity = (await page.evaluate('fixture.identity()')) as Identity
  expect(identity.contentHash).toBe(webLlmContentHash({ tensorCache: manifest, modelLib: lib }))
  expect(identity.contentHash).toBe(
    keccak256(
      new Uint8Array([
        ...Buffer.from(keccak256(manifest).slice(2), 'hex'),
        ...Buffer.from(keccak256(lib).slice(2), 'hex'),
      ]),
    ),
  )
  expect(identity.modelLibIntegrity).toBe(`sha256-${createHash('sha256').update(lib).digest('base64')}`)
  expect(identity.tensorCacheUrl).toMatch(/\/web-llm\/resolve\/main\/tensor-cache\.json$/)

  expect(await page.evaluate(`fixture.cached('webllm/model', ${JSON.stringify(identity.tensorCacheUrl)})`)).toEqual([
    ...manifest,
  ])
  expect(await page.evaluate(`fixture.cached('webllm/wasm', ${JSON.stringify(identity.modelLibUrl)})`)).toEqual([
    ...lib,
  ])
  // Computed again, from web-llm's cache this time: the same id.
  expect(((await page.evaluate('fixture.identity()')) as Identity).contentHash).toBe(identity.contentHash)
  expect(errors).toEqual([])
  await page.close()
})

test('a model URL that serves no manifest is a ModelLoadError, not an identity', async () => {
  const { page } = await openFixture(browser, 'src/engine/webgpu/fixtures/identity.html')
  const error = (await page.evaluate(
    `fixture.identityError(fixture.model.replace('/web-llm/', '/no-such-model/'))`,
  )) as { name: string; message: string }
  expect(error).toMatchObject({
    name: 'ModelLoadError',
    message: expect.stringMatching(/not a web-llm tensor-cache manifest/),
  })
  await page.close()
})

test('a manifest web-llm already cached is what gets hashed, since it is what web-llm will load', async () => {
  const { page } = await openFixture(browser, 'src/engine/webgpu/fixtures/identity.html')
  const url = (await page.evaluate('new URL("tensor-cache.json", fixture.model).href')) as string
  const older = '{"metadata":{},"records":[]}'
  await page.evaluate(`fixture.seed('webllm/model', ${JSON.stringify(url)}, ${JSON.stringify(older)})`)
  const identity = (await page.evaluate('fixture.identity()')) as Identity
  expect(identity.contentHash).toBe(webLlmContentHash({ tensorCache: new TextEncoder().encode(older), modelLib: lib }))
  expect(identity.contentHash).not.toBe(webLlmContentHash({ tensorCache: manifest, modelLib: lib }))
  await page.close()
})
