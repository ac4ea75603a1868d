/**
 * The two halves that put an `InferenceEngine` in a worker. `hostEngine` (worker side) wraps an engine in a
 * comlink-friendly API: callbacks arrive as comlink proxies and an AbortSignal, which cannot cross, becomes a
 * request id plus an `abort(id)` call. `createEngineProxy` (main thread) turns that API back into an
 * `InferenceEngine`, so callers cannot tell the proxy from the engine. Errors cross intact through
 * `installErrorTransfer`.
 */
import { proxy, wrap, type Remote } from 'comlink'
import type {
  BenchmarkOptions,
  BenchmarkResult,
  ChatCompletionRequest,
  CompletionRequest,
  Delta,
  EngineKind,
  GenerateOptions,
  InferenceEngine,
  InferenceResult,
  LoadedModel,
  LoadProgress,
  ModelSpec,
} from '../core/inference.ts'
import { installErrorTransfer } from './worker-errors.ts'

export type EngineWorkerApi = {
  kind(): EngineKind
  load(model: ModelSpec, onProgress?: (progress: LoadProgress) => void, threads?: number): Promise<LoadedModel>
  cancelLoad(): void
  current(): Promise<LoadedModel | null>
  chat(
    id: number,
    request: ChatCompletionRequest,
    onDelta?: (delta: Delta) => void,
    cache?: CacheOptions,
  ): Promise<InferenceResult>
  complete(
    id: number,
    request: CompletionRequest,
    onDelta?: (delta: Delta) => void,
    cache?: CacheOptions,
  ): Promise<InferenceResult>
  abort(id: number): void
  countTokens(text: string): Promise<number>
  benchmark(options?: BenchmarkOptions): Promise<BenchmarkResult>
  unload(): Promise<void>
}

/** The KV-cache options of a generation, as they cross the worker boundary. */
export type CacheOptions = Pick<GenerateOptions, 'reusePrefix' | 'cacheOwner'>

/** Only the options that are set (an explicit undefined would not survive exactOptionalPropertyTypes). */
const cacheOptions = ({ reusePrefix, cacheOwner }: CacheOptions = {}): CacheOptions => ({
  ...(reusePrefix ? { reusePrefix } : {}),
  ...(cacheOwner !== undefined ? { cacheOwner } : {}),
})

export function hostEngine(engine: InferenceEngine): EngineWorkerApi {
  const running = new Map<number, AbortController>()
  // An abort can arrive before its request (the caller's signal fired at once); comlink keeps message order.
  const abortedEarly = new Set<number>()
  let loading: AbortController | null = null
  const run = async <T>(id: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const controller = new AbortController()
    if (abortedEarly.delete(id)) controller.abort()
    running.set(id, controller)
    try {
      return await fn(controller.signal)
    } finally {
      running.delete(id)
    }
  }
  return {
    kind: () => engine.kind,
    async load(model, onProgress, threads) {
      loading = new AbortController()
      try {
        return await engine.load(model, {
          signal: loading.signal,
          ...(onProgress ? { onProgress } : {}),
          ...(threads ? { threads } : {}),
        })
      } finally {
        loading = null
      }
    },
    cancelLoad: () => loading?.abort(),
    current: () => engine.current(),
    chat: (id, request, onDelta, cache) =>
      run(id, (signal) =>
        delivered(onDelta, (options) => engine.chat(request, { signal, ...options, ...cacheOptions(cache) })),
      ),
    complete: (id, request, onDelta, cache) =>
      run(id, (signal) =>
        delivered(onDelta, (options) => engine.complete(request, { signal, ...options, ...cacheOptions(cache) })),
      ),
    abort: (id) => {
      const controller = running.get(id)
      if (controller) controller.abort()
      else abortedEarly.add(id)
    },
    countTokens: (text) => engine.countTokens(text),
    benchmark: (options) => engine.benchmark(options),
    unload: () => engine.unload(),
  }
}

/**
 * Runs a generation whose deltas go to a comlink callback, and returns only after the main thread has received
 * every delta: callbacks travel on their own MessagePort, so without this the result could overtake the last
 * deltas. Calls on one port arrive in order, so waiting for the last one is enough.
 */
async function delivered<T>(
  onDelta: ((delta: Delta) => void) | undefined,
  generate: (options: { onDelta?: (delta: Delta) => void }) => Promise<T>,
): Promise<T> {
  if (!onDelta) return generate({})
  let last: unknown = undefined
  const result = await generate({ onDelta: (delta) => (last = onDelta(delta)) })
  await last
  return result
}

export type EngineProxy = InferenceEngine & { terminate(): void }

/** Wraps a worker that exposes `hostEngine(...)`. `kind` is given so the proxy is usable before any round trip. */
export function createEngineProxy(worker: Worker, kind: EngineKind): EngineProxy {
  installErrorTransfer()
  const remote: Remote<EngineWorkerApi> = wrap<EngineWorkerApi>(worker)
  let nextId = 1
  const generate = async (
    method: 'chat' | 'complete',
    request: ChatCompletionRequest | CompletionRequest,
    { signal, onDelta, ...cache }: GenerateOptions = {},
  ): Promise<InferenceResult> => {
    const id = nextId++
    const onAbort = () => void remote.abort(id)
    if (signal?.aborted) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
    try {
      const callback = onDelta ? proxy(onDelta) : undefined
      return method === 'chat'
        ? await remote.chat(id, request as ChatCompletionRequest, callback, cacheOptions(cache))
        : await remote.complete(id, request as CompletionRequest, callback, cacheOptions(cache))
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }
  return {
    kind,
    async load(model, { onProgress, signal, threads } = {}) {
      const onAbort = () => void remote.cancelLoad()
      signal?.addEventListener('abort', onAbort, { once: true })
      try {
        return await remote.load(model, onProgress ? proxy(onProgress) : undefined, threads)
      } finally {
        signal?.removeEventListener('abort', onAbort)
      }
    },
    current: () => remote.current(),
    chat: (request, options) => generate('chat', request, options),
    complete: (request, options) => generate('complete', request, options),
    countTokens: (text) => remote.countTokens(text),
    benchmark: (options) => remote.benchmark(options),
    unload: () => remote.unload(),
    terminate: () => worker.terminate(),
  }
}
