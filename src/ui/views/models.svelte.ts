/**
 * State of the Models view: what this browser can run, the catalog with fit and cache marks, the benchmark,
 * and the playground. The engine itself is the app's shared `EngineSession`.
 */
import { describeAdapter, type EngineCapabilities } from '../../core/capabilities.ts'
import { serializeError, type SerializedError } from '../../core/errors/index.ts'
import type { BenchmarkResult, InferenceResult } from '../../core/inference.ts'
import { deviceBudget, modelFits, sourceContentHash, WASM_CATALOG, type Fit, type ModelRecord } from '../../core/models.ts'
import { deleteCachedModel, listCachedModels } from '../../engine/model-fetch.ts'
import type { EngineSession } from '../engine-session.svelte.ts'

/** wasm32 memory is 4 GiB at most, and the browser needs room besides the model. */
const WASM_MEMORY_MB = 3072

export type CatalogRow = { record: ModelRecord; fit: Fit; cached: boolean }

export class ModelsState {
  capabilities = $state<EngineCapabilities | null>(null)
  webgpuRecords = $state<ModelRecord[]>([])
  cachedUrls = $state<string[]>([])
  cachedWebGpu = $state<string[]>([])
  benchmark = $state<BenchmarkResult | null>(null)
  benchmarking = $state(false)
  output = $state('')
  result = $state<InferenceResult | null>(null)
  runError = $state<SerializedError | null>(null)
  running = $state(false)
  #session: EngineSession
  #controller: AbortController | null = null

  constructor(session: EngineSession) {
    this.#session = session
  }

  get adapterName(): string | null {
    return this.capabilities?.webgpu.available ? describeAdapter(this.capabilities.webgpu.adapter) : null
  }

  fitOf(record: ModelRecord): Fit {
    if (record.engine === 'wasm') {
      return record.vramMB <= WASM_MEMORY_MB ? { fits: true } : { fits: false, reason: `needs about ${record.vramMB} MiB, more than WebAssembly can address` }
    }
    const webgpu = this.capabilities?.webgpu
    if (!webgpu?.available) return { fits: false, reason: 'needs WebGPU' }
    return modelFits(record, deviceBudget(webgpu.adapter, (globalThis.navigator as Navigator & { deviceMemory?: number }).deviceMemory))
  }

  get wasmRows(): CatalogRow[] {
    return WASM_CATALOG.map((record) => ({ record, fit: this.fitOf(record), cached: this.cachedUrls.some((url) => url.endsWith(record.source) || url === record.source) }))
  }

  get webgpuRows(): CatalogRow[] {
    return this.webgpuRecords.map((record) => ({ record, fit: this.fitOf(record), cached: this.cachedWebGpu.includes(record.id) }))
  }

  async loadWebGpuCatalog(): Promise<void> {
    const catalog = await import('../../engine/webgpu/catalog.ts')
    this.webgpuRecords = catalog.webGpuCatalog()
    this.cachedWebGpu = await catalog.cachedWebGpuModels(this.webgpuRecords)
  }

  async refreshCache(): Promise<void> {
    this.cachedUrls = (await listCachedModels().catch(() => [])).map((m) => m.url)
  }

  async deleteCached(record: ModelRecord): Promise<void> {
    if (record.engine === 'webgpu') {
      const catalog = await import('../../engine/webgpu/catalog.ts')
      await catalog.deleteWebGpuModel(record)
      this.cachedWebGpu = this.cachedWebGpu.filter((id) => id !== record.id)
    } else {
      await deleteCachedModel(record.source)
      await this.refreshCache()
    }
  }

  async load(record: ModelRecord): Promise<void> {
    this.benchmark = null
    await this.#session.load(record)
    await this.refreshCache()
  }

  /** A GGUF file anywhere on the web, run by the WebAssembly engine; its identity is its URL. */
  customGguf(url: string, contextLength = 4096): ModelRecord {
    const name = url.split('/').pop() ?? url
    return {
      id: `custom:${name}`,
      name,
      family: 'custom',
      parameters: '?',
      quantization: name.match(/q\d(_[a-z0-9]+)*|f16|f32/i)?.[0] ?? '?',
      engine: 'wasm',
      source: url,
      sizeBytes: 0,
      vramMB: 0,
      contextLength,
      chatTemplate: 'model',
      requiredFeatures: [],
      coder: false,
      demo: false,
      contentHash: sourceContentHash(url),
      license: 'see the model card',
    }
  }

  async runBenchmark(): Promise<void> {
    const engine = this.#session.engine
    if (!engine) return
    this.benchmarking = true
    try {
      this.benchmark = await engine.benchmark({ promptTokens: 128, generateTokens: 64 })
    } catch (error) {
      this.runError = serializeError(error)
    } finally {
      this.benchmarking = false
    }
  }

  async run(prompt: string, mode: 'chat' | 'completion', maxTokens: number, temperature: number): Promise<void> {
    const engine = this.#session.engine
    const model = this.#session.model
    if (!engine || !model) return
    this.#controller?.abort()
    const controller = (this.#controller = new AbortController())
    this.output = ''
    this.result = null
    this.runError = null
    this.running = true
    const options = { signal: controller.signal, onDelta: (d: { text: string }) => (this.output += d.text) }
    const sampling = { model: model.id, max_tokens: maxTokens, temperature, seed: 0 }
    try {
      this.result =
        mode === 'chat' ? await engine.chat({ ...sampling, messages: [{ role: 'user', content: prompt }] }, options) : await engine.complete({ ...sampling, prompt }, options)
    } catch (error) {
      this.runError = serializeError(error)
    } finally {
      this.running = false
    }
  }

  stop(): void {
    this.#controller?.abort()
  }
}
