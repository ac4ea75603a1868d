/**
 * The SDK's OpenAI surface around one paid request: the shapes come from `src/core/openai.ts` (as the gateway's
 * do), with the settled `modelex` result beside them. `paidStream` turns a paid request (which reports deltas as they
 * arrive) into an async iterable of chunks with the settled `result`.
 */
import type { Delta, FinishReason } from '../core/inference.ts'
import {
  completionResponse,
  type ChatCompletionResponse,
  type CompletionResponse,
  type OpenAiKind,
} from '../core/openai.ts'
import type { PaidResult } from './actions/payForRequest.ts'

export type { ChatCompletionChunk, CompletionChunk } from '../core/openai.ts'
export type PaidStream<Chunk> = AsyncIterable<Chunk> & { result: Promise<PaidResult> }
/** The OpenAI response with what the request settled beside it. */
export type ChatCompletion = ChatCompletionResponse & { modelex: PaidResult }
export type Completion = CompletionResponse & { modelex: PaidResult }

export function paidResponse(kind: 'chat', model: string, r: PaidResult): ChatCompletion
export function paidResponse(kind: 'completion', model: string, r: PaidResult): Completion
export function paidResponse(kind: OpenAiKind, model: string, r: PaidResult): ChatCompletion | Completion {
  return {
    ...completionResponse(
      kind,
      { id: `mx-${r.receipt.receiptHash.slice(2, 14)}`, created: Math.floor(Date.now() / 1000), model },
      r.text,
      r.finish_reason,
      r.usage,
    ),
    modelex: r,
  }
}

/** Runs `pay` (which calls `onDelta` as text arrives) and exposes it as a stream of chunks plus its result. */
export function paidStream<Chunk>(
  pay: (onDelta: (delta: Delta) => void) => Promise<PaidResult>,
  chunk: (text: string, finish: FinishReason | null, ids: { id: string; created: number }, first: boolean) => Chunk,
): PaidStream<Chunk> {
  const queue: Chunk[] = []
  let wake: (() => void) | undefined
  let ended = false
  let failure: unknown
  const id = `mx-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`
  const created = Math.floor(Date.now() / 1000)
  let first = true
  const push = (c: Chunk) => {
    queue.push(c)
    wake?.()
  }
  const result = (async () => {
    try {
      const r = await pay((delta) => {
        if (!delta.text) return
        push(chunk(delta.text, null, { id, created }, first))
        first = false
      })
      push(chunk('', r.finish_reason, { id, created }, false))
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
