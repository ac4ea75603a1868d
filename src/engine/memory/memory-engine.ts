/**
 * The in-memory engine: a complete `InferenceEngine` with no model weights, for Node (where neither web-llm nor
 * the WebAssembly engine runs), for the compliance suite's reference run, and for tests of the layers above
 * engines (network protocol, gateway, SDK). Its output is deterministic words drawn from a seeded generator — it
 * honours every contract of the interface (streaming, abort, max_tokens, stop, usage, JSON output, determinism),
 * but it is not a language model, and says so in its model ids.
 */
import {
  isDeterministic,
  type BenchmarkOptions,
  type BenchmarkResult,
  type ChatCompletionRequest,
  type CompletionRequest,
  type GenerateOptions,
  type InferenceEngine,
  type InferenceResult,
  type LoadedModel,
  type LoadOptions,
  type ModelSpec,
  type SamplingParameters,
} from '../../core/inference.ts'
import { InvalidInferenceRequestError, ModelMismatchError, ModelNotLoadedError } from '../../core/errors/index.ts'

export type MemoryEngineOptions = {
  /** Delay per generated token, to make streaming and cancellation observable. Default 0 (as fast as possible). */
  tokenDelayMs?: number
  /** Injectable clock, for tests. */
  now?: () => number
}

const WORDS = [
  'the',
  'model',
  'node',
  'token',
  'browser',
  'network',
  'answer',
  'prompt',
  'signal',
  'price',
  'receipt',
  'gpu',
  'peer',
  'stream',
  'open',
  'fast',
]

/** Tokens are words with their leading whitespace, so counts are stable and text round-trips. */
export function memoryTokenize(text: string): string[] {
  return text.match(/\s*\S+|\s+/g) ?? []
}

export function memoryChatPrompt(messages: ChatCompletionRequest['messages']): string {
  return `${messages.map((m) => `<|${m.role}|>\n${m.content}`).join('\n')}\n<|assistant|>\n`
}

export function createMemoryEngine({
  tokenDelayMs = 0,
  now = () => performance.now(),
}: MemoryEngineOptions = {}): InferenceEngine {
  let loaded: LoadedModel | null = null

  const requireModel = (requested: string): LoadedModel => {
    if (!loaded) throw new ModelNotLoadedError()
    if (requested !== loaded.id) throw new ModelMismatchError({ requested, loaded: loaded.id })
    return loaded
  }

  async function generate(
    model: LoadedModel,
    prompt: string,
    params: SamplingParameters,
    options: GenerateOptions = {},
  ): Promise<InferenceResult> {
    const maxTokens = params.max_tokens ?? 256
    if (!Number.isInteger(maxTokens) || maxTokens < 0)
      throw new InvalidInferenceRequestError('max_tokens must be a non-negative integer.')
    if (params.response_format?.type === 'grammar')
      throw new InvalidInferenceRequestError('The in-memory engine has no grammar support.')
    const promptTokens = memoryTokenize(prompt).length
    if (promptTokens + maxTokens > model.contextLength) {
      throw new InvalidInferenceRequestError(
        `The prompt (${promptTokens} tokens) and max_tokens (${maxTokens}) exceed the context length ${model.contextLength}.`,
      )
    }
    const stops = params.stop === undefined ? [] : Array.isArray(params.stop) ? params.stop : [params.stop]
    // Greedy output depends on the prompt only; sampled output on the prompt and the seed (or the clock).
    const seed = isDeterministic(params) || params.temperature === 0 ? 0 : (params.seed ?? Math.floor(now() * 1000))
    const random = mulberry32(fnv1a(`${model.contentHash}\n${seed}\n${prompt}`))
    const json = params.response_format?.type === 'json_object'

    const started = now()
    const prefillMs = now() - started
    let text = ''
    let tokens = 0
    let finish: InferenceResult['finish_reason'] = 'length'
    const pieces = json ? jsonPieces(random, maxTokens) : null
    while (tokens < maxTokens) {
      if (options.signal?.aborted) {
        finish = 'abort'
        break
      }
      if (tokenDelayMs > 0) await sleep(tokenDelayMs, options.signal)
      else if (tokens % 64 === 63) await Promise.resolve()
      if (options.signal?.aborted) {
        finish = 'abort'
        break
      }
      const piece = pieces ? pieces[tokens] : `${tokens === 0 ? '' : ' '}${WORDS[Math.floor(random() * WORDS.length)]}`
      if (piece === undefined) {
        finish = 'stop'
        break
      }
      const candidate = text + piece
      const stopAt = firstStop(candidate, stops)
      if (stopAt !== -1) {
        const kept = candidate.slice(0, stopAt).slice(text.length)
        if (kept) options.onDelta?.({ text: kept, tokens: 1 })
        text = candidate.slice(0, stopAt)
        tokens++
        finish = 'stop'
        break
      }
      text = candidate
      tokens++
      options.onDelta?.({ text: piece, tokens: 1 })
    }
    return {
      text,
      finish_reason: finish,
      usage: { prompt_tokens: promptTokens, completion_tokens: tokens, total_tokens: promptTokens + tokens },
      timings: { prefill_ms: prefillMs, decode_ms: now() - started - prefillMs },
    }
  }

  return {
    kind: 'memory',
    async load(model: ModelSpec, options: LoadOptions = {}) {
      // There is no file to hash: the record's hash is the identity the test gives it.
      if (!model.contentHash)
        throw new InvalidInferenceRequestError(
          'The in-memory engine has no file to hash: give the model a contentHash.',
        )
      const contentHash = model.contentHash
      options.onProgress?.({ phase: 'download', progress: 1, text: 'nothing to download (in-memory engine)' })
      // Integer arithmetic on the prompt and seed: the same request always gives the same words.
      loaded = { id: model.id, contentHash, engine: 'memory', contextLength: model.contextLength, deterministic: true }
      options.onProgress?.({ phase: 'ready', progress: 1, text: 'ready' })
      return loaded
    },
    async current() {
      return loaded
    },
    async chat(request, options) {
      const model = requireModel(request.model)
      if (request.messages.length === 0) throw new InvalidInferenceRequestError('messages must not be empty.')
      return generate(model, memoryChatPrompt(request.messages), request, options)
    },
    async complete(request: CompletionRequest, options) {
      const model = requireModel(request.model)
      const prompt =
        request.suffix === undefined
          ? request.prompt
          : `<|fim_prefix|>${request.prompt}<|fim_suffix|>${request.suffix}<|fim_middle|>`
      return generate(model, prompt, request, options)
    },
    async countTokens(text) {
      return memoryTokenize(text).length
    },
    async benchmark({ promptTokens = 128, generateTokens = 64 }: BenchmarkOptions = {}): Promise<BenchmarkResult> {
      const model = requireModel(loaded?.id ?? '')
      const prompt = Array.from({ length: promptTokens }, () => ' word').join('')
      const result = await generate(model, prompt, { max_tokens: generateTokens, temperature: 0 })
      const perSecond = (count: number, ms: number) => (ms > 0 ? (count * 1000) / ms : Number.POSITIVE_INFINITY)
      return {
        prefill_tokens_per_s: perSecond(result.usage.prompt_tokens, result.timings.prefill_ms),
        decode_tokens_per_s: perSecond(result.usage.completion_tokens, result.timings.decode_ms),
        prompt_tokens: result.usage.prompt_tokens,
        generated_tokens: result.usage.completion_tokens,
      }
    },
    async unload() {
      loaded = null
    },
  }
}

function jsonPieces(random: () => number, maxTokens: number): string[] {
  const words = Array.from(
    { length: Math.max(0, maxTokens - 3) },
    (_, i) => `${i ? ' ' : ''}${WORDS[Math.floor(random() * WORDS.length)]}`,
  )
  return ['{"answer": "', ...words.slice(0, 8), '"}']
}

function firstStop(text: string, stops: readonly string[]): number {
  let at = -1
  for (const stop of stops) {
    if (!stop) continue
    const i = text.indexOf(stop)
    if (i !== -1 && (at === -1 || i < at)) at = i
  }
  return at
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
  })
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

function mulberry32(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
