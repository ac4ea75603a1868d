/**
 * The `webgpu` backend: `@mlc-ai/web-llm` running quantized models on the GPU. It runs inside our dedicated engine
 * worker, so it uses web-llm's `MLCEngine` directly (web-llm's own worker wrapper would add a second hop). The
 * engine talks to web-llm only through `MLCEngineInterface`, which is also where it is tested: web-llm's compiled
 * model libraries cannot be obtained on our CI machines.
 */
import type {
  AppConfig,
  ChatCompletionChunk,
  Completion,
  InitProgressReport,
  MLCEngineInterface,
  ModelRecord as WebLlmModelRecord,
} from '@mlc-ai/web-llm'
import type { GpuAdapterSummary } from '../../core/capabilities.ts'
import {
  InvalidInferenceRequestError,
  ModelDoesNotFitError,
  ModelIntegrityError,
  ModelLoadError,
  ModelMismatchError,
  ModelNotLoadedError,
} from '../../core/errors/index.ts'
import type {
  BenchmarkOptions,
  BenchmarkResult,
  ChatCompletionRequest,
  CompletionRequest,
  GenerateOptions,
  InferenceEngine,
  InferenceResult,
  LoadedModel,
  LoadOptions,
  LoadProgress,
  ModelSpec,
  SamplingParameters,
} from '../../core/inference.ts'
import { deviceBudget, modelFits, type ModelRecord } from '../../core/models.ts'
import { buildFimPrompt } from '../../core/prompts.ts'
import { benchmarkFromResult, benchmarkPrompt, serialQueue } from '../shared.ts'
import { mapWebLlmError } from './web-llm-errors.ts'
import { webLlmModelIdentity, type WebLlmIdentity } from './identity.ts'

export type WebGpuEngineOptions = {
  /** web-llm's app config (its prebuilt catalog); custom models are added to a copy of it. */
  appConfig: AppConfig
  /** Makes the web-llm engine. In the worker: `(appConfig) => new MLCEngine({ appConfig })`. */
  createMlcEngine: (appConfig: AppConfig) => MLCEngineInterface
  /** Finds the adapter (throws `WebGpuUnavailableError` without one). */
  probe: () => Promise<GpuAdapterSummary>
  /** `navigator.deviceMemory` where the browser reports it. */
  deviceMemoryGB?: number
  /** Fetches and hashes the model's tensor-cache manifest and library (`identity.ts`); replaced in tests. */
  identify?: (files: { model: string; modelLib: string }) => Promise<WebLlmIdentity>
}

/**
 * Maps web-llm's progress text to our load phases. web-llm's last report ("Finish loading…") counts as upload:
 * the engine itself reports `ready`, once, when `reload` has returned.
 */
export function mapWebLlmProgress(report: InitProgressReport): LoadProgress {
  const text = report.text
  const phase: LoadProgress['phase'] = /shader|compil/i.test(text)
    ? 'compile'
    : /Fetching|download/i.test(text)
      ? 'download'
      : 'upload'
  return { phase, progress: Math.max(0, Math.min(1, report.progress)), text }
}

type Usage = {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  extra?: { prefill_tokens_per_s?: number; decode_tokens_per_s?: number }
}

export function createWebGpuEngine(options: WebGpuEngineOptions): InferenceEngine {
  let mlc: MLCEngineInterface | null = null
  let loaded: (LoadedModel & { spec: ModelSpec }) | null = null
  const serialized = serialQueue()

  const requireModel = (requested: string) => {
    if (!loaded || !mlc) throw new ModelNotLoadedError()
    if (requested !== loaded.id) throw new ModelMismatchError({ requested, loaded: loaded.id })
    return { model: loaded, engine: mlc }
  }

  const sampling = (params: SamplingParameters) => {
    const maxTokens = params.max_tokens ?? 256
    if (!Number.isInteger(maxTokens) || maxTokens < 0)
      throw new InvalidInferenceRequestError('max_tokens must be a non-negative integer.')
    const body: Record<string, unknown> = {
      max_tokens: maxTokens,
      temperature: params.temperature ?? 0.7,
      top_p: params.top_p ?? 1,
      stream: true,
      stream_options: { include_usage: true },
    }
    if (params.seed !== undefined) body['seed'] = params.seed
    if (params.stop !== undefined) body['stop'] = params.stop
    const format = params.response_format
    if (format?.type === 'json_object')
      body['response_format'] = format.schema
        ? { type: 'json_object', schema: JSON.stringify(format.schema) }
        : { type: 'json_object' }
    if (format?.type === 'grammar') body['response_format'] = { type: 'grammar', grammar: format.grammar }
    return { body, maxTokens }
  }

  const run = (
    engine: MLCEngineInterface,
    kind: 'chat' | 'completion',
    body: Record<string, unknown>,
    maxTokens: number,
    { signal, onDelta }: GenerateOptions = {},
  ) =>
    serialized(async (): Promise<InferenceResult> => {
      if (signal?.aborted)
        return {
          text: '',
          finish_reason: 'abort',
          usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
          timings: { prefill_ms: 0, decode_ms: 0 },
        }
      const interrupt = () => engine.interruptGenerate()
      signal?.addEventListener('abort', interrupt, { once: true })
      let text = ''
      let tokens = 0
      let usage: Usage | null = null
      let finish: InferenceResult['finish_reason'] = 'stop'
      try {
        const stream = (kind === 'chat'
          ? await engine.chatCompletion(body as never)
          : await engine.completion(body as never)) as unknown as AsyncIterable<ChatCompletionChunk | Completion>
        for await (const chunk of stream) {
          if (chunk.usage) usage = chunk.usage as Usage
          const choice = chunk.choices[0] as
            { text?: string; delta?: { content?: string | null }; finish_reason?: string | null } | undefined
          if (choice?.finish_reason === 'length') finish = 'length'
          if (choice?.finish_reason === 'abort') finish = 'abort'
          const piece = choice?.text ?? choice?.delta?.content ?? ''
          if (piece) {
            text += piece
            tokens++
            onDelta?.({ text: piece, tokens: 1 })
          }
        }
      } catch (error) {
        if (!signal?.aborted) throw mapWebLlmError(error, 'generate')
      } finally {
        signal?.removeEventListener('abort', interrupt)
      }
      if (signal?.aborted) finish = 'abort'
      const final = usage as Usage | null
      const promptTokens = final?.prompt_tokens ?? 0
      const completionTokens = finish === 'abort' ? tokens : (final?.completion_tokens ?? tokens)
      if (finish === 'stop' && completionTokens >= maxTokens) finish = 'length'
      const perSecond = (count: number, rate: number | undefined) => (rate ? (count / rate) * 1000 : 0)
      return {
        text,
        finish_reason: finish,
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
        },
        timings: {
          prefill_ms: perSecond(promptTokens, final?.extra?.prefill_tokens_per_s),
          decode_ms: perSecond(completionTokens, final?.extra?.decode_tokens_per_s),
        },
      }
    })

  const engine: InferenceEngine = {
    kind: 'webgpu',
    async load(spec: ModelSpec, { onProgress }: LoadOptions = {}) {
      const adapter = await options.probe()
      const record = spec as Partial<ModelRecord>
      if (record.requiredFeatures && record.vramMB !== undefined) {
        const fit = modelFits(record as ModelRecord, deviceBudget(adapter, options.deviceMemoryGB))
        if (!fit.fits)
          throw new ModelDoesNotFitError(`${spec.id} does not fit this GPU: ${fit.reason}.`, {
            data: { reason: fit.reason },
          })
      }
      await engine.unload()
      // A custom model is web-llm's weights URL plus its compiled library URL; prebuilt ones are known by id.
      const appConfig: AppConfig = { ...options.appConfig, model_list: [...options.appConfig.model_list] }
      const custom = /^https?:\/\//.test(spec.source)
      if (custom) {
        if (!record.modelLib)
          throw new InvalidInferenceRequestError('A custom web-llm model needs its model library URL (modelLib).')
        const entry: WebLlmModelRecord = {
          model: spec.source,
          model_id: spec.id,
          model_lib: record.modelLib,
          overrides: { context_window_size: spec.contextLength },
        }
        if (record.vramMB) entry.vram_required_MB = record.vramMB
        appConfig.model_list = [...appConfig.model_list.filter((m) => m.model_id !== spec.id), entry]
      }
      // The model's identity: the keccak256 of the files web-llm will load, hashed by us first; web-llm is then held to
      // the library we hashed by its own SRI check.
      const modelId = custom ? spec.id : spec.source
      const entry = appConfig.model_list.find((m) => m.model_id === modelId)
      if (!entry) throw new ModelLoadError(`web-llm has no model ${modelId}.`)
      const identity = await (options.identify ?? webLlmModelIdentity)({
        model: entry.model,
        modelLib: entry.model_lib,
      })
      if (spec.contentHash && spec.contentHash.toLowerCase() !== identity.contentHash)
        throw new ModelIntegrityError({
          expected: spec.contentHash,
          actual: identity.contentHash,
          url: identity.tensorCacheUrl,
        })
      const contentHash = identity.contentHash
      appConfig.model_list = appConfig.model_list.map((m) =>
        m === entry
          ? { ...m, integrity: { ...m.integrity, model_lib: identity.modelLibIntegrity, onFailure: 'error' } }
          : m,
      )
      const webLlm = options.createMlcEngine(appConfig)
      if (onProgress) webLlm.setInitProgressCallback((report) => onProgress(mapWebLlmProgress(report)))
      try {
        await webLlm.reload(modelId, { context_window_size: spec.contextLength })
      } catch (error) {
        await webLlm.unload().catch(() => {})
        throw mapWebLlmError(error, 'load')
      }
      mlc = webLlm
      // Not deterministic: GPU kernels may reduce in a different order from one run, driver or adapter to the
      // next, so greedy output can differ by a token; receipts of this engine never claim reproducibility.
      loaded = {
        id: spec.id,
        contentHash,
        engine: 'webgpu',
        contextLength: spec.contextLength,
        spec,
        deterministic: false,
      }
      onProgress?.({ phase: 'ready', progress: 1, text: 'ready' })
      return { id: spec.id, contentHash, engine: 'webgpu', contextLength: spec.contextLength, deterministic: false }
    },
    async current() {
      return loaded
        ? {
            id: loaded.id,
            contentHash: loaded.contentHash,
            engine: 'webgpu',
            contextLength: loaded.contextLength,
            deterministic: false,
          }
        : null
    },
    async chat(request: ChatCompletionRequest, generateOptions?: GenerateOptions) {
      const { engine: webLlm } = requireModel(request.model)
      if (request.messages.length === 0) throw new InvalidInferenceRequestError('messages must not be empty.')
      const { body, maxTokens } = sampling(request)
      return run(webLlm, 'chat', { ...body, messages: request.messages }, maxTokens, generateOptions)
    },
    async complete(request: CompletionRequest, generateOptions?: GenerateOptions) {
      const { model, engine: webLlm } = requireModel(request.model)
      let prompt = request.prompt
      if (request.suffix !== undefined) {
        if (!model.spec.fim) throw new InvalidInferenceRequestError(`${model.id} has no fill-in-the-middle format.`)
        prompt = buildFimPrompt(model.spec.fim, request.prompt, request.suffix)
      }
      const { body, maxTokens } = sampling(request)
      return run(webLlm, 'completion', { ...body, prompt }, maxTokens, generateOptions)
    },
    async countTokens(text: string) {
      const { engine: webLlm } = requireModel(loaded?.id ?? '')
      const result = await run(
        webLlm,
        'completion',
        { ...sampling({ max_tokens: 1, temperature: 0 }).body, prompt: text },
        1,
      )
      return result.usage.prompt_tokens
    },
    async benchmark({ promptTokens = 128, generateTokens = 64 }: BenchmarkOptions = {}): Promise<BenchmarkResult> {
      const { engine: webLlm } = requireModel(loaded?.id ?? '')
      const prompt = benchmarkPrompt(promptTokens)
      const result = await run(
        webLlm,
        'completion',
        { ...sampling({ max_tokens: generateTokens, temperature: 0, seed: 0 }).body, prompt },
        generateTokens,
      )
      return benchmarkFromResult(result)
    },
    async unload() {
      const webLlm = mlc
      mlc = null
      loaded = null
      await webLlm?.unload()
    },
  }
  return engine
}
