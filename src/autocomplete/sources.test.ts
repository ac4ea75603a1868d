import { describe, expect, test } from 'vitest'
import type { CompletionChunk, CompletionCreateParameters, ModelexClient, PaidResult, PaidStream } from '../client/client.ts'
import { NoNodeAvailableError, PaidRequestInterruptedError } from '../core/errors/payments.ts'
import { FIM_FORMATS } from '../core/prompts.ts'
import { paidCompletionSource } from './sources.ts'

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
        chunks.push({ id: 'mx', object: 'text_completion', created: 0, model: p.model, choices: [{ index: 0, text: piece, logprobs: null, finish_reason: null }] })
      }
      const result: Promise<PaidResult> = failWith ? Promise.reject(failWith) : interrupted ? Promise.reject(new PaidRequestInterruptedError({ text, credit: 5n })) : Promise.resolve({ text, finish_reason: 'stop', usage: { prompt_tokens: 3, completion_tokens: pieces.length, total_tokens: 3 + pieces.length }, cost: 42n, peer: 'peer', channelId: 1n, credit: 7n } as unknown as PaidResult)
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
    const source = paidCompletionSource(client, { model: 'modelex-demo-30m', format: FIM_FORMATS.qwen, node: '12D3KooWExample', onPaid: (r) => paid.push(r) })
    const result = await source.complete({ prefix: 'def add(a, b):\n', suffix: '\nprint(add(1, 2))\n', maxTokens: 24, signal: new AbortController().signal, onText: (t) => seen.push(t) })
    expect(asked).toHaveLength(1)
    expect(asked[0]).toMatchObject({ model: 'modelex-demo-30m', prompt: 'def add(a, b):\n', suffix: '\nprint(add(1, 2))\n', max_tokens: 24, temperature: 0, stream: true, node: '12D3KooWExample' })
    expect(asked[0]?.stop).toEqual(expect.arrayContaining(['<|endoftext|>', '<|fim_prefix|>']))
    expect(seen.at(-1)).toBe('    return a + b\n')
    expect(result).toEqual({ text: '    return a + b\n', finish_reason: 'stop', usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 } })
    expect(paid.map((r) => r.cost)).toEqual([42n])
    expect(source.id).toBe('paid:12D3KooWExample/modelex-demo-30m')
  })

  test('without a node it leaves the choice to the SDK', async () => {
    const { client, asked } = scriptedSdk(['x'])
    const source = paidCompletionSource(client, { model: 'm' })
    await source.complete({ prefix: 'a', suffix: '', maxTokens: 4, signal: new AbortController().signal })
    expect(asked[0]).not.toHaveProperty('node')
    expect(source.id).toBe('paid:auto/m')
  })

  test('a suggestion cancelled because the user typed on ends as "abort" with what arrived, and is not reported as paid', async () => {
    const { client } = scriptedSdk(['a', 'b'])
    const cancel = new AbortController()
    cancel.abort()
    const paid: PaidResult[] = []
    const source = paidCompletionSource(client, { model: 'm', onPaid: (r) => paid.push(r) })
    await expect(source.complete({ prefix: 'p', suffix: '', maxTokens: 4, signal: cancel.signal })).resolves.toEqual({ text: '', finish_reason: 'abort', usage: null })
    expect(paid).toEqual([])
  })

  test('other failures keep their class (the editor shows their message)', async () => {
    const { client } = scriptedSdk(['a'], { failWith: new NoNodeAvailableError({ model: 'm' }) })
    const source = paidCompletionSource(client, { model: 'm' })
    await expect(source.complete({ prefix: 'p', suffix: '', maxTokens: 4, signal: new AbortController().signal })).rejects.toBeInstanceOf(NoNodeAvailableError)
  })
})
