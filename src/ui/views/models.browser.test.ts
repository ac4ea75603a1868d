import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { keccak256 } from 'viem'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { DEMO_MODELS } from '../../core/models.ts'
import { launchChromium } from '../../server/lib/chromium.ts'
import { DEFAULT_MODELS_DIR } from '../../server/programs/model-demo.ts'
import { openWatchedPage } from '../../server/testing/browser.ts'

const TINY = DEMO_MODELS.find((m) => m.id === 'modelex-demo-tiny')!
let browser: Browser
let tiny: Buffer
beforeAll(async () => {
  browser = await launchChromium()
  tiny = await readFile(join(DEFAULT_MODELS_DIR, 'modelex-demo-tiny.gguf'))
})
afterAll(async () => {
  await browser?.close()
})

/** The demo file with its last weight byte changed: still a valid GGUF, but other bytes, so another model. */
function otherWeights(): Buffer {
  const bytes = Buffer.from(tiny)
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x01
  return bytes
}

/** Serves `body` at every URL ending in `path`, for the page and its workers (the model host, played here). */
async function serve(page: Page, path: string, body: Buffer): Promise<void> {
  await page.context().route(`**${path}`, (route) =>
    route.fulfill({
      status: 200,
      body,
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(body.length),
        'access-control-allow-origin': '*',
      },
    }),
  )
}

test('Models view: load the demo model, benchmark it and run a prompt in the playground', async () => {
  const { page, errors } = await openWatchedPage(browser, new URL('#/models', inject('appUrl')).href)
  await page.getByTestId('load-modelex-demo-tiny').click()
  await expect.poll(() => page.getByTestId('load-state').textContent(), { timeout: 60_000 }).toBe('ready')
  expect(await page.getByTestId('loaded-name').textContent()).toMatch(/demo tiny/)
  expect(await page.getByTestId('loaded-hash').textContent()).toBe(TINY.contentHash)
  expect(await page.getByTestId('demo-label').textContent()).toMatch(/text means nothing/)
  await expect.poll(() => page.locator('tr[data-model="modelex-demo-tiny"]').textContent()).toMatch(/cached/)

  await page.getByTestId('benchmark').click()
  await expect
    .poll(() => page.getByTestId('benchmark-result').textContent(), { timeout: 60_000 })
    .toMatch(/Decode\s*[\d.]+ tokens\/s/)

  await page.getByTestId('prompt').fill('def add(a, b):')
  await page.getByTestId('run').click()
  await expect.poll(() => page.getByTestId('usage').textContent(), { timeout: 60_000 }).toMatch(/completion tokens/)
  expect((await page.getByTestId('output').textContent())?.length).toBeGreaterThan(0)
  expect(errors).toEqual([])
  await page.close()
})

test('a custom model from a URL or a local file gets the keccak256 of its bytes as its id', async () => {
  const { page, errors } = await openWatchedPage(browser, new URL('#/models', inject('appUrl')).href)
  const custom = otherWeights()
  await serve(page, '/hosted/custom-tiny.gguf', custom)
  await page.getByLabel('GGUF model URL').fill('https://models.invalid/hosted/custom-tiny.gguf')
  await page.getByRole('button', { name: 'Load a GGUF by URL' }).click()
  await expect.poll(() => page.getByTestId('load-state').textContent(), { timeout: 60_000 }).toBe('ready')
  expect(await page.getByTestId('loaded-hash').textContent()).toBe(keccak256(custom))
  expect(keccak256(custom)).not.toBe(TINY.contentHash)

  await page
    .getByTestId('custom-file')
    .setInputFiles({ name: 'my-model.gguf', mimeType: 'application/octet-stream', buffer: tiny })
  await expect.poll(() => page.getByTestId('loaded-name').textContent(), { timeout: 60_000 }).toBe('my-model.gguf')
  await expect.poll(() => page.getByTestId('load-state').textContent(), { timeout: 60_000 }).toBe('ready')
  expect(await page.getByTestId('loaded-hash').textContent()).toBe(keccak256(tiny))
  expect(errors).toEqual([])
  await page.close()
})

test('a demo file that is not the pinned one is refused, and nothing is cached', async () => {
  const { page } = await openWatchedPage(browser, new URL('#/models', inject('appUrl')).href)
  await serve(page, '/models/modelex-demo-tiny.gguf', otherWeights())
  await page.getByTestId('load-modelex-demo-tiny').click()
  await expect
    .poll(() => page.getByTestId('load-error').textContent(), { timeout: 60_000 })
    .toMatch(/^ModelIntegrityError: The model file does not match its content hash/)
  const cached = await page.evaluate(async () =>
    (await (await caches.open('modelex-models-v2')).keys()).map((r) => r.url),
  )
  expect(cached).toEqual([])
  expect(await page.locator('tr[data-model="modelex-demo-tiny"]').textContent()).not.toMatch(/cached/)
  await page.close()
})
