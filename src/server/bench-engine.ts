/**
 * `npm run bench:engine`: load time, prefill and decode tokens/s of the WebAssembly engine on the ~30M-parameter
 * demo model at 1 and 2 threads, in headless Chromium, through the same worker proxy the app uses. It also
 * reports the WebGPU adapter and a WGSL matmul timing; the web-llm backend is measured only where a hardware
 * adapter is present and `--webgpu-model <web-llm id>` names a model whose files the browser can fetch.
 */
import { parseArgs } from 'node:util'
import type { Browser, Page } from 'playwright-core'
import type { BenchmarkResult } from '../core/inference.ts'
import { launchChromium, ensureChromium } from './chromium.ts'
import { startFixtureServer } from './fixture-server.ts'
import { ensureDemoModels } from './model-demo.ts'

const MODEL = 'modelex-demo-30m'
const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, 'webgpu-model': { type: 'string' } } })
const runs = Math.max(1, Number(values.runs))

type Attempt<T> = { ok: true; value: T } | { ok: false; error: { name: string; message: string } }
async function call<T>(page: Page, expression: string): Promise<T> {
  const attempt = (await page.evaluate(expression)) as Attempt<T>
  if (!attempt.ok) throw new Error(`${attempt.error.name}: ${attempt.error.message}`)
  return attempt.value
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

async function measureWasm(browser: Browser, url: string, threads: number) {
  const page = await browser.newPage()
  await page.goto(new URL('src/engine/fixtures/engine.html', url).href)
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 120_000 })
  await page.evaluate('fixture.start()')
  // First load fetches over HTTP and checks the hash; the second one is what a returning user sees (cache).
  const cold = await call<{ ms: number; loaded: { threads?: number } }>(page, `fixture.load(${JSON.stringify(MODEL)}, {}, ${threads})`)
  const warm = await call<{ ms: number; loaded: { threads?: number } }>(page, `fixture.load(${JSON.stringify(MODEL)}, {}, ${threads})`)
  await call(page, 'fixture.benchmark(16, 4)') // warm-up
  const results: BenchmarkResult[] = []
  for (let i = 0; i < runs; i++) results.push(await call<BenchmarkResult>(page, 'fixture.benchmark(128, 64)'))
  await page.close()
  return {
    threads: warm.loaded.threads ?? threads,
    coldLoadMs: cold.ms,
    cachedLoadMs: warm.ms,
    prefill: median(results.map((r) => r.prefill_tokens_per_s)),
    decode: median(results.map((r) => r.decode_tokens_per_s)),
    promptTokens: results[0]?.prompt_tokens ?? 0,
  }
}

async function main(): Promise<void> {
  ensureChromium()
  await ensureDemoModels({ names: [MODEL] })
  const server = await startFixtureServer()
  const browser = await launchChromium({ webgpu: true })
  try {
    console.log(`wasm engine (llama.cpp/wllama) on ${MODEL} (29.5M parameters, Q8_0, 30 MiB), headless Chromium, median of ${runs} runs`)
    console.log('threads  load (cold)  load (cached)  prefill tok/s  decode tok/s')
    const rows = []
    for (const threads of [1, 2]) {
      const row = await measureWasm(browser, server.url, threads)
      rows.push(row)
      console.log(`${String(row.threads).padStart(7)}  ${(row.coldLoadMs / 1000).toFixed(2).padStart(9)} s  ${(row.cachedLoadMs / 1000).toFixed(2).padStart(11)} s  ${row.prefill.toFixed(1).padStart(13)}  ${row.decode.toFixed(1).padStart(12)}`)
    }
    const [one, two] = rows
    if (one && two) console.log(`2 threads vs 1: prefill ×${(two.prefill / one.prefill).toFixed(2)}, decode ×${(two.decode / one.decode).toFixed(2)}`)

    const page = await browser.newPage()
    await page.goto(new URL('src/engine/fixtures/webgpu-smoke.html', server.url).href)
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' })
    const adapter = (await page.evaluate(`navigator.gpu?.requestAdapter().then((a) => a && { name: [a.info.vendor, a.info.architecture].join(' '), fallback: a.info.isFallbackAdapter })`)) as { name: string; fallback: boolean } | null
    if (!adapter) {
      console.log('\nwebgpu: no adapter in this browser; webgpu figures not measured.')
    } else {
      await page.evaluate('smoke(256)')
      const smoke = (await page.evaluate('smoke(256)')) as Attempt<{ ms: number; ok: boolean }>
      const ms = smoke.ok ? smoke.value.ms : Number.NaN
      console.log(`\nwebgpu adapter: ${adapter.name}${adapter.fallback ? ' (software fallback)' : ''}`)
      console.log(`WGSL 256×256 f32 matmul incl. buffers and dispatch: ${ms.toFixed(1)} ms (${((2 * 256 ** 3) / (ms / 1000) / 1e9).toFixed(2)} GFLOP/s)`)
      if (adapter.fallback || !values['webgpu-model']) {
        console.log(
          'webgpu engine (web-llm): not measured here. It needs a hardware adapter and web-llm\'s compiled model library and weights, which this machine cannot download; run with --webgpu-model <web-llm model id> in a browser with a GPU and network access.',
        )
      } else {
        console.log('webgpu engine (web-llm): run the Models view benchmark in a browser with this GPU; the headless bench does not fetch web-llm models.')
      }
    }
    await page.close()
  } finally {
    await browser.close()
    await server.close()
  }
}

await main()
