import type { Browser } from 'playwright-core'
import { afterEach, describe, expect, inject, test } from 'vitest'
import { launchChromium } from '../server/lib/chromium.ts'
import { openWatchedPage } from '../server/testing/browser.ts'

describe('the built app in headless Chromium', () => {
  let browser: Browser | undefined
  afterEach(async () => {
    await browser?.close()
    browser = undefined
  })

  test('with --enable-unsafe-webgpu it shows the SwiftShader adapter and logs no errors', async () => {
    browser = await launchChromium({ webgpu: true })
    const { page, errors } = await openWatchedPage(browser, inject('appUrl'))
    await expect
      .poll(() => page.getByTestId('webgpu-state').textContent(), { timeout: 30_000 })
      .toBe('WebGPU available')
    expect(await page.getByTestId('webgpu-adapter').textContent()).toMatch(/swiftshader/i)
    expect(await page.getByTestId('isolation').textContent()).toMatch(/^\s*yes/)
    expect(Number(await page.getByTestId('cpu-threads').textContent())).toBeGreaterThanOrEqual(1)
    await expect.poll(() => page.getByTestId('network').textContent()).toMatch(/No network configured/)
    expect(await page.title()).toBe('Modelex')
    expect(errors).toEqual([])
  })

  test('without WebGPU it shows "WebGPU not available" with the reason', async () => {
    browser = await launchChromium({ webgpu: false })
    const { page, errors } = await openWatchedPage(browser, inject('appUrl'))
    await expect
      .poll(() => page.getByTestId('webgpu-state').textContent(), { timeout: 30_000 })
      .toBe('WebGPU not available')
    expect(await page.getByTestId('webgpu-reason').textContent()).toMatch(/found no GPU adapter/)
    expect(errors).toEqual([])
  })
})
