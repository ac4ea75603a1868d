import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Attempt, SerializedError } from '../../core/errors/index.ts'
import type { InferenceResult } from '../../core/inference.ts'
import { DEMO_MODELS } from '../../core/models.ts'
import { launchChromium } from '../../server/lib/chromium.ts'
import type { WatchedPage } from '../../server/testing/browser.ts'
import { openFixture } from '../../server/testing/fixture-page.ts'
import { complianceChecks } from '../compliance.ts'

type Completion = { result: InferenceResult; deltas: string[] }

/**
 * The tiny generated model's greedy continuation of "def add(a, b):" (32 tokens). Its text means nothing; what
 * matters is that it never changes: a change means the generator, the tokenizer or the engine changed behaviour.
 */
const EXPECTED_32 = ' +value it": ifvalue it":value it\\acI +value it\\acI +value it\\value it":value it\\value it":'
const GREEDY = { prompt: 'def add(a, b):', max_tokens: 32, temperature: 0, seed: 0 }

async function call<T>(page: Page, expression: string): Promise<T> {
  const attempt = (await page.evaluate(expression)) as Attempt<T>
  if (!attempt.ok) throw new Error(`${attempt.error.name}: ${attempt.error.message}`)
  return attempt.value
}

async function openEngine(browser: Browser): Promise<WatchedPage> {
  const watched = await openFixture(browser, 'src/engine/fixtures/engine.html')
  await watched.page.evaluate('fixture.start()')
  return watched
}

let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

describe('wasm engine (llama.cpp in WebAssembly) on the generated tiny model, in a worker', () => {
  let engine: WatchedPage
  beforeAll(async () => {
    engine = await openEngine(browser)
    const load = await call<{ loaded: { engine: string; deterministic: boolean }; progress: { phase: string }[] }>(
      engine.page,
      'fixture.load("modelex-demo-tiny")',
    )
    expect(load.loaded.engine).toBe('wasm')
    // One build on the CPU, flash attention off: it promises reproducible output, so its receipts may say so.
    expect(load.loaded.deterministic).toBe(true)
    expect(load.progress.map((p) => p.phase)).toEqual(expect.arrayContaining(['download', 'upload', 'ready']))
    expect(load.progress.at(-1)?.phase).toBe('ready')
  })
  afterAll(async () => {
    expect(engine.errors).toEqual([])
    await engine.page.close()
  })

  test('streams 32 greedy tokens that match the saved output exactly', async () => {
    const { result, deltas } = await call<Completion>(engine.page, `fixture.complete(${JSON.stringify(GREEDY)})`)
    expect(result.text).toBe(EXPECTED_32)
    expect(deltas).toHaveLength(32)
    expect(deltas.join('')).toBe(EXPECTED_32)
    expect(result.usage).toEqual({ prompt_tokens: 7, completion_tokens: 32, total_tokens: 39 })
    expect(result.finish_reason).toBe('length')
  })

  test('loading again reads the model from the cache', async () => {
    const load = await call<{ progress: { text: string }[] }>(engine.page, 'fixture.load("modelex-demo-tiny")')
    expect(load.progress[0]?.text).toBe('reading the cached model')
  })

  test('a fresh page (new browser context, empty cache) gives the same output (determinism)', async () => {
    const fresh = await openEngine(browser)
    await call(fresh.page, 'fixture.load("modelex-demo-tiny")')
    const { result } = await call<Completion>(fresh.page, `fixture.complete(${JSON.stringify(GREEDY)})`)
    expect(result.text).toBe(EXPECTED_32)
    expect(fresh.errors).toEqual([])
    await fresh.page.close()
  })

  test('aborting mid-stream stops generation', async () => {
    const { result, deltas } = await call<{ result: InferenceResult; deltas: number }>(
      engine.page,
      `fixture.abortAfter(${JSON.stringify({ prompt: 'hello', max_tokens: 500, temperature: 0, seed: 0 })}, 3)`,
    )
    expect(result.finish_reason).toBe('abort')
    // Tokens already in flight when the abort lands may still arrive (more on a busy machine); what matters is
    // that generation stops far short of max_tokens and that usage counts exactly what was streamed.
    expect(deltas).toBeLessThan(50)
    expect(result.usage.completion_tokens).toBe(deltas)
  })

  test("a fill-in-the-middle prompt uses the model's FIM tokens", async () => {
    const prefix = 'def f(x):\n    '
    const suffix = '\n    return y\n'
    const { result } = await call<Completion>(
      engine.page,
      `fixture.complete(${JSON.stringify({ prompt: prefix, suffix, max_tokens: 8, temperature: 0, seed: 0 })})`,
    )
    const plain = await call<Completion>(
      engine.page,
      `fixture.complete(${JSON.stringify({ prompt: prefix + suffix, max_tokens: 1, temperature: 0, seed: 0 })})`,
    )
    expect(result.usage.completion_tokens).toBe(8)
    expect(result.text.length).toBeGreaterThan(0)
    // Three special tokens (prefix, suffix, middle) are single tokens, not text: the FIM prompt is at most 3 longer.
    expect(result.usage.prompt_tokens - plain.result.usage.prompt_tokens).toBeGreaterThanOrEqual(2)
    expect(result.usage.prompt_tokens - plain.result.usage.prompt_tokens).toBeLessThanOrEqual(3)
  })

  test('grammar-constrained output follows the grammar, JSON included', async () => {
    const yesNo = await call<Completion>(
      engine.page,
      `fixture.complete(${JSON.stringify({ prompt: 'Answer:', max_tokens: 10, temperature: 0, seed: 0, response_format: { type: 'grammar', grammar: 'root ::= "yes" | "no"' } })})`,
    )
    expect(['yes', 'no']).toContain(yesNo.result.text)
    expect(yesNo.result.finish_reason).toBe('stop')
    const grammar = 'root ::= "{\\"ok\\":" ("true" | "false") ",\\"n\\":" [0-9] "}"'
    const json = await call<Completion>(
      engine.page,
      `fixture.complete(${JSON.stringify({ prompt: 'Result:', max_tokens: 20, temperature: 0, seed: 0, response_format: { type: 'grammar', grammar } })})`,
    )
    expect(JSON.parse(json.result.text)).toEqual({ ok: expect.any(Boolean), n: expect.any(Number) })
  })

  // Ground truth for core/bpe.ts: llama.cpp's own count of the same text, as prompt usage of a completion.
  const COUNTED_TEXTS: [string, string][] = [
    [
      'code',
      "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n\n\tx = [1, 22, 333, 4444]  # it's done\r\n",
    ],
    [
      'prose',
      "The node announces its models, its prices and its speed; the consumer picks a node, pays and streams the answer. Don't   panic!",
    ],
    [
      'unicode',
      'caf\u00e9 \u2192 na\u00efve \u4e2d\u6587\u5b57 \u{1f389}\u{1f468}\u200d\u{1f469} \u0645\u0631\u062d\u0628\u0627 \u00a0x\u3000y \u0661\u0662\u0663',
    ],
    [
      'special tokens',
      '<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|><|im_',
    ],
    ['whitespace runs', '  leading\n\n\n   trailing   \t\n  '],
  ]
  test.each(COUNTED_TEXTS)(
    "countTokens (BPE, no prefill) equals llama.cpp's prompt_tokens: %s",
    async (_name, text) => {
      const { count } = await call<{ count: number }>(engine.page, `fixture.countTokens(${JSON.stringify(text)})`)
      const { result } = await call<Completion>(
        engine.page,
        `fixture.complete(${JSON.stringify({ prompt: text, max_tokens: 1, temperature: 0, seed: 0 })})`,
      )
      expect(count).toBe(result.usage.prompt_tokens)
    },
  )

  test('countTokens does not wait for a generation in flight', async () => {
    const long = { prompt: 'def add(a, b):', max_tokens: 300, temperature: 0, seed: 0, stop: [] }
    const outcome = await call<{ order: string[]; count: number; result: InferenceResult }>(
      engine.page,
      `fixture.countDuringGeneration(${JSON.stringify(long)}, ${JSON.stringify(GREEDY.prompt)})`,
    )
    expect(outcome.count).toBe(7)
    expect(outcome.order).toEqual(['count', 'generation'])
    expect(outcome.result.usage.completion_tokens).toBe(300)
  })

  test('InferenceEngine compliance checks, through the worker proxy', async () => {
    const failures: string[] = []
    for (const check of complianceChecks) {
      const outcome = (await engine.page.evaluate(`fixture.compliance(${JSON.stringify(check.name)})`)) as {
        ok: boolean
        error?: string
      }
      if (!outcome.ok) failures.push(`${check.name}: ${outcome.error}`)
    }
    expect(failures).toEqual([])
  })
})

describe('wasm engine on the 30M demo model: only well-formed text comes out', () => {
  let page: WatchedPage
  beforeAll(async () => {
    page = await openEngine(browser)
    await call(page.page, 'fixture.load("modelex-demo-30m", {}, 1)')
  })
  afterAll(async () => {
    expect(page.errors).toEqual([])
    await page.page.close()
  })

  // Greedy fill-in-the-middle at these spots once sampled a token that is not valid UTF-8, which wllama 3.8 cannot
  // pass back: the request failed ("Invalid typed array length: 1163217991"). The engine's any-text grammar keeps
  // the sampler on well-formed text.
  const file =
    'def fibonacci(n: int) -> int:\n    """Return the n-th Fibonacci number."""\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n\ndef is_prime(n: int) -> bool:\n    if n < 2:\n        return False\n    i = 2\n    while i * i <= n:\n        if n % i == 0:\n            return False\n        i += 1\n    return True\n'
  const cut = file.indexOf('    return a') + '    return a'.length
  test.each([
    ['after "return a" in a Fibonacci file', file.slice(0, cut), file.slice(cut)],
    ['inside a string with non-ASCII text', 'print("caf\u00e9 \u2192 ', '")\n'],
  ])('%s', async (_name, prompt, suffix) => {
    const { result } = await call<Completion>(
      page.page,
      `fixture.complete(${JSON.stringify({ prompt, suffix, max_tokens: 64, temperature: 0, seed: 0 })})`,
    )
    expect(result.usage.completion_tokens).toBeGreaterThan(0)
    expect(result.text).not.toContain('\ufffd')
  })
})

describe("wasm engine on the 30M demo model: KV prefix reuse (the editor's autocomplete)", () => {
  let page: WatchedPage
  beforeAll(async () => {
    page = await openEngine(browser)
    await call(page.page, 'fixture.load("modelex-demo-30m", {}, 1)')
  })
  afterAll(async () => {
    expect(page.errors).toEqual([])
    await page.page.close()
  })

  type Run = Completion & { result: InferenceResult & { timings: { prefill_tokens?: number } } }
  const complete = (
    request: object,
    options: { reusePrefix?: boolean; abortAfter?: number; abortAfterMs?: number } = {},
  ) => call<Run>(page.page, `fixture.complete(${JSON.stringify(request)}, ${JSON.stringify(options)})`)
  // A Python file typed up to a cursor, with the rest of the file as the FIM suffix, as the editor sends it.
  const file =
    'import math\n\n\ndef is_prime(n: int) -> bool:\n    if n < 2:\n        return False\n    for i in range(2, int(math.sqrt(n)) + 1):\n        if n % i == 0:\n            return False\n    return True\n\n\ndef primes_below(limit: int) -> list[int]:\n    return [n for n in range(limit) if is_prime(n)]\n'
  const at = file.indexOf('        if n % i')
  const fim = (typed: string) => ({
    prompt: file.slice(0, at) + typed,
    suffix: file.slice(at),
    max_tokens: 16,
    temperature: 0,
    seed: 0,
  })

  test('a completion on a reused prefix equals a fresh one for the same prompt (greedy), and evaluates only the new tokens', async () => {
    const fresh = await complete(fim('        if n'))
    expect(fresh.result.timings.prefill_tokens).toBe(fresh.result.usage.prompt_tokens)
    await complete(fim('        if'), { reusePrefix: true })
    const reused = await complete(fim('        if n'), { reusePrefix: true })
    expect(reused.result.text).toBe(fresh.result.text)
    expect(reused.result.usage).toEqual(fresh.result.usage)
    // Only the edit and what follows it (the FIM suffix and markers) were evaluated; the prefix came from the cache.
    expect(reused.result.timings.prefill_tokens).toBeLessThan(fresh.result.usage.prompt_tokens / 2)
    // The same prompt again re-evaluates just its last token (llama.cpp needs its logits) and gives the same text.
    const again = await complete(fim('        if n'), { reusePrefix: true })
    expect(again.result.text).toBe(fresh.result.text)
    expect(again.result.timings.prefill_tokens).toBe(1)
  })

  test('cancel and retype keeps the cache valid: cut in the prefill, cut mid-stream, then the finished request equals a fresh one', async () => {
    const typed = ['        i', '        if', '        if n ', '        if n %']
    // Each keystroke's request is cancelled by the next one, as in the editor: in its prefill or after a token.
    for (const [index, text] of typed.slice(0, -1).entries()) {
      const cut = await complete(fim(text), { reusePrefix: true, abortAfter: index % 2 === 0 ? 0 : 1 })
      expect(cut.result.finish_reason).toBe('abort')
    }
    const last = typed.at(-1) as string
    const reused = await complete(fim(last), { reusePrefix: true })
    const fresh = await complete(fim(last))
    expect(reused.result.text).toBe(fresh.result.text)
    expect(reused.result.usage).toEqual(fresh.result.usage)
    // What the cancelled requests had evaluated stayed in the cache: the last one evaluated only its edit and what
    // follows it (the FIM suffix, which PSM order puts after the edit), not the file before the cursor line.
    const { count: before } = await call<{ count: number }>(
      page.page,
      `fixture.countTokens(${JSON.stringify(file.slice(0, at))})`,
    )
    expect(reused.result.timings.prefill_tokens).toBeLessThanOrEqual(fresh.result.usage.prompt_tokens - before + 4)
  })

  test('a cancel stops a long prefill between its batches, and what it had evaluated serves the next request', async () => {
    // About 400 tokens: a dozen prefill steps on the CPU. The first line differs, so one prompt's cache does not serve
    // the other.
    const body = Array.from({ length: 24 }, (_, i) => `def f${i}(x):\n    return x * ${i} + ${i * 7}\n`).join('')
    const long = (tag: string) => ({ prompt: `# ${tag}\n${body}`, max_tokens: 4, temperature: 0 })
    // How long a whole prefill of such a prompt takes here, so the cut lands in its middle on any machine.
    const whole = await complete(long('calibration'))
    const prefillMs = whole.result.timings.prefill_ms
    const cut = await complete(long('typed'), { reusePrefix: true, abortAfterMs: Math.round(prefillMs * 0.4) })
    expect(cut.result.finish_reason).toBe('abort')
    expect(cut.deltas).toEqual([])
    // Without steps (one batch for the whole prompt) the cancelled run would have evaluated all of it, and the next
    // request would evaluate only its last token. Here it stopped partway, and the next one continues from there.
    const next = await complete(long('typed'), { reusePrefix: true })
    expect(next.result.timings.prefill_tokens).toBeGreaterThan(1)
    expect(next.result.timings.prefill_tokens).toBeLessThan(next.result.usage.prompt_tokens - 32)
  })

  test('a request without reuse after reused ones is bit-identical to one on a fresh page (the cache is cleared)', async () => {
    const request = fim('        if n % i')
    await complete(fim('        if n % '), { reusePrefix: true })
    const afterReuse = await complete(request)
    expect(afterReuse.result.timings.prefill_tokens).toBe(afterReuse.result.usage.prompt_tokens)
    const other = await openEngine(browser)
    try {
      await call(other.page, 'fixture.load("modelex-demo-30m", {}, 1)')
      const fresh = await call<Run>(other.page, `fixture.complete(${JSON.stringify(request)})`)
      expect(afterReuse.result.text).toBe(fresh.result.text)
      expect(afterReuse.deltas).toEqual(fresh.deltas)
    } finally {
      await other.page.close()
    }
  })
})

describe('wasm engine errors cross the worker with their class', () => {
  let page: WatchedPage
  beforeAll(async () => {
    page = await openEngine(browser)
  })
  afterAll(async () => {
    await page.page.close()
  })

  const loadError = async (override: object) => {
    const attempt = (await page.page.evaluate(
      `fixture.load("modelex-demo-tiny", ${JSON.stringify(override)})`,
    )) as Attempt<unknown>
    expect(attempt.ok).toBe(false)
    return (attempt as { error: SerializedError }).error
  }

  test('a file that is not GGUF gives InvalidModelFileError', async () => {
    const error = await loadError({ source: '/src/engine/fixtures/engine.html', contentHash: null })
    expect(error.name).toBe('InvalidModelFileError')
    expect(error.details).toMatch(/bad magic/)
  })

  test('a file that does not match its pinned hash gives ModelIntegrityError', async () => {
    const error = await loadError({ contentHash: `0x${'00'.repeat(32)}` })
    expect(error.name).toBe('ModelIntegrityError')
    expect(error.data).toMatchObject({ expected: `0x${'00'.repeat(32)}`, actual: DEMO_MODELS[0]!.contentHash })
  })

  test('a missing file gives ModelDownloadError with the HTTP status', async () => {
    const error = await loadError({ source: '/models/no-such-model.gguf', contentHash: null })
    expect(error.name).toBe('ModelDownloadError')
    expect(error.data).toMatchObject({ status: 404 })
  })

  test('generating before loading gives ModelNotLoadedError', async () => {
    const attempt = (await page.page.evaluate(`fixture.complete({ prompt: 'x' })`)) as Attempt<unknown>
    expect(attempt.ok).toBe(false)
    expect((attempt as { error: SerializedError }).error.name).toBe('ModelNotLoadedError')
  })
})
