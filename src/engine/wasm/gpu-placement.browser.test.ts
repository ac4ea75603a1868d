/**
 * GGUF on the GPU, proven where this machine can: Chromium's only WebGPU adapter here is SwiftShader, which lacks
 * `shader-f16`, so the wasm engine must keep every layer on the CPU, say why, stay deterministic, and the Models view
 * must show the reason. A worker forced onto the adapter anyway proves the engine reports what llama.cpp did (no GPU
 * device registered) rather than what it asked for. A real GPU run is `npm run bench:engine` on a GPU machine.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import type { EngineCapabilities } from '../../core/capabilities.ts'
import type { Attempt } from '../../core/errors/index.ts'
import type { InferenceResult, LoadedModel, LoadProgress } from '../../core/inference.ts'
import { launchChromium } from '../../server/lib/chromium.ts'
import { openWatchedPage, type WatchedPage } from '../../server/testing/browser.ts'
import { openFixture } from '../../server/testing/fixture-page.ts'

type Load = { loaded: LoadedModel; progress: LoadProgress[] }
async function call<T>(page: Page, expression: string): Promise<T> {
  const attempt = (await page.evaluate(expression)) as Attempt<T>
  if (!attempt.ok) throw new Error(`${attempt.error.name}: ${attempt.error.message} ${attempt.error.details ?? ''}`)
  return attempt.value
}

const NO_F16 = "google swiftshader (software) lacks shader-f16, which llama.cpp's WebGPU backend needs"
const GREEDY = { prompt: 'def add(a, b):', max_tokens: 16, temperature: 0, seed: 0 }

let browser: Browser
beforeAll(async () => {
  browser = await launchChromium({ webgpu: true })
})
afterAll(async () => {
  await browser?.close()
})

describe('wasm engine on SwiftShader (WebGPU without shader-f16)', () => {
  let fixture: WatchedPage
  beforeAll(async () => {
    fixture = await openFixture(browser, 'src/engine/fixtures/gpu.html')
  })
  afterAll(async () => {
    expect(fixture.errors).toEqual([])
    await fixture.page.close()
  })

  test('the adapter the engine worker sees is SwiftShader, without shader-f16', async () => {
    const capabilities = await call<EngineCapabilities>(fixture.page, 'gpuFixture.capabilities()')
    expect(capabilities.webgpu.available).toBe(true)
    if (!capabilities.webgpu.available) return
    expect(capabilities.webgpu.adapter).toMatchObject({
      vendor: 'google',
      architecture: 'swiftshader',
      isFallbackAdapter: true,
    })
    expect(capabilities.webgpu.adapter.features).not.toContain('shader-f16')
  })

  test('the plan keeps every layer on the CPU, says why, and the load stays deterministic', async () => {
    const { loaded } = await call<Load>(fixture.page, 'gpuFixture.load("auto", "modelex-demo-tiny")')
    // The tiny model: 2 blocks and the output layer.
    expect(loaded.placement).toEqual({
      device: 'cpu',
      layers: 0,
      totalLayers: 3,
      adapter: 'google swiftshader (software)',
      reason: NO_F16,
    })
    expect(loaded.deterministic).toBe(true)
  })

  test('forced onto the adapter anyway, it reports what llama.cpp did: no GPU device, the CPU runs it, same output', async () => {
    const forced = await call<Load>(fixture.page, 'gpuFixture.load("force", "modelex-demo-tiny")')
    expect(forced.progress.map((p) => p.text)).toContain(
      'loading into WebAssembly memory (1 thread, 3/3 layers on the GPU)',
    )
    expect(forced.loaded.placement).toMatchObject({ device: 'cpu', layers: 0, totalLayers: 3 })
    expect(forced.loaded.placement?.reason).toMatch(
      /^llama\.cpp's WebGPU backend registered no GPU in wllama's worker, so every layer runs on the CPU/,
    )
    expect(forced.loaded.deterministic).toBe(true)
    const cpu = await call<Load>(fixture.page, 'gpuFixture.load("cpu", "modelex-demo-tiny")')
    expect(cpu.loaded.placement).toMatchObject({ device: 'cpu', reason: expect.stringMatching(/GPU off/) })
    const fromForced = await call<InferenceResult>(
      fixture.page,
      `gpuFixture.complete("force", ${JSON.stringify(GREEDY)})`,
    )
    const fromCpu = await call<InferenceResult>(fixture.page, `gpuFixture.complete("cpu", ${JSON.stringify(GREEDY)})`)
    expect(fromForced.text).toBe(fromCpu.text)
    expect(fromForced.usage.completion_tokens).toBe(16)
  })
})

test('Models view on SwiftShader: GGUF models run on the CPU, and the view says why', async () => {
  const { page, errors } = await openWatchedPage(browser, new URL('#/models', inject('appUrl')).href)
  await expect.poll(() => page.getByTestId('engine-gguf-gpu').textContent(), { timeout: 30_000 }).toBe(`no: ${NO_F16}`)
  await page.getByTestId('load-modelex-demo-tiny').click()
  await expect.poll(() => page.getByTestId('load-state').textContent(), { timeout: 60_000 }).toBe('ready')
  expect(await page.getByTestId('placement').textContent()).toBe(`CPU: ${NO_F16}`)
  expect(await page.getByTestId('not-deterministic').count()).toBe(0)
  expect(errors).toEqual([])
  await page.close()
})
