import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { launchChromium } from '../../server/chromium.ts'
import { openWatchedPage } from '../../server/testing/browser.ts'

let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

test('Models view: load the demo model, benchmark it and run a prompt in the playground', async () => {
  const { page, errors } = await openWatchedPage(browser, new URL('#/models', inject('appUrl')).href)
  await page.getByTestId('load-modelex-demo-tiny').click()
  await expect.poll(() => page.getByTestId('load-state').textContent(), { timeout: 60_000 }).toBe('ready')
  expect(await page.getByTestId('loaded-name').textContent()).toMatch(/demo tiny/)
  expect(await page.getByTestId('demo-label').textContent()).toMatch(/text means nothing/)
  await expect.poll(() => page.locator('tr[data-model="modelex-demo-tiny"]').textContent()).toMatch(/cached/)

  await page.getByTestId('benchmark').click()
  await expect.poll(() => page.getByTestId('benchmark-result').textContent(), { timeout: 60_000 }).toMatch(/Decode\s*[\d.]+ tokens\/s/)

  await page.getByTestId('prompt').fill('def add(a, b):')
  await page.getByTestId('run').click()
  await expect.poll(() => page.getByTestId('usage').textContent(), { timeout: 60_000 }).toMatch(/completion tokens/)
  expect((await page.getByTestId('output').textContent())?.length).toBeGreaterThan(0)
  expect(errors).toEqual([])
})
