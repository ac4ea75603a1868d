/**
 * The `wasm` backend: llama.cpp compiled to WebAssembly (`@wllama/wllama`, pinned), running GGUF models on the
 * CPU, for browsers without WebGPU and for CI. It runs inside our engine worker (wllama starts its own worker
 * below that). Facts this code relies on (wllama 3.8.1): one wasm for single and multi-thread; threads need
 * cross-origin isolation and an explicit `n_threads`; `n_gpu_layers: 0` keeps it on the CPU; flash attention
 * changes results between thread counts, so it stays off (every request may be a deterministic one); a load-time
 * `seed` would override per-request seeds, so none is set; there is no tokenize call, so byte-level BPE models
 * (`tokenizer.ggml.model` = gpt2) are counted by our own tokenizer (`core/bpe.ts`) and the rest by a prefill.
 *
 * Prefix reuse: llama.cpp's server keeps the KV cache of its one slot between requests; with `cache_prompt` it
 * evaluates only the tokens after the longest common prefix of the cached and the new prompt (at least the last
 * one, for its logits). That splits the prefill at another place than a fresh run does, and llama.cpp's CPU kernels
 * sum in another order for other batch shapes, so logits may differ in their last bits: a request that must be
 * bit-reproducible (a deterministic paid request, a spot-check re-run) runs without it. Reuse is therefore a local
 * `GenerateOptions.reusePrefix`, never a request field; every request without it clears the cache and prefills from
 * position 0, exactly as on a fresh load. llama.cpp's server also keeps earlier prompts' states in memory and
 * restores the best match for a reusing run, so a network party reuses only while every run since the load was its
 * own (`cacheOwner`, `src/core/prefix-cache.ts`): no consumer's prefill time reveals another's prompt. An aborted request leaves
 * what it had evaluated in the cache, so the next keystroke's request starts from there.
 *
 * GPU: wllama's build includes llama.cpp's WebGPU backend. At load the worker asks WebGPU for an adapter and
 * `gpuPlan` (core) decides how many layers go to it (`n_gpu_layers`); an adapter without `shader-f16` (SwiftShader)
 * would make the backend abort, so it is never tried. wllama's own worker asks WebGPU again, and llama.cpp quietly
 * keeps every layer on the CPU when it finds no adapter there, so a GPU load reads llama.cpp's log for what it did
 * offload. If the GPU load fails, the model loads again on the CPU and `placement.reason` says why. Layers on a GPU
 * are not bit-reproducible, so such a load is not `deterministic`.
 */
// The package's "main" points at its TypeScript sources; the built ESM bundle (with its .d.ts) is what we want.
import { Wllama, type WllamaConfig } from '@wllama/wllama/esm/index.js'
import {
  InvalidInferenceRequestError,
  InvalidModelFileError,
  ModelLoadError,
  ModelMismatchError,
  ModelNotLoadedError,
} from '../../core/errors/index.ts'
import { createBpeTokenizer, bpeVocabularyFromGguf, type BpeTokenizer } from '../../core/bpe.ts'
import { ggufValue, readGgufHeader } from '../../core/gguf.ts'
import type { WebGpuStatus } from '../../core/capabilities.ts'
import {
  gpuPlan,
  offloadFromLog,
  placementOf,
  webGpuLogLines,
  type GpuPlan,
  type LoadOutcome,
  type Placement,
} from '../../core/gpu-plan.ts'
import type {
  BenchmarkOptions,
  BenchmarkResult,
  ChatCompletionRequest,
  CompletionRequest,
  Delta,
  GenerateOptions,
  InferenceEngine,
  InferenceResult,
  LoadedModel,
  LoadOptions,
  ModelSpec,
  SamplingParameters,
} from '../../core/inference.ts'
import { buildFimPrompt } from '../../core/prompts.ts'
import { EMPTY_CACHE, prefixCacheRun, type CacheHolders } from '../../core/prefix-cache.ts'
import { benchmarkFromResult, benchmarkPrompt, serialQueue } from '../shared.ts'
import { fetchModelFile } from '../model-fetch.ts'
import type { ModelStore } from '../model-cache.ts'
import { probeCapabilities, type ProbeScope } from '../probe.ts'

export type WasmEngineOptions = {
  /** URL of wllama's wasm binary (bundled by Vite with `?url`). */
  wasmUrl: string
  /** CPU threads; default: half the logical cores the browser reports, when cross-origin isolated, else 1. */
  threads?: number
  fetch?: typeof fetch
  /** Where model files are cached by content hash; default: this browser's Cache Storage; `null`: no cache. */
  store?: ModelStore | null
  /**
   * `'auto'` (default): layers on the GPU where `gpuPlan` allows; `'cpu'`: never the GPU; `'force'`: every layer on
   * whatever adapter there is, even one the plan refuses (to prove the fallback when WebGPU fails at load).
   */
  gpu?: 'auto' | 'cpu' | 'force'
  /** Asks WebGPU for an adapter; default: this worker's own `navigator.gpu`. */
  probeWebGpu?: () => Promise<WebGpuStatus>
}

/** llama.cpp's per-request timings; `cache_n` prompt tokens came from the cache, `prompt_n` were evaluated. */
type Timings = { cache_n?: number; prompt_n?: number; prompt_ms?: number; predicted_n?: number; predicted_ms?: number }
type Usage = { prompt_tokens: number; completion_tokens: number; total_tokens: number }
type StreamChunk = {
  choices: { text?: string; delta?: { content?: string | null }; finish_reason?: string | null }[]
  usage?: Usage | null
  timings?: Timings
}

/** GBNF for "any text": every code point but NUL, so only well-formed UTF-8 can be generated. */
export const VALID_TEXT_GRAMMAR = 'root ::= [^\\x00]*'

/**
 * Prompt tokens per `llama_decode` on the CPU. wllama checks a request's abort signal between the server's steps, and
 * one step prefills up to this many tokens: with llama.cpp's default (2048) a cancelled request ran its whole prompt
 * first (measured: a 1,300-token prompt stopped 23 s after its cancel, one thread), so every keystroke's request queued
 * behind the last one's full prefill. With 32 a cancel takes effect within about half a second, what the cancelled
 * run had evaluated stays in the cache for the next keystroke's prompt, and prefill speed is unchanged (measured on a
 * 529-token prompt: 67–71 tok/s at 32 against 62–66 at 2048). On a GPU, llama.cpp's default stays (batches are cheap
 * there, and small ones would waste it).
 */
export const CPU_PREFILL_BATCH = 32

const quietLogger = {
  debug: () => {},
  log: () => {},
  warn: () => {},
  error: (...args: unknown[]) => console.error(...args),
}

export function createWasmEngine(options: WasmEngineOptions): InferenceEngine {
  let wllama: Wllama | null = null
  const serialized = serialQueue()
  let loaded:
    | (LoadedModel & {
        spec: ModelSpec
        threads: number
        placement: Placement
        tokenizer: BpeTokenizer | null
        specialTokens: number
      })
    | null = null
  /** Whose prompts llama.cpp's caches may hold (`src/core/prefix-cache.ts`): its server keeps every run's state. */
  let cacheHolders: CacheHolders = EMPTY_CACHE
  const probeWebGpu =
    options.probeWebGpu ?? (async () => (await probeCapabilities(globalThis as unknown as ProbeScope)).webgpu)

  async function planGpu(blocks: number, weightsBytes: number): Promise<GpuPlan> {
    const mode = options.gpu ?? 'auto'
    if (mode === 'cpu')
      return gpuPlan(
        { available: false, error: { name: 'Error', message: 'not asked' } },
        { blocks, weightsBytes },
        { preference: 'cpu' },
      )
    const deviceMemoryGB = (globalThis.navigator as Navigator & { deviceMemory?: number }).deviceMemory
    const plan = gpuPlan(await probeWebGpu(), { blocks, weightsBytes }, deviceMemoryGB ? { deviceMemoryGB } : {})
    return mode === 'force'
      ? { layers: plan.totalLayers, totalLayers: plan.totalLayers, ...(plan.adapter ? { adapter: plan.adapter } : {}) }
      : plan
  }

  const requireModel = (requested: string) => {
    if (!loaded || !wllama) throw new ModelNotLoadedError()
    if (requested !== loaded.id) throw new ModelMismatchError({ requested, loaded: loaded.id })
    return { model: loaded, runtime: wllama }
  }

  const generate = (...args: Parameters<typeof generateNow>) => serialized(() => generateNow(...args))

  async function generateNow(
    runtime: Wllama,
    body: { prompt: string } | { messages: ChatCompletionRequest['messages'] },
    params: SamplingParameters,
    { signal, onDelta, reusePrefix = false, cacheOwner }: GenerateOptions = {},
  ): Promise<InferenceResult> {
    // Whose prompts the caches hold decides whether this run may reuse them; this run's party is among them next.
    const claim = prefixCacheRun(cacheHolders, { reusePrefix, cacheOwner }, { keeps: 'every run' })
    cacheHolders = claim.holders
    const maxTokens = params.max_tokens ?? 256
    if (!Number.isInteger(maxTokens) || maxTokens < 0)
      throw new InvalidInferenceRequestError('max_tokens must be a non-negative integer.')
    const empty = {
      text: '',
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      timings: { prefill_ms: 0, decode_ms: 0 },
    }
    if (signal?.aborted) return { ...empty, finish_reason: 'abort' }
    const request: Record<string, unknown> = {
      ...body,
      max_tokens: maxTokens,
      temperature: params.temperature ?? 0.7,
      top_p: params.top_p ?? 1,
      // Off unless asked: see the module comment (bit-reproducible requests never reuse a cached prefix).
      cache_prompt: claim.reuse,
      timings_per_token: true,
    }
    // llama.cpp's sampler takes its seed per request; 0xFFFFFFFF asks for a random one.
    request['seed'] = params.seed ?? 0xffffffff
    if (params.stop !== undefined) request['stop'] = Array.isArray(params.stop) ? params.stop : [params.stop]
    const format = params.response_format
    if (format?.type === 'grammar') request['grammar'] = format.grammar
    else if (format?.type === 'json_object') request['json_schema'] = format.schema ?? {}
    // Unconstrained requests still get a grammar that admits any text: it keeps the sampler off tokens that would
    // make the output invalid UTF-8 (a stray continuation byte), which wllama 3.8 cannot serialize — it fails the
    // request with "Invalid typed array length: 1163217991" (its output length read back as the "GLUE" magic).
    // llama.cpp checks the grammar on the sampled token only and re-samples just when that token is refused.
    else request['grammar'] = VALID_TEXT_GRAMMAR

    let text = ''
    let tokens = 0
    let usage: Usage | null = null
    let timings: Timings = {}
    let finish: InferenceResult['finish_reason'] = 'stop'
    const onData = (chunk: StreamChunk) => {
      if (chunk.timings) timings = chunk.timings
      if (chunk.usage) usage = chunk.usage
      const choice = chunk.choices[0]
      const piece = choice?.text ?? choice?.delta?.content ?? ''
      if (choice?.finish_reason === 'length') finish = 'length'
      if (piece) {
        tokens++
        text += piece
        onDelta?.({ text: piece, tokens: 1 } satisfies Delta)
      }
    }
    const call = { ...request, stream: true as const, onData, ...(signal ? { abortSignal: signal } : {}) }
    try {
      if ('messages' in body)
        await runtime.createChatCompletion(
          call as unknown as Parameters<Wllama['createChatCompletion']>[0] & {
            stream: true
            onData: (c: unknown) => void
          },
        )
      else
        await runtime.createCompletion(
          call as unknown as Parameters<Wllama['createCompletion']>[0] & { stream: true; onData: (c: unknown) => void },
        )
    } catch (error) {
      if (!(error instanceof Error && error.name === 'AbortError'))
        throw new InvalidInferenceRequestError('The WebAssembly engine failed to run the request.', {
          cause: error,
          details: error instanceof Error ? error.message : String(error),
        })
      finish = 'abort'
    }
    const final = usage as Usage | null
    const promptTokens =
      final?.prompt_tokens ?? (timings.prompt_n !== undefined ? timings.prompt_n + (timings.cache_n ?? 0) : 0)
    const completionTokens = finish === 'abort' ? tokens : (final?.completion_tokens ?? tokens)
    if (finish !== 'abort' && completionTokens >= maxTokens) finish = 'length'
    return {
      text,
      finish_reason: finish,
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
      timings: {
        prefill_ms: timings.prompt_ms ?? 0,
        decode_ms: timings.predicted_ms ?? 0,
        ...(timings.prompt_n !== undefined ? { prefill_tokens: timings.prompt_n } : {}),
      },
    }
  }

  const engine: InferenceEngine = {
    kind: 'wasm',
    async load(spec: ModelSpec, { onProgress, signal, threads: requestedThreads }: LoadOptions = {}) {
      await engine.unload()
      // The model's identity is the keccak256 of these bytes, computed while they stream in (and checked against
      // the record's hash where it pins one).
      const { bytes, contentHash } = await fetchModelFile({
        url: spec.source,
        contentHash: spec.contentHash,
        ...(onProgress ? { onProgress } : {}),
        ...(signal ? { signal } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.store !== undefined ? { store: options.store } : {}),
      })
      const header = readGgufHeader(bytes, { totalBytes: bytes.byteLength })
      const architecture = ggufValue(header, 'general.architecture')
      if (typeof architecture !== 'string') throw new InvalidModelFileError('general.architecture is missing')
      const trainedContext = Number(ggufValue(header, `${architecture}.context_length`) ?? spec.contextLength)
      const contextLength = Math.min(spec.contextLength, trainedContext)
      const plan = await planGpu(Number(ggufValue(header, `${architecture}.block_count`) ?? 0), bytes.byteLength)
      const vocabulary = bpeVocabularyFromGguf(header)
      const tokenizer = vocabulary ? createBpeTokenizer(vocabulary) : null
      const isolated = globalThis.crossOriginIsolated === true
      // Default: half the logical cores, as wllama does. llama.cpp's threads spin at barriers, so a thread that
      // shares its core with the page or another process stalls all of them (measured: 2 threads on a busy
      // 2-core machine decoded 10x slower than 1; npm run bench:engine).
      const threads = Math.max(
        1,
        isolated ? (requestedThreads ?? options.threads ?? Math.floor((navigator.hardwareConcurrency ?? 2) / 2)) : 1,
      )
      const onGpu = plan.layers > 0 ? `, ${plan.layers}/${plan.totalLayers} layers on the GPU` : ''
      onProgress?.({
        phase: 'upload',
        progress: 0,
        text: `loading into WebAssembly memory (${threads} thread${threads > 1 ? 's' : ''}${onGpu})`,
      })
      const start = async (gpuLayers: number) => {
        // A GPU load keeps llama.cpp's load log (bounded) to learn what it offloaded; a CPU load stays silent.
        const log: string[] = []
        let loading = true
        const capture = (...args: unknown[]) => {
          const line = args.map(String).join(' ')
          if (loading && log.length < 50 && /offload|gpu/i.test(line)) log.push(line)
        }
        const logger =
          gpuLayers > 0
            ? {
                ...quietLogger,
                debug: capture,
                log: capture,
                warn: capture,
                error: (...args: unknown[]) => (loading ? capture(...args) : quietLogger.error(...args)),
              }
            : quietLogger
        const config: WllamaConfig = {
          suppressNativeLog: gpuLayers === 0,
          logger: logger as unknown as NonNullable<WllamaConfig['logger']>,
          allowOffline: true,
        }
        const runtime = new Wllama({ default: options.wasmUrl }, config)
        try {
          await runtime.loadModel([new Blob([bytes.slice().buffer])], {
            n_ctx: contextLength,
            n_threads: threads,
            n_gpu_layers: gpuLayers,
            flash_attn: false,
            n_parallel: 1,
            ...(gpuLayers === 0 ? { n_batch: CPU_PREFILL_BATCH } : {}),
          })
          return { runtime, log }
        } catch (cause) {
          await runtime.exit().catch(() => {})
          throw cause
        } finally {
          loading = false
        }
      }
      let started: Awaited<ReturnType<typeof start>>
      const outcome: LoadOutcome = {}
      try {
        started = await start(plan.layers).catch(async (cause: unknown) => {
          if (plan.layers === 0) throw cause
          // WebGPU failed to initialise (device, shaders, memory): the CPU build still runs the model.
          outcome.failure = cause instanceof Error ? cause.message : String(cause)
          onProgress?.({ phase: 'upload', progress: 0, text: `WebGPU failed (${outcome.failure}); loading on the CPU` })
          return start(0)
        })
      } catch (cause) {
        throw new ModelLoadError('The WebAssembly engine could not load the model.', {
          cause,
          details: cause instanceof Error ? cause.message : String(cause),
        })
      }
      const runtime = started.runtime
      if (plan.layers > 0 && outcome.failure === undefined) {
        outcome.offload = offloadFromLog(started.log)
        outcome.log = webGpuLogLines(started.log)
      }
      const placement = placementOf(plan, outcome)
      wllama = runtime
      // A completion's prompt_tokens include the BOS/EOS llama.cpp adds to every prompt; counts add them too, so a
      // quote counts what the request will be billed for.
      const specialTokens = (runtime.mustAddBosToken() ? 1 : 0) + (runtime.mustAddEosToken() ? 1 : 0)
      // Deterministic on the CPU: one wasm build, the CPU's IEEE arithmetic, flash attention off (so the thread count
      // does not change results), no load-time seed and no prompt cache unless a local caller asks (`reusePrefix`):
      // the same request gives the same bytes. GPU kernels promise none of that.
      const deterministic = placement.device === 'cpu'
      cacheHolders = EMPTY_CACHE
      loaded = {
        id: spec.id,
        contentHash,
        engine: 'wasm',
        contextLength,
        spec,
        threads,
        placement,
        tokenizer,
        specialTokens,
        deterministic,
      }
      onProgress?.({ phase: 'ready', progress: 1, text: 'ready' })
      return { id: spec.id, contentHash, engine: 'wasm', contextLength, threads, deterministic, placement }
    },
    async current() {
      return loaded
        ? {
            id: loaded.id,
            contentHash: loaded.contentHash,
            engine: 'wasm',
            contextLength: loaded.contextLength,
            threads: loaded.threads,
            deterministic: loaded.deterministic,
            placement: loaded.placement,
          }
        : null
    },
    async chat(request: ChatCompletionRequest, generateOptions?: GenerateOptions) {
      const { runtime } = requireModel(request.model)
      if (request.messages.length === 0) throw new InvalidInferenceRequestError('messages must not be empty.')
      return generate(runtime, { messages: request.messages }, request, generateOptions)
    },
    async complete(request: CompletionRequest, generateOptions?: GenerateOptions) {
      const { model, runtime } = requireModel(request.model)
      let prompt = request.prompt
      if (request.suffix !== undefined) {
        if (!model.spec.fim) throw new InvalidInferenceRequestError(`${model.id} has no fill-in-the-middle format.`)
        prompt = buildFimPrompt(model.spec.fim, request.prompt, request.suffix)
      }
      return generate(runtime, { prompt }, request, generateOptions)
    },
    async countTokens(text: string) {
      const { model, runtime } = requireModel(loaded?.id ?? '')
      // Counting happens on every quote request, paid or not, so it must not take a turn on the generation queue:
      // byte-level BPE is counted here, in the worker, without llama.cpp.
      if (model.tokenizer) return model.tokenizer.count(text) + model.specialTokens
      // SentencePiece and the other tokenizer models are not implemented in core (wllama 3 has no tokenize call), so
      // they are still counted by a one-token completion, which waits behind running requests.
      const result = await generate(runtime, { prompt: text }, { max_tokens: 1, temperature: 0, seed: 0 })
      return result.usage.prompt_tokens
    },
    async benchmark({ promptTokens = 128, generateTokens = 64 }: BenchmarkOptions = {}): Promise<BenchmarkResult> {
      const { runtime } = requireModel(loaded?.id ?? '')
      const prompt = benchmarkPrompt(promptTokens)
      const result = await generate(
        runtime,
        { prompt },
        { max_tokens: generateTokens, temperature: 0, seed: 0, stop: [] },
      )
      return benchmarkFromResult(result)
    },
    async unload() {
      const runtime = wllama
      wllama = null
      loaded = null
      cacheHolders = EMPTY_CACHE
      await runtime?.exit().catch(() => {})
    },
  }
  return engine
}
