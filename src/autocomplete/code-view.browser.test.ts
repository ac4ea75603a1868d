/**
 * The Code view of the built app in headless Chromium, with the WebAssembly engine on the generated tiny model
 * (served at /models/): typing makes ghost text appear with its latency, Tab inserts it, Esc dismisses it.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { launchChromium } from '../server/lib/chromium.ts'
import { openWatchedPage, type WatchedPage } from '../server/testing/browser.ts'
import { editorText as editorTextOf, ghostText } from '../server/testing/editor.ts'

let browser: Browser
let app: WatchedPage

const editorText = () => editorTextOf(app.page)
const ghost = () => ghostText(app.page)

beforeAll(async () => {
  browser = await launchChromium()
  app = await openWatchedPage(browser, new URL('#/code', inject('appUrl')).href)
  await app.page.getByTestId('code-model').selectOption('modelex-demo-tiny')
  await app.page.getByTestId('code-load').click()
  await app.page.getByTestId('code-ready').waitFor({ timeout: 60_000 })
})

afterAll(async () => {
  await browser?.close()
})

test('typing shows ghost text with its latency; Tab inserts it at the cursor', async () => {
  const before = await editorText()
  await app.page.getByTestId('code-editor').click()
  await app.page.keyboard.press('Control+End')
  await app.page.keyboard.type('    return ')
  await expect.poll(ghost, { timeout: 30_000 }).toBeTruthy()
  // The suggestion is final once its label shows the total latency (not "…" while it streams).
  await expect.poll(() => app.page.locator('.cm-ghost-latency').textContent(), { timeout: 30_000 }).toMatch(/^\d+ ms$/)
  const suggestion = (await ghost()) as string
  expect(suggestion.length).toBeGreaterThan(0)
  expect(await app.page.getByTestId('code-suggestion-latency').textContent()).toMatch(/\d+ ms \(first token \d+ ms\)/)
  await app.page.keyboard.press('Tab')
  await expect.poll(ghost).toBeNull()
  expect(await editorText()).toBe(`${before}    return ${suggestion}`)
  await expect.poll(() => app.page.getByTestId('code-latency').textContent()).toMatch(/Suggestions\s*1/)
})

test('Esc dismisses a suggestion, and the same spot comes back from the cache', async () => {
  await app.page.keyboard.press('Enter')
  await app.page.keyboard.type('x = ')
  await expect.poll(ghost, { timeout: 30_000 }).toBeTruthy()
  await expect.poll(() => app.page.locator('.cm-ghost-latency').textContent(), { timeout: 30_000 }).toMatch(/^\d+ ms$/)
  const suggestion = await ghost()
  await app.page.keyboard.press('Escape')
  await expect.poll(ghost).toBeNull()
  const text = await editorText()
  expect(text.endsWith('x = ')).toBe(true)
  // Moving away and back to the same spot: answered from the cache, marked as such.
  await app.page.keyboard.press('ArrowLeft')
  await app.page.keyboard.press('End')
  await expect.poll(ghost, { timeout: 10_000 }).toBe(suggestion)
  expect(await app.page.locator('.cm-ghost-latency').textContent()).toBe('cached')
  expect(app.errors).toEqual([])
})
