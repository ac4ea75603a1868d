import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { launchChromium } from '../server/lib/chromium.ts'
import { openWatchedPage } from '../server/testing/browser.ts'

let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

test('errors thrown in a real worker keep class, name, message, details, data and cause on the main thread', async () => {
  const { page, errors } = await openWatchedPage(
    browser,
    new URL('src/engine/fixtures/worker-errors.html', inject('devUrl')).href,
  )
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 })
  const result = await page.evaluate(() =>
    (window as unknown as { runFixture: () => Promise<Record<string, Record<string, unknown>>> }).runFixture(),
  )

  expect(result['ok']).toEqual({ resolved: 'fine' })
  expect(result['typed']).toMatchObject({
    name: 'WebGpuUnavailableError',
    instanceOfBase: true,
    instanceOfWebGpu: true,
    reason: 'no-adapter',
    details: 'from the worker',
    data: { reason: 'no-adapter' },
    causeName: 'TypeError',
    causeMessage: 'inner cause',
    causeIsTypeError: true,
    walkFindsCause: 'inner cause',
  })
  expect(result['typed']?.['shortMessage']).toMatch(/found no GPU adapter/)
  expect(result['typed']?.['message']).toMatch(/Details: from the worker$/)
  // A class the main thread does not know still arrives as a BaseError with its own name and data.
  expect(result['unregistered']).toMatchObject({
    name: 'UnregisteredError',
    instanceOfBase: true,
    instanceOfWebGpu: false,
    details: 'still keeps its name',
    data: { retryAfterMs: 250 },
  })
  expect(result['plain']).toMatchObject({
    name: 'RangeError',
    message: 'plain range error',
    instanceOfRange: true,
    instanceOfBase: false,
  })
  expect(result['nonError']).toEqual({ thrown: 'a bare string' })
  expect(errors).toEqual([])
})
