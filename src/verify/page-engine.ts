/**
 * The app's WebAssembly engine (wllama, in a worker of a headless Chromium page) as an `InferenceEngine` for Node
 * programs: a verifier re-running answers on the same build as browser nodes, and benchmarks that run real nodes in
 * Node. Each engine is one page of a shared browser; deltas stream back as they are generated; an abort signal
 * stops the run in the page. Errors keep their name across the page boundary.
 */
import type { Browser, Page } from 'playwright-core'
import { deserializeError, type Attempt } from '../core/errors/index.ts'
import type {
  BenchmarkOptions,
  BenchmarkResult,
  ChatCompletionRequest,
  CompletionRequest,
  GenerateOptions,
  InferenceEngine,
  InferenceRequest,
  InferenceResult,
  LoadedModel,
  LoadOptions,
  ModelSpec,
} from '../core/inference.ts'

export type PageEngine = InferenceEngine & { readonly page: Page; close(): Promise<void> }

export async function createPageEngine({
  browser,
  baseUrl,
}: {
  browser: Browser
  baseUrl: string
}): Promise<PageEngine> {
  const page = await browser.newPage()
  const listeners = new Map<number, (text: string, tokens: number) => void>()
  await page.exposeFunction('modelexDelta', (id: number, text: string, tokens: number) =>
    listeners.get(id)?.(text, tokens),
  )
  await page.goto(new URL('src/verify/fixtures/engine-host.html', baseUrl).toString())
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 })
  let nextId = 1

  async function call<T>(method: string, ...args: unknown[]): Promise<T> {
    const result = (await page.evaluate(
      ([m, a]) =>
        (window as unknown as { host: Record<string, (...x: unknown[]) => unknown> }).host[m as string]!(
          ...(a as unknown[]),
        ),
      [method, args] as const,
    )) as Attempt<T>
    if (!result.ok) throw deserializeError(result.error)
    return result.value
  }

  async function run(request: InferenceRequest, options: GenerateOptions = {}): Promise<InferenceResult> {
    const id = nextId++
    if (options.onDelta) listeners.set(id, (text, tokens) => options.onDelta?.({ text, tokens }))
    const abort = () =>
      void page
        .evaluate((i) => (window as unknown as { host: { abort(i: number): void } }).host.abort(i), id)
        .catch(() => {})
    if (options.signal?.aborted) abort()
    else options.signal?.addEventListener('abort', abort, { once: true })
    // The KV-cache options cross to the page (a node's paid completions may reuse its cache, see core/prefix-cache.ts).
    const cache = {
      ...(options.reusePrefix ? { reusePrefix: true } : {}),
      ...(options.cacheOwner !== undefined ? { cacheOwner: options.cacheOwner } : {}),
    }
    try {
      return await call<InferenceResult>('run', id, request, cache)
    } finally {
      listeners.delete(id)
      options.signal?.removeEventListener('abort', abort)
    }
  }

  return {
    kind: 'wasm',
    page,
    load: (model: ModelSpec, options: LoadOptions = {}) => call<LoadedModel>('load', model, options.threads),
    current: () => call<LoadedModel | null>('current'),
    chat: (request: ChatCompletionRequest, options?: GenerateOptions) => run({ kind: 'chat', ...request }, options),
    complete: (request: CompletionRequest, options?: GenerateOptions) =>
      run({ kind: 'completion', ...request }, options),
    countTokens: (text: string) => call<number>('countTokens', text),
    benchmark: (options?: BenchmarkOptions) => call<BenchmarkResult>('benchmark', options ?? {}),
    unload: () => call<void>('unload'),
    close: () => page.close(),
  }
}
