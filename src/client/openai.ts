/**
 * The OpenAI shapes of the SDK: streamed chunks and whole responses for chat and text completions, built around one
 * paid request. `paidStream` turns a paid request (which reports deltas as they arrive) into an async iterable of
 * chunks with the settled `result` beside it.
 */
import type { Delta, FinishReason, Usage, ChatMessage } from '../core/inference.ts'
import type { PaidResult } from './actions/payForRequest.ts'

export type ChatCompletionChunk = { id: string; object: 'chat.completion.chunk'; created: number; model: string; choices: { index: 0; delta: { content: string }; finish_reason: FinishReason | null }[] }
export type CompletionChunk = { id: string; object: 'text_completion'; created: number; model: string; choices: { index: 0; text: string; finish_reason: FinishReason | null }[] }
export type PaidStream<Chunk> = AsyncIterable<Chunk> & { result: Promise<PaidResult> }
export type ChatCompletion = { id: string; object: 'chat.completion'; created: number; model: string; choices: { index: 0; message: ChatMessage; finish_reason: FinishReason }[]; usage: Usage; modelex: PaidResult }
export type Completion = { id: string; object: 'text_completion'; created: number; model: string; choices: { index: 0; text: string; finish_reason: FinishReason }[]; usage: Usage; modelex: PaidResult }

export type ChunkKind = 'chat' | 'completion'

export function chunkOf(kind: 'chat', text: string, finish: FinishReason | null, id: string, created: number, model: string): ChatCompletionChunk
export function chunkOf(kind: 'completion', text: string, finish: FinishReason | null, id: string, created: number, model: string): CompletionChunk
export function chunkOf(kind: ChunkKind, text: string, finish: FinishReason | null, id: string, created: number, model: string): ChatCompletionChunk | CompletionChunk {
  return kind === 'chat'
    ? { id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta: { content: text }, finish_reason: finish }] }
    : { id, object: 'text_completion', created, model, choices: [{ index: 0, text, finish_reason: finish }] }
}

export function chatCompletion(model: string, r: PaidResult): ChatCompletion {
  return { id: 'mx', object: 'chat.completion', created: Math.floor(Date.now() / 1000), model, choices: [{ index: 0, message: { role: 'assistant', content: r.text }, finish_reason: r.finish_reason }], usage: r.usage, modelex: r }
}

export function completion(model: string, r: PaidResult): Completion {
  return { id: 'mx', object: 'text_completion', created: Math.floor(Date.now() / 1000), model, choices: [{ index: 0, text: r.text, finish_reason: r.finish_reason }], usage: r.usage, modelex: r }
}

/** Runs `pay` (which calls `onDelta` as text arrives) and exposes it as a stream of chunks plus its result. */
export function paidStream<Chunk>(pay: (onDelta: (delta: Delta) => void) => Promise<PaidResult>, chunk: (text: string, finish: FinishReason | null, id: string, created: number) => Chunk): PaidStream<Chunk> {
  const queue: Chunk[] = []
  let wake: (() => void) | undefined
  let ended = false
  let failure: unknown
  const id = `mx-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`
  const created = Math.floor(Date.now() / 1000)
  const push = (c: Chunk) => {
    queue.push(c)
    wake?.()
  }
  const result = (async () => {
    try {
      const r = await pay((delta) => {
        if (delta.text) push(chunk(delta.text, null, id, created))
      })
      push(chunk('', r.finish_reason, id, created))
      return r
    } catch (error) {
      failure = error
      throw error
    } finally {
      ended = true
      wake?.()
    }
  })()
  result.catch(() => {})
  return {
    result,
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const next = queue.shift()
        if (next !== undefined) {
          yield next
          continue
        }
        if (ended) {
          if (failure !== undefined) throw failure
          return
        }
        await new Promise<void>((resolve) => (wake = resolve))
        wake = undefined
      }
    },
  }
}
