/**
 * The webgpu backend at its web-llm boundary. web-llm's compiled model libraries cannot be obtained here, so the
 * boundary is played by `ScriptedWebLlm`: a stand-in for web-llm's `MLCEngineInterface` that streams chunks in
 * web-llm's shapes (text from the in-memory engine), reports progress in web-llm's words, and throws web-llm's
 * named errors on demand.
 */
import type { AppConfig, InitProgressCallback, MLCEngineInterface } from '@mlc-ai/web-llm'
import { keccak256, toBytes } from 'viem'
import { beforeAll, describe, expect, test } from 'vitest'
import type { GpuAdapterSummary } from '../../core/capabilities.ts'
import { WebGpuUnavailableError } from '../../core/errors/index.ts'
import { webLlmRecords, type ModelRecord } from '../../core/models.ts'
import { complianceChecks } from '../compliance.ts'
import { createMemoryEngine } from '../memory/memory-engine.ts'
import { createWebGpuEngine, mapWebLlmProgress } from './webgpu-engine.ts'

const appConfig: AppConfig = {
  model_list: [
    {
      model: 'https://huggingface.co/mlc-ai/Qwen2.5-Coder-0.5B-Instruct-q4f32_1-MLC',
      model_id: 'Qwen2.5-Coder-0.5B-Instruct-q4f32_1-MLC',
      model_lib: 'https://example.invalid/Qwen2-0.5B-Instruct-q4f32_1_cs1k-webgpu.wasm',
      vram_required_MB: 1060,
      overrides: { context_window_size: 4096 },
    },
    {
      model: 'https://huggingface.co/mlc-ai/Qwen2.5-Coder-7B-Instruct-q4f16_1-MLC',
      model_id: 'Qwen2.5-Coder-7B-Instruct-q4f16_1-MLC',
      model_lib: 'https://example.invalid/Qwen2-7B-Instruct-q4f16_1_cs1k-webgpu.wasm',
      vram_required_MB: 5106,
    },
  ],
}
const [coder, big] = webLlmRecords(appConfig.model_list) as [ModelRecord, ModelRecord]

const adapter = (fields: Partial<GpuAdapterSummary> = {}): GpuAdapterSummary => ({
  vendor: 'nvidia',
  architecture: 'hopper',
  device: '',
  description: '',
  isFallbackAdapter: false,
  features: ['shader-f16'],
  limits: {
    maxBufferSize: 2 ** 31,
    maxStorageBufferBindingSize: 2 ** 31,
    maxComputeWorkgroupStorageSize: 32768,
    maxComputeInvocationsPerWorkgroup: 1024,
  },
  ...fields,
})

type Script = { reloadError?: Error; generateError?: Error }

class ScriptedWebLlm {
  progress: InitProgressCallback | undefined
  reloaded: { modelId: string; appConfig: AppConfig } | null = null
  requests: Record<string, unknown>[] = []
  interrupts = 0
  unloads = 0
  #memory = createMemoryEngine({ tokenDelayMs: 1 })
  #controller: AbortController | null = null
  constructor(
    readonly appConfig: AppConfig,
    readonly script: Script = {},
  ) {}
  setInitProgressCallback(callback: InitProgressCallback) {
    this.progress = callback
  }
  async reload(modelId: string) {
    this.progress?.({
      progress: 0.2,
      timeElapsed: 1,
      text: 'Fetching param cache[1/5]: 20MB fetched. 20% completed, 1 secs elapsed.',
    })
    this.progress?.({
      progress: 0.6,
      timeElapsed: 2,
      text: 'Loading model from cache[3/5]: 60MB loaded. 60% completed, 2 secs elapsed.',
    })
    this.progress?.({
      progress: 0.9,
      timeElapsed: 3,
      text: 'Loading GPU shader modules[9/10]: 90% completed, 3 secs elapsed.',
    })
    if (this.script.reloadError) throw this.script.reloadError
    if (!this.appConfig.model_list.some((m) => m.model_id === modelId))
      throw Object.assign(new Error(`Cannot find model record in appConfig for ${modelId}.`), {
        name: 'ModelNotFoundError',
      })
    this.reloaded = { modelId, appConfig: this.appConfig }
    await this.#memory.load({
      id: modelId,
      contentHash: '0x00',
      engine: 'memory',
      contextLength: 4096,
      source: '',
      chatTemplate: '',
    })
    this.progress?.({ progress: 1, timeElapsed: 4, text: 'Finish loading on WebGPU - nvidia' })
  }
  interruptGenerate() {
    this.interrupts++
    this.#controller?.abort()
  }
  async unload() {
    this.unloads++
  }
  chatCompletion(request: Record<string, unknown>) {
    return this.#stream('chat', request)
  }
  completion(request: Record<string, unknown>) {
    return this.#stream('completion', request)
  }
  // Streams lazily, as web-llm does: chunks are produced while the consumer reads, so an interrupt stops them.
  async #stream(kind: 'chat' | 'completion', request: Record<string, unknown>): Promise<AsyncIterable<unknown>> {
    this.requests.push(request)
    if (this.script.generateError) throw this.script.generateError
    const model = this.reloaded?.modelId ?? ''
    const controller = (this.#controller = new AbortController())
    const chunks: unknown[] = []
    let wake: (() => void) | null = null
    let done = false
    const push = (chunk: unknown) => {
      chunks.push(chunk)
      wake?.()
    }
    const params = {
      model,
      max_tokens: request['max_tokens'] as number,
      temperature: request['temperature'] as number,
      seed: request['seed'] as number,
    }
    const onDelta = (d: { text: string }) =>
      push(
        kind === 'chat'
          ? { choices: [{ index: 0, delta: { content: d.text }, finish_reason: null }] }
          : { choices: [{ index: 0, text: d.text, finish_reason: null }] },
      )
    const generation =
      kind === 'chat'
        ? this.#memory.chat(
            { ...params, messages: request['messages'] as never },
            { signal: controller.signal, onDelta },
          )
        : this.#memory.complete(
            { ...params, prompt: request['prompt'] as string },
            { signal: controller.signal, onDelta },
          )
    void generation.then((result) => {
      push({
        choices:
          kind === 'chat'
            ? [{ index: 0, delta: {}, finish_reason: result.finish_reason }]
            : [{ index: 0, text: '', finish_reason: result.finish_reason }],
      })
      push({ choices: [], usage: { ...result.usage, extra: { prefill_tokens_per_s: 1000, decode_tokens_per_s: 100 } } })
      done = true
      wake?.()
    })
    return (async function* () {
      for (;;) {
        const next = chunks.shift()
        if (next !== undefined) yield next
        else if (done) return
        else await new Promise<void>((resolve) => (wake = resolve))
      }
    })()
  }
}

function setup(script: Script = {}, gpu: () => Promise<GpuAdapterSummary> = async () => adapter()) {
  let web: ScriptedWebLlm | null = null
  const engine = createWebGpuEngine({
    appConfig,
    createMlcEngine: (config) => (web = new ScriptedWebLlm(config, script)) as unknown as MLCEngineInterface,
    probe: gpu,
    // The model host is out of reach here: identity is the hash of the two URLs, which the identity test covers.
    identify: async ({ model, modelLib }) => ({
      contentHash: keccak256(toBytes(`${model}\n${modelLib}`)),
      modelLibIntegrity: 'sha256-AAAA',
      tensorCacheUrl: `${model}/tensor-cache.json`,
      modelLibUrl: modelLib,
    }),
  })
  return { engine, web: () => web as unknown as ScriptedWebLlm }
}

describe('webgpu engine: InferenceEngine compliance (over the web-llm stand-in)', () => {
  const { engine } = setup()
  beforeAll(async () => {
    await engine.load(coder)
  })
  for (const check of complianceChecks) test(check.name, () => check.run({ engine, model: coder }))
})

describe('webgpu engine at the web-llm boundary', () => {
  test('never promises reproducible output (GPU reductions may run in another order)', async () => {
    const { engine } = setup()
    expect((await engine.load(coder)).deterministic).toBe(false)
    expect((await engine.current())?.deterministic).toBe(false)
  })

  test('maps progress reports to load phases', async () => {
    const { engine } = setup()
    const phases: string[] = []
    await engine.load(coder, { onProgress: (p) => phases.push(p.phase) })
    expect(phases).toEqual(['download', 'upload', 'compile', 'upload', 'ready'])
    expect(mapWebLlmProgress({ progress: 1, timeElapsed: 0, text: 'Finish loading on WebGPU' }).phase).toBe('upload')
  })

  test('streams deltas, passes sampling and maps usage into timings', async () => {
    const { engine, web } = setup()
    await engine.load(coder)
    const deltas: string[] = []
    const result = await engine.chat(
      {
        model: coder.id,
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 5,
        temperature: 0,
        seed: 7,
        stop: ['\n'],
        response_format: { type: 'json_object', schema: { type: 'object' } },
      },
      { onDelta: (d) => deltas.push(d.text) },
    )
    expect(deltas.join('')).toBe(result.text)
    expect(web().requests[0]).toMatchObject({
      max_tokens: 5,
      temperature: 0,
      seed: 7,
      stop: ['\n'],
      stream: true,
      stream_options: { include_usage: true },
      response_format: { type: 'json_object', schema: '{"type":"object"}' },
    })
    expect(result.timings.decode_ms).toBeCloseTo((result.usage.completion_tokens / 100) * 1000)
  })

  test('fill-in-the-middle prompts use the catalog format', async () => {
    const { engine, web } = setup()
    await engine.load(coder)
    await engine.complete({ model: coder.id, prompt: 'def f(', suffix: '):\n', max_tokens: 2 })
    expect(web().requests[0]?.['prompt']).toBe('<|fim_prefix|>def f(<|fim_suffix|>):\n<|fim_middle|>')
    const { engine: plain } = setup()
    const { fim: _fim, ...chatOnly } = coder
    await plain.load(chatOnly)
    await expect(plain.complete({ model: coder.id, prompt: 'a', suffix: 'b' })).rejects.toMatchObject({
      name: 'InvalidInferenceRequestError',
    })
  })

  test('aborting interrupts web-llm', async () => {
    const { engine, web } = setup()
    await engine.load(coder)
    const controller = new AbortController()
    const pending = engine.complete({ model: coder.id, prompt: 'x', max_tokens: 500 }, { signal: controller.signal })
    setTimeout(() => controller.abort(), 20)
    const result = await pending
    expect(result.finish_reason).toBe('abort')
    expect(web().interrupts).toBe(1)
    expect(result.usage.completion_tokens).toBeLessThan(500)
  })

  test("custom models by URL join web-llm's app config", async () => {
    const { engine, web } = setup()
    const custom: ModelRecord = {
      ...coder,
      id: 'my-model',
      source: 'https://example.invalid/my-model-MLC',
      modelLib: 'https://example.invalid/my-model.wasm',
    }
    await engine.load(custom)
    expect(web().reloaded?.modelId).toBe('my-model')
    expect(web().reloaded?.appConfig.model_list.at(-1)).toMatchObject({
      model: custom.source,
      model_id: 'my-model',
      model_lib: custom.modelLib,
    })
    expect(appConfig.model_list).toHaveLength(2)
  })

  test.each([
    ['DeviceLostError', 'DeviceLostError'],
    ['WebGPUNotFoundError', 'WebGpuUnavailableError'],
    ['ShaderF16SupportError', 'ModelDoesNotFitError'],
    ['IntegrityError', 'ModelLoadError'],
    ['ModelNotFoundError', 'ModelLoadError'],
  ])('maps web-llm %s on load to %s', async (webLlmName, ours) => {
    const { engine } = setup({ reloadError: Object.assign(new Error('from web-llm'), { name: webLlmName }) })
    const error = await engine.load(coder).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: ours })
    expect((error as Error).cause).toMatchObject({ name: webLlmName })
  })

  test('a failed fetch while loading is a ModelDownloadError', async () => {
    const { engine } = setup({ reloadError: new TypeError('Failed to fetch') })
    await expect(engine.load(coder)).rejects.toMatchObject({ name: 'ModelDownloadError' })
  })

  test('errors while generating are typed too', async () => {
    const { engine } = setup({
      generateError: Object.assign(new Error('too long'), { name: 'ContextWindowSizeExceededError' }),
    })
    await engine.load(coder)
    await expect(engine.complete({ model: coder.id, prompt: 'x' })).rejects.toMatchObject({
      name: 'InvalidInferenceRequestError',
    })
  })

  test('refuses before downloading when there is no WebGPU or the model does not fit', async () => {
    const none = setup({}, async () => {
      throw new WebGpuUnavailableError({ reason: 'no-adapter' })
    })
    await expect(none.engine.load(coder)).rejects.toMatchObject({ name: 'WebGpuUnavailableError' })
    expect(none.web()).toBeNull()

    const software = setup({}, async () => adapter({ isFallbackAdapter: true, features: [] }))
    await expect(software.engine.load(big)).rejects.toMatchObject({ name: 'ModelDoesNotFitError' })
    expect(software.web()).toBeNull()
  })
})
