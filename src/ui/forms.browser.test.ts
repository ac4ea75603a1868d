/**
 * The app's forms, built and served like production: in every view each field has a label a screen reader reads,
 * keyboard focus shows a ring, and the Chat model field is a picker that lists the models the app knows.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { WASM_CATALOG } from '../core/models.ts'
import { launchChromium } from '../server/lib/chromium.ts'
import { openWatchedPage } from '../server/testing/browser.ts'

const VIEWS = ['overview', 'models', 'network', 'node', 'chat', 'code', 'prompts', 'evaluate'] as const

let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

test.each(VIEWS)('#/%s: every field has an accessible name', async (view) => {
  const { page, errors } = await openWatchedPage(browser, new URL(`#/${view}`, inject('appUrl')).href)
  try {
    await page.waitForFunction(
      () =>
        !document.querySelector('[data-testid=view-loading]') &&
        (document.querySelector('main')?.childElementCount ?? 0) > 0,
      undefined,
      { timeout: 30_000 },
    )
    const unnamed = await page.evaluate(() =>
      [
        ...document.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(
          'main input, main select, main textarea',
        ),
      ]
        .filter((field) => field.type !== 'hidden' && !field.closest('.cm-editor'))
        .filter(
          (field) =>
            (field.labels?.length ?? 0) === 0 &&
            !field.getAttribute('aria-label') &&
            !field.getAttribute('aria-labelledby'),
        )
        .map((field) => field.outerHTML.slice(0, 120)),
    )
    expect(unnamed).toEqual([])
    expect(errors).toEqual([])
  } finally {
    await page.close()
  }
})

test('keyboard focus shows a ring on links, buttons and fields', async () => {
  const { page } = await openWatchedPage(browser, new URL('#/models', inject('appUrl')).href)
  try {
    await page.getByTestId('load-modelex-demo-tiny').waitFor({ timeout: 30_000 })
    const rings: string[] = []
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab')
      rings.push(
        await page.evaluate(() => {
          const element = document.activeElement as HTMLElement | null
          if (!element || element === document.body) return 'none'
          const style = getComputedStyle(element)
          return `${element.tagName}:${style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 ? 'ring' : 'no ring'}`
        }),
      )
    }
    expect(rings.filter((ring) => ring.endsWith('no ring'))).toEqual([])
    expect(rings.some((ring) => ring.startsWith('A:'))).toBe(true)
    expect(
      rings.some((ring) => ring.startsWith('BUTTON:') || ring.startsWith('SELECT:') || ring.startsWith('INPUT:')),
    ).toBe(true)
  } finally {
    await page.close()
  }
})

test('the Chat model field is a picker of the models the app knows', async () => {
  const { page, errors } = await openWatchedPage(browser, new URL('#/chat', inject('appUrl')).href)
  try {
    const picker = page.getByTestId('chat-model')
    await picker.waitFor({ timeout: 30_000 })
    expect(await picker.evaluate((element) => element.tagName)).toBe('SELECT')
    expect(
      await picker
        .locator('option')
        .evaluateAll((options) => options.map((option) => (option as HTMLOptionElement).value)),
    ).toEqual(WASM_CATALOG.map((record) => record.id))
    await picker.selectOption('modelex-demo-tiny')
    expect(await picker.inputValue()).toBe('modelex-demo-tiny')
    // Its label names it.
    expect(await page.getByLabel('Model', { exact: true }).getAttribute('data-testid')).toBe('chat-model')
    expect(errors).toEqual([])
  } finally {
    await page.close()
  }
})
