/**
 * The `native` backend: llama.cpp as a Node addon (`node-llama-cpp`, pinned), running GGUF models for the server
 * node. Only node-llama-cpp's prebuilt binaries are used (`build: 'never'`): nothing compiles at install or at run
 * time. CPU by default; with `gpu: 'auto'` its CUDA or Vulkan build where one loads on this machine, and with
 * `gpu: 'cuda' | 'vulkan'` exactly that backend or a `NativeEngineUnavailableError`.
 *
 * It does what the WebAssembly engine does (`wasm/wasm-engine.ts`), request for request: the model's identity is the
 * keccak256 of the file (streamed through `core/file-hash.ts`, checked against a pinned hash before llama.cpp sees
 * the file); completion prompts are tokenized with special tokens parsed, as llama.cpp's server does; FIM prompts
 * are rendered by `core/prompts.ts` from the catalog's format; chat prompts by the chat template of the GGUF (through
 * node-llama-cpp's chat wrappers, which keep message text from being read as special tokens); sampling defaults are
 * the server's (temperature 0.7, top_k 40, top_p 1, min_p 0.05), grammars are llama.cpp's GBNF (`LlamaGrammar`);
 * generation ends at an end-of-generation token, a stop string, `max_tokens`, the context's end, or an abort.
 *
 * Threads: node-llama-cpp's default is at least 4 threads even on a 2-core machine, and llama.cpp's threads spin at
 * barriers, so an oversubscribed CPU decodes orders of magnitude slower (measured: 32 tokens of the 30M demo model
 * took 34 s with 4 threads on 2 busy cores, 0.2 s with 1 or 2). So the engine lifts node-llama-cpp's thread cap and
 * gives its context an exact count: the caller's, else `defaultNativeThreads` (half the cores, as the wasm engine).
 *
 * Determinism: on the CPU, flash attention off, one sequence and a fresh KV cache per request (unless the local
 * caller asks for `reusePrefix`, see `GenerateOptions`), the same request gives the same bytes, as in the wasm
 * engine. Any GPU backend gives no such promise (kernels whose reductions run in varying order, and llama.cpp may
 * move CPU-resident work to the GPU), so a load with a GPU backend is never `deterministic`, whatever the layers.
 */
import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  getLlama,
  LlamaLogLevel,
  resolveChatWrapper,
  type ChatHistoryItem,
  type ChatWrapper,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaGrammar,
  LlamaGrammarEvaluationState,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp'
import {
  InferenceAbortedError,
  InvalidInferenceRequestError,
  InvalidModelFileError,
  ModelFileNotFoundError,
  ModelIntegrityError,
  ModelLoadError,
  ModelMismatchError,
  ModelNotLoadedError,
  NativeEngineUnavailableError,
} from '../../core/errors/index.ts'
import { createFileHasher } from '../../core/file-hash.ts'
import { GGUF_MAGIC } from '../../core/gguf.ts'
import type {
  BenchmarkOptions,
  BenchmarkResult,
  ChatCompletionRequest,
  CompletionRequest,
  FinishReason,
  GenerateOptions,
  InferenceEngine,
  InferenceResult,
  LoadedModel,
  LoadOptions,
  ModelSpec,
  ResponseFormat,
  SamplingParameters,
} from '../../core/inference.ts'
import { EMPTY_CACHE, prefixCacheRun, type CacheHolders } from '../../core/prefix-cache.ts'
import { buildFimPrompt } from '../../core/prompts.ts'
import { createStopMatcher, stopStrings } from '../../core/stop-strings.ts'
import { benchmarkFromResult, benchmarkPrompt, serialQueue } from '../shared.ts'

/** `false`: the CPU build; `'auto'`: CUDA or Vulkan where a prebuilt binary loads, else the CPU; a name: that one. */
export type NativeGpu = false | 'auto' | 'cuda' | 'vulkan'
export type NativeBackend = 'cpu' | 'cuda' | 'vulkan' | 'metal'

export type NativeEngineOptions = {
  /** Default `false` (CPU). */
  gpu?: NativeGpu
  /** CPU threads; default `defaultNativeThreads` (half the cores). `LoadOptions.threads` wins. */
  threads?: number
  /** Prompt tokens evaluated per batch; default 512 (llama.cpp's). */
  batchSize?: number
  /** Most compiled grammars kept for reuse (templates repeat); default 32. */
  grammarCacheSize?: number
  /**
   * Content hashes already computed, by file fingerprint (path, size, inode, mtime, ctime: any write changes it), so a
   * restarted node does not hash gigabytes again (keccak256 in JS runs at tens of MB/s). Default: none, always hash.
   */
  knownHashes?: KnownHashes
}

export type KnownHashes = {
  get(fingerprint: string): string | undefined | Promise<string | undefined>
  set(fingerprint: string, contentHash: string): unknown
}

export type NativeLoadedModel = LoadedModel & {
  engine: 'native'
  /** The llama.cpp build in use. */
  backend: NativeBackend
  /** What the node announces as its engine: `native` on the CPU, `native+cuda`, `native+vulkan`. */
  engineName: string
  /** Layers llama.cpp put on the GPU (0 on the CPU build). */
  gpuLayers: number
  /** The file loaded, resolved. */
  path: string
}

export type NativeEngine = Omit<InferenceEngine, 'kind' | 'load' | 'current'> & {
  readonly kind: 'native'
  load(model: ModelSpec, options?: LoadOptions): Promise<NativeLoadedModel>
  current(): Promise<NativeLoadedModel | null>
  /** Unloads the model and releases llama.cpp (its backend and threads); the engine can load again after. */
  close(): Promise<void>
}

/** The engine name a node announces for a backend. */
export function nativeEngineName(backend: NativeBackend): string {
  return backend === 'cpu' ? 'native' : `native+${backend}`
}

/** llama.cpp's server defaults, which the wasm engine gets too. */
const DEFAULT_TEMPERATURE = 0.7
const DEFAULT_TOP_K = 40
const DEFAULT_MIN_P = 0.05
const DEFAULT_MAX_TOKENS = 256
/** Tokens a streamed piece may wait for the rest of a UTF-8 character split across tokens. */
const MAX_PENDING_TOKENS = 4
const HASH_CHUNK_BYTES = 4 << 20

type Loaded = NativeLoadedModel & {
  spec: ModelSpec
  model: LlamaModel
  context: LlamaContext
  sequence: LlamaContextSequence
  chatWrapper: ChatWrapper | null
  addBos: boolean
  batchSize: number
  /** Whose prompt the sequence's KV cache holds (`src/core/prefix-cache.ts`): the last run's. */
  cacheHolders: CacheHolders
}

export function createNativeEngine(options: NativeEngineOptions = {}): NativeEngine {
  const gpu = options.gpu ?? false
  const serialized = serialQueue()
  const grammars = new Map<string, Promise<LlamaGrammar>>()
  let llamaPromise: Promise<Llama> | null = null
  let loaded: Loaded | null = null

  function llama(): Promise<Llama> {
    llamaPromise ??= startLlama(gpu).catch((error: unknown) => {
      llamaPromise = null
      throw error
    })
    return llamaPromise
  }

  const requireModel = (requested: string): Loaded => {
    if (!loaded) throw new ModelNotLoadedError()
    if (requested !== loaded.id) throw new ModelMismatchError({ requested, loaded: loaded.id })
    return loaded
  }

  function grammarFor(runtime: Llama, format: ResponseFormat | undefined): Promise<LlamaGrammar> | null {
    if (!format || format.type === 'text') return null
    const key = format.type === 'grammar' ? `g:${format.grammar}` : `j:${JSON.stringify(format.schema ?? null)}`
    const cached = grammars.get(key)
    if (cached) {
      // Most recently used last, so the oldest is dropped first.
      grammars.delete(key)
      grammars.set(key, cached)
      return cached
    }
    const compiled = (async () => {
      try {
        if (format.type === 'grammar') return await runtime.createGrammar({ grammar: format.grammar })
        if (format.schema === undefined) return await runtime.getGrammarFor('json')
        return await runtime.createGrammarForJsonSchema(
          format.schema as Parameters<Llama['createGrammarForJsonSchema']>[0],
        )
      } catch (cause) {
        grammars.delete(key)
        throw new InvalidInferenceRequestError('The response_format cannot be compiled into a llama.cpp grammar.', {
          cause,
          details: cause instanceof Error ? cause.message : String(cause),
        })
      }
    })()
    grammars.set(key, compiled)
    while (grammars.size > (options.grammarCacheSize ?? 32)) grammars.delete(grammars.keys().next().value as string)
    return compiled
  }

  async function generateNow(
    model: Loaded,
    prompt: Token[],
    params: SamplingParameters,
    { signal, onDelta, reusePrefix: asked = false, cacheOwner }: GenerateOptions = {},
  ): Promise<InferenceResult> {
    // The model may have been unloaded or replaced while this request waited its turn.
    if (loaded !== model) throw new ModelNotLoadedError(`${model.id} was unloaded before the request ran`)
    // Reuse needs the cache to hold this party's prompt (`src/core/prefix-cache.ts`); this run's party holds it next.
    const claim = prefixCacheRun(model.cacheHolders, { reusePrefix: asked, cacheOwner }, { keeps: 'last run' })
    model.cacheHolders = claim.holders
    const reusePrefix = claim.reuse
    const maxTokens = params.max_tokens ?? DEFAULT_MAX_TOKENS
    if (!Number.isInteger(maxTokens) || maxTokens < 0)
      throw new InvalidInferenceRequestError('max_tokens must be a non-negative integer.')
    const temperature = params.temperature ?? DEFAULT_TEMPERATURE
    if (!(temperature >= 0)) throw new InvalidInferenceRequestError('temperature must be a non-negative number.')
    if (params.top_p !== undefined && !(params.top_p > 0 && params.top_p <= 1))
      throw new InvalidInferenceRequestError('top_p must be in (0, 1].')
    const topK = (params as { top_k?: number }).top_k ?? DEFAULT_TOP_K
    if (!Number.isInteger(topK) || topK < 0)
      throw new InvalidInferenceRequestError('top_k must be a non-negative integer.')
    // uint32, as llama.cpp's sampler reads it (0xFFFFFFFF there means "a random seed").
    if (params.seed !== undefined && !(Number.isInteger(params.seed) && params.seed >= 0 && params.seed <= 0xffffffff))
      throw new InvalidInferenceRequestError('seed must be an integer in 0..4294967295.')
    if (prompt.length === 0) throw new InvalidInferenceRequestError('The prompt is empty.')
    if (prompt.length >= model.contextLength)
      throw new InvalidInferenceRequestError(
        `The prompt (${prompt.length} tokens) does not fit the context length ${model.contextLength}.`,
      )
    const usage = (completion: number) => ({
      prompt_tokens: prompt.length,
      completion_tokens: completion,
      total_tokens: prompt.length + completion,
    })
    if (signal?.aborted)
      return { text: '', finish_reason: 'abort', usage: usage(0), timings: { prefill_ms: 0, decode_ms: 0 } }
    const grammar = await grammarFor(model.model.llama, params.response_format)
    if (maxTokens === 0)
      return { text: '', finish_reason: 'length', usage: usage(0), timings: { prefill_ms: 0, decode_ms: 0 } }

    const { sequence } = model
    const started = performance.now()
    // Reuse keeps the KV cache up to the longest common prefix (always evaluating the last prompt token, for its
    // logits); every other request starts from an empty cache, exactly as after a fresh load.
    let reused: number
    let evaluatedTo: number
    try {
      if (reusePrefix) await sequence.adaptStateToTokens(prompt.slice(0, -1), false)
      else await sequence.clearHistory()
      reused = reusePrefix ? Math.min(sequence.nextTokenIndex, prompt.length - 1) : 0
      // A long prompt is evaluated a batch at a time, so an abort stops it between batches rather than after all of them.
      evaluatedTo = reused
      while (prompt.length - evaluatedTo > model.batchSize) {
        if (signal?.aborted)
          return {
            text: '',
            finish_reason: 'abort',
            usage: usage(0),
            timings: { prefill_ms: performance.now() - started, decode_ms: 0, prefill_tokens: evaluatedTo - reused },
          }
        await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(evaluatedTo, evaluatedTo + model.batchSize))
        evaluatedTo += model.batchSize
      }
    } catch (cause) {
      throw new InvalidInferenceRequestError('The native engine failed to evaluate the prompt.', {
        cause,
        details: cause instanceof Error ? cause.message : String(cause),
      })
    }
    const limit = Math.min(maxTokens, model.contextLength - prompt.length)

    const stops = createStopMatcher(stopStrings(params.stop))
    const generated: Token[] = []
    let emittedUpTo = 0 // tokens whose text has gone to the stop matcher
    let tokensOwed = 0 // tokens not yet reported in a delta
    let text = ''
    let finish: FinishReason = 'length'
    let stoppedByString = false
    let firstTokenAt: number | null = null
    const release = (piece: string) => {
      if (piece === '' && tokensOwed === 0) return
      text += piece
      onDelta?.({ text: piece, tokens: tokensOwed })
      tokensOwed = 0
    }
    // A byte-level token may end inside a UTF-8 character; its text waits (a few tokens at most) for the rest.
    const decodePending = (force: boolean) => {
      const pending = generated.slice(emittedUpTo)
      if (pending.length === 0) return
      const context = emittedUpTo > 0 ? generated.slice(Math.max(0, emittedUpTo - 4), emittedUpTo) : prompt.slice(-4)
      const piece = model.model.detokenize(pending, false, context)
      if (!force && piece.endsWith('\uFFFD') && pending.length < MAX_PENDING_TOKENS) return
      emittedUpTo = generated.length
      tokensOwed += pending.length
      const scan = stops.push(piece)
      stoppedByString = scan.stopped
      // Text held back as a possible stop string keeps its tokens owed until it is released.
      if (scan.text !== '') release(scan.text)
    }

    const evaluation = sequence.evaluate(prompt.slice(evaluatedTo), {
      temperature,
      topK,
      topP: params.top_p ?? 1,
      minP: DEFAULT_MIN_P,
      // node-llama-cpp falls back to the clock when no seed is given: a random one, as llama.cpp's server does.
      ...(params.seed !== undefined ? { seed: params.seed } : {}),
      ...(grammar ? { grammarEvaluationState: new LlamaGrammarEvaluationState({ model: model.model, grammar }) } : {}),
    })
    try {
      while (generated.length < limit) {
        if (signal?.aborted) {
          finish = 'abort'
          break
        }
        const next = await evaluation.next()
        firstTokenAt ??= performance.now()
        if (next.done) {
          finish = 'stop' // an end-of-generation token (a grammar that is complete allows only those)
          break
        }
        generated.push(next.value)
        decodePending(false)
        if (stoppedByString) break
      }
      if (finish === 'length' && signal?.aborted) finish = 'abort'
    } catch (cause) {
      throw new InvalidInferenceRequestError('The native engine failed to run the request.', {
        cause,
        details: cause instanceof Error ? cause.message : String(cause),
      })
    } finally {
      await evaluation.return()
    }
    if (!stoppedByString) decodePending(true)
    if (stoppedByString) finish = 'stop'
    else release(stops.flush())
    // Every generated token is reported in some delta, also those of a stop string (an empty last delta).
    release('')
    const ended = performance.now()
    const decodeFrom = firstTokenAt ?? ended
    return {
      text,
      finish_reason: finish,
      usage: usage(generated.length),
      timings: {
        prefill_ms: decodeFrom - started,
        decode_ms: ended - decodeFrom,
        prefill_tokens: prompt.length - reused,
      },
    }
  }

  const generate = (model: Loaded, prompt: Token[], params: SamplingParameters, generateOptions?: GenerateOptions) =>
    serialized(() => generateNow(model, prompt, params, generateOptions))

  const tokenizeCompletion = (model: Loaded, text: string): Token[] => {
    // As llama.cpp's server: special tokens written in a completion prompt are those tokens (FIM markers).
    const tokens = model.model.tokenize(text, true)
    return model.addBos && model.model.tokens.bos !== null ? [model.model.tokens.bos, ...tokens] : tokens
  }

  const publicView = (model: Loaded): NativeLoadedModel => ({
    id: model.id,
    contentHash: model.contentHash,
    engine: 'native',
    contextLength: model.contextLength,
    threads: model.threads ?? 1,
    deterministic: model.deterministic,
    backend: model.backend,
    engineName: model.engineName,
    gpuLayers: model.gpuLayers,
    path: model.path,
    ...(model.placement ? { placement: model.placement } : {}),
  })

  const engine: NativeEngine = {
    kind: 'native',
    async load(spec: ModelSpec, { onProgress, signal, threads: requestedThreads }: LoadOptions = {}) {
      await engine.unload()
      const path = modelPath(spec.source)
      const contentHash = await hashModelFile(path, spec.contentHash, {
        ...(onProgress ? { onProgress } : {}),
        ...(signal ? { signal } : {}),
        ...(options.knownHashes ? { knownHashes: options.knownHashes } : {}),
      })
      const runtime = await llama()
      const backend: NativeBackend = runtime.gpu === false ? 'cpu' : runtime.gpu
      const threads = Math.max(1, Math.floor(requestedThreads ?? options.threads ?? defaultThreads(runtime)))
      onProgress?.({
        phase: 'upload',
        progress: 0,
        text: `loading with llama.cpp (${nativeEngineName(backend)}, ${threads} thread${threads > 1 ? 's' : ''})`,
      })
      let model: LlamaModel | undefined
      try {
        model = await runtime.loadModel({
          modelPath: path,
          gpuLayers: backend === 'cpu' ? 0 : 'auto',
          ...(signal ? { loadSignal: signal } : {}),
          onLoadProgress: (progress) => onProgress?.({ phase: 'upload', progress, text: 'loading weights' }),
        })
        const contextLength = Math.max(1, Math.min(spec.contextLength, model.trainContextSize))
        const context = await model.createContext({
          contextSize: contextLength,
          batchSize: Math.min(options.batchSize ?? 512, contextLength),
          sequences: 1,
          threads: { ideal: threads, min: threads },
          // Flash attention changes results with the thread count; every request may be a deterministic one.
          flashAttention: false,
        })
        const sequence = context.getSequence()
        const gpuLayers = model.gpuLayers
        const deterministic = backend === 'cpu'
        loaded = {
          cacheHolders: EMPTY_CACHE,
          id: spec.id,
          contentHash,
          engine: 'native',
          contextLength: context.contextSize,
          threads,
          deterministic,
          backend,
          engineName: nativeEngineName(backend),
          gpuLayers,
          path,
          placement: {
            device: gpuLayers > 0 ? 'gpu' : 'cpu',
            layers: gpuLayers,
            totalLayers: model.fileInsights.totalLayers,
            ...(gpuLayers > 0
              ? {}
              : {
                  reason:
                    backend === 'cpu'
                      ? 'the CPU build of llama.cpp was asked for'
                      : 'llama.cpp put no layer on the GPU',
                }),
          },
          spec,
          model,
          context,
          sequence,
          chatWrapper: resolveChatWrapper(model),
          addBos: model.tokens.shouldPrependBosToken,
          batchSize: context.batchSize,
        }
      } catch (cause) {
        await model?.dispose().catch(() => {})
        if (signal?.aborted) throw new InferenceAbortedError('loading the model was cancelled')
        throw new ModelLoadError('The native engine could not load the model.', {
          cause,
          details: cause instanceof Error ? cause.message : String(cause),
        })
      }
      onProgress?.({ phase: 'ready', progress: 1, text: 'ready' })
      return publicView(loaded)
    },
    async current() {
      return loaded ? publicView(loaded) : null
    },
    async chat(request: ChatCompletionRequest, generateOptions?: GenerateOptions) {
      const model = requireModel(request.model)
      if (request.messages.length === 0) throw new InvalidInferenceRequestError('messages must not be empty.')
      if (!model.chatWrapper)
        throw new InvalidInferenceRequestError(`${model.id} has no chat template that the native engine knows.`)
      const history: ChatHistoryItem[] = request.messages.map((m) =>
        m.role === 'assistant' ? { type: 'model', response: [m.content] } : { type: m.role, text: m.content },
      )
      history.push({ type: 'model', response: [] })
      let tokens: Token[]
      try {
        tokens = model.chatWrapper
          .generateContextState({ chatHistory: history })
          .contextText.tokenize(model.model.tokenizer)
      } catch (cause) {
        throw new InvalidInferenceRequestError(`The chat template of ${model.id} could not render these messages.`, {
          cause,
          details: cause instanceof Error ? cause.message : String(cause),
        })
      }
      // Chat wrappers open with BOS; a model whose GGUF says not to add one (ours) gets the template's text only.
      if (!model.addBos && tokens[0] === model.model.tokens.bos) tokens.shift()
      return generate(model, tokens, request, generateOptions)
    },
    async complete(request: CompletionRequest, generateOptions?: GenerateOptions) {
      const model = requireModel(request.model)
      let prompt = request.prompt
      if (request.suffix !== undefined) {
        if (!model.spec.fim) throw new InvalidInferenceRequestError(`${model.id} has no fill-in-the-middle format.`)
        prompt = buildFimPrompt(model.spec.fim, request.prompt, request.suffix)
      }
      return generate(model, tokenizeCompletion(model, prompt), request, generateOptions)
    },
    async countTokens(text: string) {
      const model = requireModel(loaded?.id ?? '')
      // The tokenizer is llama.cpp's own and runs outside the generation queue: quotes never wait behind requests.
      return tokenizeCompletion(model, text).length
    },
    async benchmark({ promptTokens = 128, generateTokens = 64 }: BenchmarkOptions = {}): Promise<BenchmarkResult> {
      const model = requireModel(loaded?.id ?? '')
      const prompt = tokenizeCompletion(model, benchmarkPrompt(promptTokens))
      return benchmarkFromResult(
        await generate(model, prompt, { max_tokens: generateTokens, temperature: 0, seed: 0, stop: [] }),
      )
    },
    async unload() {
      const model = loaded
      loaded = null
      if (!model) return
      // Wait for the running request, so llama.cpp never frees a context under it.
      await serialized(async () => {
        await model.context.dispose().catch(() => {})
        await model.model.dispose().catch(() => {})
      })
    },
    async close() {
      await engine.unload()
      grammars.clear()
      const runtime = llamaPromise
      llamaPromise = null
      await runtime?.then((l) => l.dispose()).catch(() => {})
    },
  }
  return engine
}

async function startLlama(gpu: NativeGpu): Promise<Llama> {
  const backend = gpu === false ? 'cpu' : gpu
  let runtime: Llama
  try {
    runtime = await getLlama({
      build: 'never',
      gpu,
      // No cap from node-llama-cpp: each context gets exactly the threads the engine gives it (see the module comment).
      maxThreads: 0,
      logLevel: LlamaLogLevel.error,
      progressLogs: false,
    })
  } catch (cause) {
    throw new NativeEngineUnavailableError({
      backend,
      details: cause instanceof Error ? cause.message : String(cause),
      cause,
    })
  }
  if (gpu !== false && gpu !== 'auto' && runtime.gpu !== gpu) {
    await runtime.dispose().catch(() => {})
    throw new NativeEngineUnavailableError({
      backend,
      details: `node-llama-cpp loaded the ${runtime.gpu === false ? 'CPU' : runtime.gpu} build instead`,
    })
  }
  return runtime
}

/**
 * Half the cores this process may use, at most node-llama-cpp's math cores: the physical cores on a machine with two
 * hardware threads per core, and on a small VM one core left for the node itself (a llama.cpp thread that shares its
 * core with anything else stalls the others at every barrier). The wasm engine's default, for the same reason.
 */
export function defaultNativeThreads(cpuMathCores: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(cpuMathCores, Math.floor(cores / 2)))
}

function defaultThreads(runtime: Llama): number {
  return defaultNativeThreads(runtime.cpuMathCores)
}

/** A model's `source` as a file path: a path, or a `file:` URL. Other URLs are for the browser engines. */
export function modelPath(source: string): string {
  if (source.startsWith('file:')) return fileURLToPath(source)
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    throw new ModelLoadError(
      'The native engine loads model files from this machine. Download the file and give its path.',
      { details: source },
    )
  }
  return resolve(source)
}

/**
 * Streams the file through keccak256 and checks it against the pinned hash, before llama.cpp reads it. Also checks
 * that it is a GGUF file at all, so a wrong file is a typed error rather than llama.cpp's failure.
 */
async function hashModelFile(
  path: string,
  pinned: string | null,
  { onProgress, signal, knownHashes }: Pick<LoadOptions, 'onProgress' | 'signal'> & { knownHashes?: KnownHashes },
): Promise<string> {
  const stats = await stat(path).catch(() => null)
  if (!stats?.isFile()) throw new ModelFileNotFoundError({ path })
  const size = stats.size
  const fingerprint = [path, size, stats.ino, stats.mtimeMs, stats.ctimeMs].join('\u0000')
  const known = await knownHashes?.get(fingerprint)
  const head = new Uint8Array(4)
  const handle = await open(path, 'r')
  try {
    await handle.read(head, 0, 4, 0)
  } finally {
    await handle.close()
  }
  if (size < 4 || new DataView(head.buffer).getUint32(0, true) !== GGUF_MAGIC)
    throw new InvalidModelFileError(`${path} does not start with the GGUF magic`)
  if (known !== undefined) return checkPinned(known, pinned, path)
  const hasher = createFileHasher()
  const text = `checking ${path}`
  try {
    for await (const chunk of createReadStream(path, {
      highWaterMark: HASH_CHUNK_BYTES,
      ...(signal ? { signal } : {}),
    }) as AsyncIterable<Buffer>) {
      hasher.update(chunk)
      onProgress?.({
        phase: 'download',
        progress: size ? hasher.bytes / size : 1,
        text,
        loadedBytes: hasher.bytes,
        totalBytes: size,
      })
    }
  } catch (cause) {
    if (signal?.aborted) throw new InferenceAbortedError('loading the model was cancelled')
    throw new ModelLoadError('The model file could not be read.', {
      cause,
      details: `${path}: ${cause instanceof Error ? cause.message : String(cause)}`,
    })
  }
  if (signal?.aborted) throw new InferenceAbortedError('loading the model was cancelled')
  const actual = hasher.digest()
  await knownHashes?.set(fingerprint, actual)
  return checkPinned(actual, pinned, path)
}

function checkPinned(actual: string, pinned: string | null, path: string): string {
  if (pinned !== null && actual !== pinned.toLowerCase())
    throw new ModelIntegrityError({ expected: pinned.toLowerCase(), actual, url: path })
  return actual
}
