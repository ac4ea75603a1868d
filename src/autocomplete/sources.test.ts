import { describe, expect, test } from 'vitest'
import type {
  CompletionChunk,
  CompletionCreateParameters,
  ModelexClient,
  PaidResult,
  PaidStream,
} from '../client/client.ts'
import { NoNodeAvailableError, PaidRequestInterruptedError } from '../core/errors/payments.ts'
import { LOCAL_FIM_BUDGET } from '../core/fim.ts'
import type { CompletionRequest, GenerateOptions, InferenceEngine } from '../core/inference.ts'
import { FIM_FORMATS } from '../core/prompts.ts'
import { engineCompletionSource, paidCompletionSource } from './sources.ts'

/**
 * The SDK's completion surface, scripted: streams `pieces` as the SDK does (chunks, then a settled result), or fails
 * like the SDK when the caller's signal fires mid-stream. Records what it was asked.
 */
function scriptedSdk(pieces: string[], { failWith }: { failWith?: Error } = {}) {
  const asked: CompletionCreateParameters[] = []
  const completions = {
    async create(p: CompletionCreateParameters): Promise<PaidStream<CompletionChunk>> {
      asked.push(p)
      let text = ''
      const chunks: CompletionChunk[] = []
      let interrupted = false
      for (const piece of pieces) {
        if (p.signal?.aborted) {
          interrupted = true
          break
        }
        text += piece
        chunks.push({
          id: 'mx',
          object: 'text_completion',
          created: 0,
          model: p.model,
          choices: [{ index: 0, text: piece, logprobs: null, finish_reason: null }],
        })
      }
      const result: Promise<PaidResult> = failWith
        ? Promise.reject(failWith)
        : interrupted
          ? Promise.reject(new PaidRequestInterruptedError({ text, credit: 5n }))
          : Promise.resolve({
              text,
              finish_reason: 'stop',
              usage: { prompt_tokens: 3, completion_tokens: pieces.length, total_tokens: 3 + pieces.length },
              cost: 42n,
              peer: 'peer',
              channelId: 1n,
              credit: 7n,
            } as unknown as PaidResult)
      result.catch(() => {})
      return {
        result,
        async *[Symbol.asyncIterator]() {
          for (const chunk of chunks) yield chunk
          await result
        },
      }
    },
  }
  return { client: { completions } as unknown as Pick<ModelexClient, 'completions'>, asked }
}

describe('paidCompletionSource', () => {
  test('asks the SDK for a streamed fill-in-the-middle completion and hands back the cleaned middle and its cost', async () => {
    const { client, asked } = scriptedSdk(['    return ', 'a + b', '\n<|endoftext|>junk'])
    const paid: PaidResult[] = []
    const seen: string[] = []
    const source = paidCompletionSource(client, {
      model: 'modelex-demo-30m',
      format: FIM_FORMATS.qwen,
      node: '12D3KooWExample',
      onPaid: (r) => paid.push(r),
    })
    const result = await source.complete({
      prefix: 'def add(a, b):\n',
      suffix: '\nprint(add(1, 2))\n',
      maxTokens: 24,
      signal: new AbortController().signal,
      onText: (t) => seen.push(t),
    })
    expect(asked).toHaveLength(1)
    expect(asked[0]).toMatchObject({
      model: 'modelex-demo-30m',
      prompt: 'def add(a, b):\n',
      suffix: '\nprint(add(1, 2))\n',
      max_tokens: 24,
      temperature: 0,
      stream: true,
      node: '12D3KooWExample',
    })
    expect(asked[0]).not.toHaveProperty('hedge')
    expect(asked[0]?.stop).toEqual(expect.arrayContaining(['<|endoftext|>', '<|fim_prefix|>']))
    expect(seen.at(-1)).toBe('    return a + b\n')
    expect(result).toEqual({
      text: '    return a + b\n',
      finish_reason: 'stop',
      usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
    })
    expect(paid.map((r) => r.cost)).toEqual([42n])
    expect(source.id).toBe('paid:12D3KooWExample/modelex-demo-30m')
  })

  test('reproducible by default (greedy with a seed); reproducible: false sends no seed and windows that move in steps', async () => {
    const prefix = 'x = 1\n'.repeat(900)
    const ask = async (options: { reproducible?: boolean }, typed = '') => {
      const { client, asked } = scriptedSdk(['y'])
      await paidCompletionSource(client, { model: 'm', format: FIM_FORMATS.qwen, ...options }).complete({
        prefix: prefix + typed,
        suffix: '    tail()\nmore = 2\n'.repeat(50),
        maxTokens: 4,
        signal: new AbortController().signal,
      })
      return asked[0] as {
        seed?: number
        temperature?: number
        prompt: string
        suffix?: string
        reproducible?: boolean
      }
    }
    const reproducible = await ask({})
    expect(reproducible).toMatchObject({ seed: 0, temperature: 0 })
    const fast = await ask({ reproducible: false })
    // No seed, and the SDK is told not to draw one (it seeds every other request).
    expect(fast).not.toHaveProperty('seed')
    expect(fast.reproducible).toBe(false)
    expect(reproducible).not.toHaveProperty('reproducible')
    expect(fast.temperature).toBe(0)
    // The editor's budget, whose window moves in steps: a character typed on does not move where it starts, so the
    // node's cached prefix stays valid.
    expect(fast.prompt.length).toBeLessThanOrEqual(LOCAL_FIM_BUDGET.maxPrefixChars)
    expect((await ask({ reproducible: false }, 'y')).prompt).toBe(`${fast.prompt}y`)
    // The suffix the node evaluates on every keystroke is the rest of the cursor line only.
    expect(fast.suffix).toBe('    tail()\n')
  })

  test('without a node it leaves the choice to the SDK', async () => {
    const { client, asked } = scriptedSdk(['x'])
    const source = paidCompletionSource(client, { model: 'm' })
    await source.complete({ prefix: 'a', suffix: '', maxTokens: 4, signal: new AbortController().signal })
    expect(asked[0]).not.toHaveProperty('node')
    // A suggestion is latency-sensitive: the SDK hedges it over the two best nodes, unless told not to.
    expect(asked[0]).toMatchObject({ hedge: true })
    expect(source.id).toBe('paid:auto/m')
    await paidCompletionSource(client, { model: 'm', hedge: false }).complete({
      prefix: 'a',
      suffix: '',
      maxTokens: 4,
      signal: new AbortController().signal,
    })
    expect(asked[1]).not.toHaveProperty('hedge')
  })

  test('a suggestion cancelled because the user typed on ends as "abort" with what arrived, and is not reported as paid', async () => {
    const { client } = scriptedSdk(['a', 'b'])
    const cancel = new AbortController()
    cancel.abort()
    const paid: PaidResult[] = []
    const source = paidCompletionSource(client, { model: 'm', onPaid: (r) => paid.push(r) })
    await expect(source.complete({ prefix: 'p', suffix: '', maxTokens: 4, signal: cancel.signal })).resolves.toEqual({
      text: '',
      finish_reason: 'abort',
      usage: null,
    })
    expect(paid).toEqual([])
  })

  test('other failures keep their class (the editor shows their message)', async () => {
    const { client } = scriptedSdk(['a'], { failWith: new NoNodeAvailableError({ model: 'm' }) })
    const source = paidCompletionSource(client, { model: 'm' })
    await expect(
      source.complete({ prefix: 'p', suffix: '', maxTokens: 4, signal: new AbortController().signal }),
    ).rejects.toBeInstanceOf(NoNodeAvailableError)
  })
})

describe('engineCompletionSource', () => {
  /** An engine that records what it was asked and how (the boundary here is the engine interface). */
  function recordingEngine() {
    const asked: { request: CompletionRequest; options: GenerateOptions | undefined }[] = []
    const engine = {
      kind: 'wasm',
      async complete(request: CompletionRequest, options?: GenerateOptions) {
        asked.push({ request, options })
        options?.onDelta?.({ text: 'x + 1<|endoftext|>', tokens: 1 })
        return {
          text: 'x + 1<|endoftext|>',
          finish_reason: 'stop',
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
          timings: { prefill_ms: 0, decode_ms: 0 },
        }
      },
    } as unknown as InferenceEngine
    return { engine, asked }
  }
  const model = { id: 'modelex-demo-30m', fim: FIM_FORMATS.qwen }
  const long = 'def f(x):\n' + '    y = x\n'.repeat(1_000)

  test('asks the engine to reuse its cached prefix, with the local windows (prefix start in steps, a short suffix)', async () => {
    const { engine, asked } = recordingEngine()
    const source = engineCompletionSource(engine, model)
    const result = await source.complete({
      prefix: long + '    return ',
      suffix: '\n' + 'z = 1\n'.repeat(500),
      maxTokens: 8,
      signal: new AbortController().signal,
    })
    expect(result.text).toBe('x + 1')
    expect(asked[0]?.options?.reusePrefix).toBe(true)
    expect(asked[0]?.request.prompt.length).toBeLessThanOrEqual(LOCAL_FIM_BUDGET.maxPrefixChars)
    expect(asked[0]?.request.suffix?.length).toBeLessThanOrEqual(LOCAL_FIM_BUDGET.maxSuffixChars)
    expect(asked[0]?.request).toMatchObject({ temperature: 0, seed: 0, max_tokens: 8 })
  })

  test('the suffix window grows with the measured prefill speed: the rest of the line first, more on a fast engine', async () => {
    const asked: CompletionRequest[] = []
    let msPerToken = 35
    const engine = {
      kind: 'wasm',
      async complete(request: CompletionRequest) {
        asked.push(request)
        const tokens = Math.ceil((request.prompt.length + (request.suffix?.length ?? 0)) / 3)
        return {
          text: '',
          finish_reason: 'stop',
          usage: { prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens },
          timings: { prefill_ms: 5 * msPerToken, decode_ms: 0, prefill_tokens: 5 },
        }
      },
    } as unknown as InferenceEngine
    const source = engineCompletionSource(engine, model)
    const ask = () =>
      source.complete({
        prefix: 'def f(x):\n    return x',
        suffix: ')\n' + 'print(f(1))\n'.repeat(50),
        maxTokens: 4,
        signal: new AbortController().signal,
      })
    await ask()
    expect(asked[0]?.suffix).toBe(')\n')
    // Slow (35 ms a token): still about the rest of the line.
    await ask()
    expect(asked[1]?.suffix?.length).toBeLessThan(20)
    msPerToken = 0.1
    for (let i = 0; i < 30; i++) await ask()
    expect(asked.at(-1)?.suffix?.length).toBeGreaterThan(LOCAL_FIM_BUDGET.maxSuffixChars - 20)
  })

  test("reuse can be turned off (the benchmark's comparison)", async () => {
    const { engine, asked } = recordingEngine()
    await engineCompletionSource(engine, model, { reusePrefix: false }).complete({
      prefix: 'a',
      suffix: '',
      maxTokens: 1,
      signal: new AbortController().signal,
    })
    expect(asked[0]?.options?.reusePrefix).toBe(false)
  })

  test('the paid source never passes engine options: its requests are plain requests', async () => {
    const { client, asked } = scriptedSdk(['x'])
    await paidCompletionSource(client, { model: 'm' }).complete({
      prefix: 'a',
      suffix: '',
      maxTokens: 4,
      signal: new AbortController().signal,
    })
    expect(Object.keys(asked[0] ?? {})).not.toContain('reusePrefix')
  })
})
