/**
 * `npm run bench:engine`: load time, prefill and decode tokens/s of the WebAssembly engine on the ~30M-parameter
 * demo model at 1 and 2 threads, in headless Chromium, through the same worker proxy the app uses. Then GGUF on
 * the GPU: the adapter the engine's worker sees (name, features, limits), where `gpuPlan` puts the layers, and —
 * when llama.cpp's WebGPU backend really offloads them — GPU vs CPU prefill and decode on the same GGUF in the same
 * page; otherwise exactly why not. It also times a WGSL matmul; the web-llm backend is measured only where a
 * hardware adapter is present and `--webgpu-model <web-llm id>` names a model whose files the browser can fetch.
 *
 * Then the native engine (llama.cpp through node-llama-cpp, `src/engine/native`) on the same GGUF file at the same
 * thread counts, in this Node process: prefill and decode tok/s next to the wasm figures, the ratios, and the native
 * CUDA build's figures where one loads (else why not). It ends with `native/wasm decode: R×` at the thread count both
 * engines default to on this machine (half the cores). `--native-only` skips Chromium (no ratio then).
 *
 * On a machine with a GPU: `npm run bench:engine -- --gpu` launches Chromium with `HARDWARE_GPU_FLAGS`
 * (`--enable-unsafe-webgpu --enable-features=Vulkan --use-angle=vulkan --ignore-gpu-blocklist`); more flags with
 * `--chromium-arg <flag>` (repeatable) or `MODELEX_CHROMIUM_ARGS`; `--gpu-model <catalog id>` picks the GGUF.
 */
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import type { Browser, Page } from 'playwright-core'
import { adapterReport, type EngineCapabilities } from '../../core/capabilities.ts'
import { describePlacement, missingGpuFeatures } from '../../core/gpu-plan.ts'
import type { BenchmarkResult, LoadedModel } from '../../core/inference.ts'
import { DEMO_MODELS, WASM_CATALOG } from '../../core/models.ts'
import { createNativeEngine, defaultNativeThreads, type NativeGpu } from '../../engine/native/native-engine.ts'
import { extraChromiumArgs, HARDWARE_GPU_FLAGS, launchChromium, ensureChromium } from '../lib/chromium.ts'
import { startFixtureServer } from '../testing/fixture-server.ts'
import { ensureDemoModels } from '../programs/model-demo.ts'

const MODEL = 'modelex-demo-30m'
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    'webgpu-model': { type: 'string' },
    gpu: { type: 'boolean', default: false },
    'gpu-model': { type: 'string', default: MODEL },
    'chromium-arg': { type: 'string', multiple: true, default: [] },
    'native-only': { type: 'boolean', default: false },
  },
})
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
  const cold = await call<{ ms: number; loaded: { threads?: number } }>(
    page,
    `fixture.load(${JSON.stringify(MODEL)}, {}, ${threads})`,
  )
  const warm = await call<{ ms: number; loaded: { threads?: number } }>(
    page,
    `fixture.load(${JSON.stringify(MODEL)}, {}, ${threads})`,
  )
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

type Side = { loaded: LoadedModel; loadMs: number; prefill: number; decode: number; promptTokens: number }

/** Loads the GGUF in one of the GPU fixture page's engines (`auto`: the app's; `cpu`: kept off the GPU) and measures it. */
async function measureSide(
  page: Page,
  mode: 'auto' | 'cpu',
  model: string,
  loadedAlready?: { ms: number; loaded: LoadedModel },
): Promise<Side> {
  const load =
    loadedAlready ??
    (await call<{ ms: number; loaded: LoadedModel }>(
      page,
      `gpuFixture.load(${JSON.stringify(mode)}, ${JSON.stringify(model)})`,
    ))
  await call(page, `gpuFixture.benchmark(${JSON.stringify(mode)}, 16, 4)`) // warm-up (GPU: shader compilation)
  const results: BenchmarkResult[] = []
  for (let i = 0; i < runs; i++)
    results.push(await call<BenchmarkResult>(page, `gpuFixture.benchmark(${JSON.stringify(mode)}, 128, 64)`))
  return {
    loaded: load.loaded,
    loadMs: load.ms,
    prefill: median(results.map((r) => r.prefill_tokens_per_s)),
    decode: median(results.map((r) => r.decode_tokens_per_s)),
    promptTokens: results[0]?.prompt_tokens ?? 0,
  }
}

/** GGUF on the GPU: the adapter, the placement, and GPU vs CPU on the same file in the same page (or why not). */
async function measureGguf(browser: Browser, url: string, model: string): Promise<void> {
  const page = await browser.newPage()
  await page.goto(new URL('src/engine/fixtures/gpu.html', url).href)
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 120_000 })
  console.log(`\nGGUF on the GPU (llama.cpp's WebGPU backend in wllama) on ${model}`)
  const capabilities = await call<EngineCapabilities>(page, 'gpuFixture.capabilities()')
  if (capabilities.webgpu.available) {
    const adapter = capabilities.webgpu.adapter
    console.log(`adapter in the engine's worker: ${adapterReport(adapter)}`)
    const missing = missingGpuFeatures(adapter)
    console.log(
      `features llama.cpp's WebGPU backend needs: shader-f16 — ${missing.length ? `missing: ${missing.join(', ')}` : 'present'}`,
    )
  } else {
    console.log(
      `adapter in the engine's worker: none (${capabilities.webgpu.error.name}: ${capabilities.webgpu.error.message})`,
    )
  }
  const load = await call<{ ms: number; loaded: LoadedModel }>(
    page,
    `gpuFixture.load("auto", ${JSON.stringify(model)})`,
  )
  const placement = load.loaded.placement
  console.log(
    `placement: ${placement ? describePlacement(placement) : 'not reported'}; deterministic: ${load.loaded.deterministic}`,
  )
  if (placement?.device !== 'gpu') {
    console.log(`GPU figures: not measured — ${placement?.reason ?? 'the engine did not report a placement'}.`)
    if (!values.gpu)
      console.log('On a machine with a GPU, run with --gpu (Chromium flags: ' + HARDWARE_GPU_FLAGS.join(' ') + ').')
    else if (!capabilities.webgpu.available || capabilities.webgpu.adapter.isFallbackAdapter) {
      console.log(
        'No hardware adapter appeared with --gpu: Chromium found no usable Vulkan GPU. Check that the NVIDIA driver and its Vulkan ICD are installed (vulkaninfo --summary lists the GPU), that /dev/nvidia* is readable, and chrome://gpu in the same Chromium.',
      )
    }
    await page.close()
    return
  }
  const gpu = await measureSide(page, 'auto', model, load)
  await call(page, 'gpuFixture.unload("auto")')
  const cpu = await measureSide(page, 'cpu', model)
  console.log(
    `device          load  prefill tok/s  decode tok/s  (median of ${runs}, ${gpu.promptTokens}-token prompt, 64 generated)`,
  )
  for (const [name, side] of [
    [`GPU ${placement.layers}/${placement.totalLayers}`, gpu],
    ['CPU', cpu],
  ] as const) {
    console.log(
      `${name.padEnd(12)}  ${(side.loadMs / 1000).toFixed(2).padStart(5)} s  ${side.prefill.toFixed(1).padStart(13)}  ${side.decode.toFixed(1).padStart(12)}`,
    )
  }
  console.log(
    `GPU vs CPU (${model}, same page): prefill ×${(gpu.prefill / cpu.prefill).toFixed(2)}, decode ×${(gpu.decode / cpu.decode).toFixed(2)}`,
  )
  await page.close()
}

type EngineRow = { threads: number; prefill: number; decode: number }
type NativeRow = EngineRow & {
  loadMs: number
  engineName: string
  deterministic: boolean
  gpuLayers: number
  totalLayers: number
}

/** The native engine on the GGUF file, with the same warm-up and runs as the wasm engine. */
async function measureNative(path: string, threads: number, gpu: NativeGpu): Promise<NativeRow> {
  const record = DEMO_MODELS.find((m) => m.id === MODEL)
  if (!record) throw new Error(`${MODEL} is not a demo model`)
  const engine = createNativeEngine({ gpu, threads })
  try {
    const started = performance.now()
    const loaded = await engine.load({ ...record, source: path })
    const loadMs = performance.now() - started
    await engine.benchmark({ promptTokens: 16, generateTokens: 4 }) // warm-up
    const results: BenchmarkResult[] = []
    for (let i = 0; i < runs; i++) results.push(await engine.benchmark({ promptTokens: 128, generateTokens: 64 }))
    return {
      threads: loaded.threads ?? threads,
      loadMs,
      prefill: median(results.map((r) => r.prefill_tokens_per_s)),
      decode: median(results.map((r) => r.decode_tokens_per_s)),
      engineName: loaded.engineName,
      deterministic: loaded.deterministic,
      gpuLayers: loaded.gpuLayers,
      totalLayers: loaded.placement?.totalLayers ?? 0,
    }
  } finally {
    await engine.close()
  }
}

const THREAD_COUNTS = [1, 2]

async function benchNative(path: string, wasmRows: EngineRow[]): Promise<void> {
  console.log(
    `\nnative engine (llama.cpp/node-llama-cpp, CPU build) on ${MODEL}, same GGUF file, in Node, median of ${runs} runs`,
  )
  console.log('threads  load (hash+load)  prefill tok/s  decode tok/s  vs wasm prefill  vs wasm decode')
  const rows: NativeRow[] = []
  for (const threads of THREAD_COUNTS) {
    const row = await measureNative(path, threads, false)
    rows.push(row)
    const wasm = wasmRows.find((w) => w.threads === row.threads)
    const vs = (a: number, b: number | undefined) => (b ? `×${(a / b).toFixed(2)}` : 'n/a').padStart(15)
    console.log(
      `${String(row.threads).padStart(7)}  ${(row.loadMs / 1000).toFixed(2).padStart(14)} s  ${row.prefill.toFixed(1).padStart(13)}  ${row.decode.toFixed(1).padStart(12)}  ${vs(row.prefill, wasm?.prefill)}  ${vs(row.decode, wasm?.decode)}`,
    )
  }
  console.log(`deterministic receipts on the CPU build: ${rows.every((r) => r.deterministic)}`)

  // CUDA: only where node-llama-cpp's prebuilt CUDA binary loads (driver and GPU present); never compiled here.
  const cuda = await measureNative(path, defaultNativeThreads(availableParallelism()), 'cuda').catch(
    (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
  )
  if (cuda instanceof Error) {
    console.log(`native CUDA: no CUDA (${cuda.name}: ${cuda.message.split('\n')[0]})`)
  } else {
    const cpu = rows.find((r) => r.threads === cuda.threads) ?? rows[0]
    console.log(
      `native CUDA (${cuda.engineName}, ${cuda.gpuLayers}/${cuda.totalLayers} layers on the GPU, deterministic: ${cuda.deterministic}): load ${(cuda.loadMs / 1000).toFixed(2)} s, prefill ${cuda.prefill.toFixed(1)} tok/s, decode ${cuda.decode.toFixed(1)} tok/s`,
    )
    if (cpu)
      console.log(
        `native CUDA vs native CPU (${cpu.threads} thread${cpu.threads > 1 ? 's' : ''}): prefill ×${(cuda.prefill / cpu.prefill).toFixed(2)}, decode ×${(cuda.decode / cpu.decode).toFixed(2)}`,
      )
  }

  // The headline: both engines at the thread count they use by default on this machine.
  const threads = defaultNativeThreads(availableParallelism())
  const native = rows.find((r) => r.threads === threads) ?? rows[0]
  const wasm = wasmRows.find((r) => r.threads === native?.threads)
  if (!native || !wasm) {
    console.log('native/wasm decode: not measured (the wasm engine was not run: --native-only)')
    return
  }
  console.log(
    `native vs wasm at ${native.threads} thread${native.threads > 1 ? 's' : ''} (each engine's default here): prefill ${native.prefill.toFixed(1)} vs ${wasm.prefill.toFixed(1)} tok/s, decode ${native.decode.toFixed(1)} vs ${wasm.decode.toFixed(1)} tok/s`,
  )
  console.log(`native/wasm decode: ${(native.decode / wasm.decode).toFixed(2)}×`)
}

async function main(): Promise<void> {
  const ggufModel = values['gpu-model'] ?? MODEL
  if (!WASM_CATALOG.some((m) => m.id === ggufModel))
    throw new Error(`--gpu-model ${ggufModel} is not in the GGUF catalog (${WASM_CATALOG.map((m) => m.id).join(', ')})`)
  const paths = await ensureDemoModels({
    names: [MODEL, ...(ggufModel !== MODEL && ggufModel.startsWith('modelex-demo') ? [ggufModel] : [])],
  })
  const path = paths[MODEL] as string
  if (values['native-only']) return benchNative(path, [])
  ensureChromium()
  const server = await startFixtureServer()
  const args = [...(values.gpu ? HARDWARE_GPU_FLAGS : []), ...(values['chromium-arg'] ?? [])]
  if (args.length || extraChromiumArgs().length)
    console.log(`Chromium flags added: ${[...args, ...extraChromiumArgs()].join(' ')}`)
  const browser = await launchChromium({ webgpu: true, args })
  const wasmRows: EngineRow[] = []
  try {
    console.log(
      `wasm engine (llama.cpp/wllama) on ${MODEL} (29.5M parameters, Q8_0, 30 MiB), headless Chromium, median of ${runs} runs`,
    )
    console.log('threads  load (cold)  load (cached)  prefill tok/s  decode tok/s')
    for (const threads of THREAD_COUNTS) {
      const row = await measureWasm(browser, server.url, threads)
      wasmRows.push(row)
      console.log(
        `${String(row.threads).padStart(7)}  ${(row.coldLoadMs / 1000).toFixed(2).padStart(9)} s  ${(row.cachedLoadMs / 1000).toFixed(2).padStart(11)} s  ${row.prefill.toFixed(1).padStart(13)}  ${row.decode.toFixed(1).padStart(12)}`,
      )
    }
    const [one, two] = wasmRows
    if (one && two)
      console.log(
        `2 threads vs 1: prefill ×${(two.prefill / one.prefill).toFixed(2)}, decode ×${(two.decode / one.decode).toFixed(2)}`,
      )

    await measureGguf(browser, server.url, ggufModel)

    const page = await browser.newPage()
    await page.goto(new URL('src/engine/fixtures/webgpu-smoke.html', server.url).href)
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' })
    const adapter = (await page.evaluate(
      `navigator.gpu?.requestAdapter().then((a) => a && { name: [a.info.vendor, a.info.architecture].join(' '), fallback: a.info.isFallbackAdapter })`,
    )) as { name: string; fallback: boolean } | null
    if (!adapter) {
      console.log('\nwebgpu: no adapter in this browser; webgpu figures not measured.')
    } else {
      await page.evaluate('smoke(256)')
      const smoke = (await page.evaluate('smoke(256)')) as Attempt<{ ms: number; ok: boolean }>
      const ms = smoke.ok ? smoke.value.ms : Number.NaN
      console.log(`\nwebgpu adapter: ${adapter.name}${adapter.fallback ? ' (software fallback)' : ''}`)
      console.log(
        `WGSL 256×256 f32 matmul incl. buffers and dispatch: ${ms.toFixed(1)} ms (${((2 * 256 ** 3) / (ms / 1000) / 1e9).toFixed(2)} GFLOP/s)`,
      )
      if (adapter.fallback || !values['webgpu-model']) {
        console.log(
          "webgpu engine (web-llm): not measured here. It needs a hardware adapter and web-llm's compiled model library and weights, which this machine cannot download; run with --webgpu-model <web-llm model id> in a browser with a GPU and network access.",
        )
      } else {
        console.log(
          'webgpu engine (web-llm): run the Models view benchmark in a browser with this GPU; the headless bench does not fetch web-llm models.',
        )
      }
    }
    await page.close()
  } finally {
    await browser.close()
    await server.close()
  }
  // Last, with Chromium closed, so its processes do not take CPU from the native runs.
  await benchNative(path, wasmRows)
}

await main()
