/**
 * The Prompts view in the built app, headless Chromium, no local stack: the parameter form shows its errors, the
 * demo model runs the sentiment and classification templates on this browser's WebAssembly engine with the
 * templates' grammars (constrained decoding), and the outputs validate; a template published from the JSON editor is
 * stored under its content hash and survives a reload; an invalid one is refused with its typed error.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { SENTIMENT_TEMPLATE, templateId } from '../../core/templates.ts'
import { launchChromium } from '../../server/lib/chromium.ts'
import { openWatchedPage } from '../../server/testing/browser.ts'

let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

test('Prompts view: fill with validation, run constrained on the local engine, publish and keep a template', async () => {
  const { page, errors } = await openWatchedPage(browser, new URL('#/prompts', inject('appUrl')).href)
  await expect.poll(() => page.getByTestId('template-item').count(), { timeout: 30_000 }).toBe(5)
  expect(await page.getByTestId('template-id').textContent()).toBe(templateId(SENTIMENT_TEMPLATE))

  // The empty form: the field says what is wrong, and Run waits for it.
  expect(await page.getByTestId('field-error-headline').textContent()).toMatch(/must be at least 1 characters/)
  expect(await page.getByTestId('run').isDisabled()).toBe(true)
  await page.getByTestId('param-headline').fill('Acme Corp raises its full-year profit forecast after record sales')
  await expect.poll(() => page.getByTestId('field-error-headline').count()).toBe(0)
  expect(await page.getByTestId('bounds').textContent()).toMatch(/and 5 output tokens/)

  // This browser's engine with the demo model; the sentiment grammar admits only integers in -100..100.
  await page.getByTestId('load-demo').click()
  await expect
    .poll(() => page.getByTestId('engine-state').textContent(), { timeout: 90_000 })
    .toMatch(/modelex-demo-tiny loaded/)
  await page.getByTestId('run').click()
  await expect
    .poll(async () => (await page.getByTestId('output').count()) + (await page.getByTestId('run-error').count()), {
      timeout: 60_000,
    })
    .toBe(1)
  expect(await page.getByTestId('run-error').count()).toBe(0)
  expect(await page.getByTestId('output').getAttribute('data-type')).toBe('integer')
  const score = Number(await page.getByTestId('output-value').textContent())
  expect(Number.isInteger(score) && score >= -100 && score <= 100).toBe(true)

  // Classification: the enum is built from the labels parameter.
  await page.getByTestId('template-item').filter({ hasText: 'Classification' }).click()
  await page.getByTestId('param-labels').fill('billing, bug report, feature request')
  await page.getByTestId('param-text').fill('The app crashes when I open the settings page.')
  await page.getByTestId('run').click()
  await expect
    .poll(async () => (await page.getByTestId('output').count()) + (await page.getByTestId('run-error').count()), {
      timeout: 60_000,
    })
    .toBe(1)
  expect(await page.getByTestId('output').getAttribute('data-type')).toBe('enum')
  expect(['billing', 'bug report', 'feature request']).toContain(await page.getByTestId('output-value').textContent())

  // Publish a new template from the JSON editor: stored under its content hash, listed, kept across a reload.
  await page.getByTestId('template-item').filter({ hasText: 'Headline sentiment' }).click()
  const mine = { ...SENTIMENT_TEMPLATE, name: 'My sentiment', version: '2.0.0' }
  await page.getByTestId('template-json').fill(JSON.stringify(mine, null, 2))
  await page.getByTestId('publish').click()
  await expect
    .poll(() => page.getByTestId('published').getAttribute('data-id'), { timeout: 15_000 })
    .toBe(templateId(mine))
  expect(await page.getByTestId('template-id').textContent()).toBe(templateId(mine))
  expect(await page.getByTestId('template-item').filter({ hasText: 'My sentiment' }).getAttribute('data-source')).toBe(
    'stored',
  )

  await page.getByTestId('template-json').fill(JSON.stringify({ ...mine, text: 'Headline: {{headline}} {{missing}}' }))
  await page.getByTestId('publish').click()
  await expect.poll(() => page.getByTestId('publish-error').getAttribute('data-name')).toBe('InvalidTemplateError')
  expect(await page.getByTestId('publish-error').textContent()).toMatch(/slot \{\{missing\}\} has no parameter/)

  await page.reload()
  await expect.poll(() => page.getByTestId('template-item').count(), { timeout: 30_000 }).toBe(6)
  expect(await page.getByTestId('template-item').filter({ hasText: 'My sentiment' }).getAttribute('data-source')).toBe(
    'stored',
  )
  expect(errors).toEqual([])
})
