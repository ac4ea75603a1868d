import { afterEach, expect, test } from 'vitest'
import type { Browser } from 'playwright-core'
import { launchChromium } from '../../server/lib/chromium.ts'
import { openFixture } from '../../server/testing/fixture-page.ts'

let browser: Browser | undefined
afterEach(async () => {
  await browser?.close()
  browser = undefined
})

test('a WGSL compute shader multiplies matrices correctly on the SwiftShader adapter', async () => {
  browser = await launchChromium({ webgpu: true })
  const { page, errors } = await openFixture(browser, 'src/engine/fixtures/webgpu-smoke.html')
  const outcome = (await page.evaluate('smoke(64)')) as {
    ok: boolean
    value?: { ok: boolean; maxError: number; size: number }
  }
  expect(outcome.ok).toBe(true)
  expect(outcome.value).toMatchObject({ ok: true, size: 64 })
  expect(outcome.value?.maxError).toBeLessThan(1e-3)
  expect(errors).toEqual([])
})

test('without WebGPU the self-test fails with WebGpuUnavailableError', async () => {
  browser = await launchChromium({ webgpu: false })
  const { page } = await openFixture(browser, 'src/engine/fixtures/webgpu-smoke.html')
  const outcome = (await page.evaluate('smoke(8)')) as {
    ok: boolean
    error?: { name: string; data?: { reason?: string } }
  }
  expect(outcome.ok).toBe(false)
  expect(outcome.error).toMatchObject({ name: 'WebGpuUnavailableError', data: { reason: 'no-adapter' } })
})
