/**
 * State of the Models view: what this browser can run, the catalog with fit and cache marks, the benchmark,
 * and the playground. The engine itself is the app's shared `EngineSession`.
 */
import { describeAdapter, type EngineCapabilities } from '../../core/capabilities.ts'
import { describePlacement, gpuPlan } from '../../core/gpu-plan.ts'
import { serializeError, type SerializedError } from '../../core/errors/index.ts'
import type { BenchmarkResult, InferenceResult } from '../../core/inference.ts'
import { deviceBudget, modelFits, WASM_CATALOG, type Fit, type ModelRecord } from '../../core/models.ts'
import type { CachedModelFile } from '../../engine/model-cache.ts'
import { absoluteModelUrl, deleteCachedModel, listCachedModels } from '../../engine/model-fetch.ts'
import type { EngineSession } from '../engine-session.svelte.ts'

/** wasm32 memory is 4 GiB at most, and the browser needs room besides the model. */
const WASM_MEMORY_MB = 3072

export type CatalogRow = { record: ModelRecord; fit: Fit; cached: boolean }

export class ModelsState {
  capabilities = $state<EngineCapabilities | null>(null)
  webgpuRecords = $state<ModelRecord[]>([])
  /** Model files in this browser's cache, by content hash, with the URLs they came from. */
  cachedFiles = $state<CachedModelFile[]>([])
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

  /**
   * Whether this browser's adapter can run GGUF layers on llama.cpp's WebGPU backend, before any model is chosen
   * (the model's size can still keep some layers on the CPU; the loaded model's placement says).
   */
  get ggufGpu(): string | null {
    if (!this.capabilities) return null
    const plan = gpuPlan(this.capabilities.webgpu, { blocks: 1, weightsBytes: 0 })
    return plan.layers > 0 ? `yes, on ${plan.adapter}` : `no: ${plan.reason}`
  }

  /** Where the loaded model's layers run: "GPU: 25/25 layers on …" or "CPU: <reason>"; null for engines without. */
  get placement(): string | null {
    const placement = this.#session.loaded?.placement
    return placement ? describePlacement(placement) : null
  }

  fitOf(record: ModelRecord): Fit {
    if (record.engine === 'wasm') {
      return record.vramMB <= WASM_MEMORY_MB
        ? { fits: true }
        : { fits: false, reason: `needs about ${record.vramMB} MiB, more than WebAssembly can address` }
    }
    const webgpu = this.capabilities?.webgpu
    if (!webgpu?.available) return { fits: false, reason: 'needs WebGPU' }
    return modelFits(
      record,
      deviceBudget(webgpu.adapter, (globalThis.navigator as Navigator & { deviceMemory?: number }).deviceMemory),
    )
  }

  /** The cached file of a GGUF record: by its pinned hash, else by the URL it was downloaded from. */
  cachedFileOf(record: ModelRecord): CachedModelFile | undefined {
    const url = absoluteModelUrl(record.source)
    return this.cachedFiles.find((file) =>
      record.contentHash ? file.contentHash === record.contentHash.toLowerCase() : file.urls.includes(url),
    )
  }

  get wasmRows(): CatalogRow[] {
    return WASM_CATALOG.map((record) => ({
      record,
      fit: this.fitOf(record),
      cached: this.cachedFileOf(record) !== undefined,
    }))
  }

  get webgpuRows(): CatalogRow[] {
    return this.webgpuRecords.map((record) => ({
      record,
      fit: this.fitOf(record),
      cached: this.cachedWebGpu.includes(record.id),
    }))
  }

  async loadWebGpuCatalog(): Promise<void> {
    const catalog = await import('../../engine/webgpu/catalog.ts')
    this.webgpuRecords = catalog.webGpuCatalog()
    this.cachedWebGpu = await catalog.cachedWebGpuModels(this.webgpuRecords)
  }

  async refreshCache(): Promise<void> {
    this.cachedFiles = await listCachedModels().catch(() => [])
  }

  async deleteCached(record: ModelRecord): Promise<void> {
    if (record.engine === 'webgpu') {
      const catalog = await import('../../engine/webgpu/catalog.ts')
      await catalog.deleteWebGpuModel(record)
      this.cachedWebGpu = this.cachedWebGpu.filter((id) => id !== record.id)
    } else {
      const file = this.cachedFileOf(record)
      if (file) await deleteCachedModel(file.contentHash)
      await this.refreshCache()
    }
  }

  async load(record: ModelRecord): Promise<void> {
    this.benchmark = null
    await this.#session.load(record)
    await this.refreshCache()
  }

  /**
   * A GGUF file anywhere on the web, run by the WebAssembly engine. Its identity on the network is the keccak256 of
   * the bytes the engine downloads (`session.loaded.contentHash`), not its URL, so it is not pinned here.
   */
  customGguf(url: string, contextLength = 4096): ModelRecord {
    return this.#custom(url, url.split('/').pop() || url, 0, contextLength)
  }

  /** A GGUF file on this computer: the engine reads it through a blob: URL and hashes it like a download. */
  customFile(file: File, contextLength = 4096): ModelRecord {
    return this.#custom(URL.createObjectURL(file), file.name, file.size, contextLength)
  }

  #custom(source: string, name: string, sizeBytes: number, contextLength: number): ModelRecord {
    return {
      id: `custom:${name}`,
      name,
      family: 'custom',
      parameters: '?',
      quantization: name.match(/q\d(_[a-z0-9]+)*|f16|f32/i)?.[0] ?? '?',
      engine: 'wasm',
      source,
      sizeBytes,
      vramMB: 0,
      contextLength,
      chatTemplate: 'model',
      requiredFeatures: [],
      coder: false,
      demo: false,
      contentHash: null,
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
        mode === 'chat'
          ? await engine.chat({ ...sampling, messages: [{ role: 'user', content: prompt }] }, options)
          : await engine.complete({ ...sampling, prompt }, options)
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
