/**
 * The inference vocabulary shared by engines, the network protocol, the gateway and the SDK: OpenAI-shaped
 * requests (as web-llm's are), streamed deltas, results with usage and timings, load progress, and the
 * `InferenceEngine` interface every backend implements — in its worker and, identically, as the main-thread proxy.
 */

import type { Placement } from './gpu-plan.ts'

export type ChatRole = 'system' | 'user' | 'assistant'
export type ChatMessage = { role: ChatRole; content: string }

/** A JSON Schema object, passed through to backends that can constrain output with it. */
export type JsonSchema = { readonly [key: string]: unknown }

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object'; schema?: JsonSchema }
  /** A GBNF grammar, for backends that support grammars (llama.cpp, web-llm's xgrammar). */
  | { type: 'grammar'; grammar: string }

export type SamplingParameters = {
  /** Upper bound of generated tokens; engines and servers apply their own cap too. */
  max_tokens?: number
  /** 0 means greedy (deterministic). */
  temperature?: number
  top_p?: number
  seed?: number
  stop?: string | string[]
  response_format?: ResponseFormat
}

export type ChatCompletionRequest = SamplingParameters & { model: string; messages: ChatMessage[] }

/** A text completion; with `suffix`, a fill-in-the-middle request (prompt = prefix). */
export type CompletionRequest = SamplingParameters & { model: string; prompt: string; suffix?: string }

export type InferenceRequest = ({ kind: 'chat' } & ChatCompletionRequest) | ({ kind: 'completion' } & CompletionRequest)

export type Usage = { prompt_tokens: number; completion_tokens: number; total_tokens: number }

export type FinishReason = 'stop' | 'length' | 'abort'

/** One streamed piece of output. `tokens` is how many tokens it holds (usually 1). */
export type Delta = { text: string; tokens: number }

export type InferenceResult = {
  text: string
  finish_reason: FinishReason
  usage: Usage
  /**
   * Milliseconds spent on the prompt (prefill) and on generation (decode); `prefill_tokens`, where the engine reports
   * it, is how many prompt tokens it evaluated (fewer than `usage.prompt_tokens` when a cached prefix was reused).
   */
  timings: { prefill_ms: number; decode_ms: number; prefill_tokens?: number }
}

export type GenerateOptions = {
  signal?: AbortSignal
  onDelta?: (delta: Delta) => void
  /**
   * Keep the KV cache of the previous prompt and evaluate only the tokens after the longest common prefix (engines
   * that can; others ignore it). Output may then differ from a fresh run in the last bits of the logits (the prefill
   * is split at another place), so it is a local option, never part of a request on the wire: the editor's local
   * autocomplete sets it, and a node sets it for a paid completion that does not ask to be reproducible (no seed),
   * never for one that does, nor for spot-check re-runs.
   */
  reusePrefix?: boolean
  /**
   * The party this run is for (`src/core/prefix-cache.ts`): a cached prefix is reused only by a run of the party
   * whose run filled the cache, so no one's prefill time reveals someone else's prompt. Default `local`.
   */
  cacheOwner?: string
}

export type LoadPhase = 'download' | 'compile' | 'upload' | 'ready'

/** `progress` is 0..1 within the phase; `loadedBytes`/`totalBytes` where the phase moves bytes. */
export type LoadProgress = {
  phase: LoadPhase
  progress: number
  text: string
  loadedBytes?: number
  totalBytes?: number
}

export type LoadOptions = {
  onProgress?: (progress: LoadProgress) => void
  signal?: AbortSignal
  /** CPU threads for engines that run on the CPU (wasm); others ignore it. Default: half the logical cores. */
  threads?: number
}

export type EngineKind = 'webgpu' | 'wasm' | 'memory' | 'native'

export type LoadedModel = {
  id: string
  /** keccak256 of the weights file(s) this engine loaded: what a node announces and signs. */
  contentHash: string
  engine: EngineKind
  contextLength: number
  /** CPU threads in use, for CPU engines. */
  threads?: number
  /**
   * Whether this engine reproduces its output bit for bit: the same request (temperature 0, a seed) on the same
   * model gives the same bytes every time. Only then does its node sign receipts `deterministic`, which makes two
   * different outputs for one request slashable; an engine that cannot promise it (GPU kernels whose reductions
   * run in varying order) says false, so an honest node is never slashed for its hardware.
   */
  deterministic: boolean
  /**
   * Where the layers run, for engines that can split a model between GPU and CPU (wasm: llama.cpp's WebGPU backend
   * when the adapter allows, else the CPU with the reason). Layers on a GPU make `deterministic` false.
   */
  placement?: Placement
}

export type BenchmarkOptions = { promptTokens?: number; generateTokens?: number }
export type BenchmarkResult = {
  prefill_tokens_per_s: number
  decode_tokens_per_s: number
  prompt_tokens: number
  generated_tokens: number
}

/** Deterministic mode: temperature 0 and a fixed seed; the same request on the same model gives the same output. */
export const DETERMINISTIC = { temperature: 0, seed: 0 } as const

/** Whether the request asks for reproducible output (greedy decoding and a seed); the engine must also promise it. */
export function isDeterministic(request: SamplingParameters): boolean {
  return request.temperature === 0 && request.seed !== undefined
}

/** The model record an engine loads; the full catalog record type lives in `models.ts`. */
export type ModelSpec = {
  id: string
  /**
   * The model's identity on the network (announcements, receipts, registry): keccak256 of its weights file
   * (`core/file-hash.ts`). Pinned where the catalog knows it, and then checked on load (a mismatch is
   * `ModelIntegrityError`); null where it is learned from the bytes on first download (remote GGUFs, custom models,
   * web-llm models). The loaded model's `contentHash` is always the computed one.
   */
  contentHash: string | null
  engine: EngineKind
  contextLength: number
  /** Where the weights come from (a URL, or an engine-specific id such as a web-llm prebuilt model id). */
  source: string
  /** Prompt formats; see `models.ts`. */
  chatTemplate: string
  fim?: FimFormat
}

export type FimFormat = {
  prefix: string
  suffix: string
  middle: string
  /** token(s) that end a middle */ end?: string[]
}

export interface InferenceEngine {
  readonly kind: EngineKind
  load(model: ModelSpec, options?: LoadOptions): Promise<LoadedModel>
  /** The loaded model, or null. */
  current(): Promise<LoadedModel | null>
  chat(request: ChatCompletionRequest, options?: GenerateOptions): Promise<InferenceResult>
  complete(request: CompletionRequest, options?: GenerateOptions): Promise<InferenceResult>
  countTokens(text: string): Promise<number>
  benchmark(options?: BenchmarkOptions): Promise<BenchmarkResult>
  unload(): Promise<void>
}

/** Runs either kind of request on an engine. */
export function runInference(
  engine: InferenceEngine,
  request: InferenceRequest,
  options?: GenerateOptions,
): Promise<InferenceResult> {
  const { kind, ...body } = request
  return kind === 'chat'
    ? engine.chat(body as ChatCompletionRequest, options)
    : engine.complete(body as CompletionRequest, options)
}
