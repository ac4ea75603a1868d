/**
 * The OpenAI response shapes Modelex speaks, in one place: whole completions and chat completions, their stream
 * chunks (chat's first chunk carries the role, its last an empty delta with the finish reason), the usage chunk and
 * the model list. The SDK and the gateway both build their answers here. A cancelled answer (`abort`) reads as
 * `stop`, which is all OpenAI clients know.
 */
import type { FinishReason, Usage } from './inference.ts'

export type OpenAiKind = 'completion' | 'chat'
export type ResponseIds = { id: string; created: number; model: string }
export type OpenAiFinish = 'stop' | 'length'

export type CompletionChunk = {
  id: string
  object: 'text_completion'
  created: number
  model: string
  choices: { index: 0; text: string; logprobs: null; finish_reason: OpenAiFinish | null }[]
}
export type ChatCompletionChunk = {
  id: string
  object: 'chat.completion.chunk'
  created: number
  model: string
  choices: {
    index: 0
    delta: { role?: 'assistant'; content?: string }
    logprobs: null
    finish_reason: OpenAiFinish | null
  }[]
}
export type CompletionResponse = {
  id: string
  object: 'text_completion'
  created: number
  model: string
  choices: { index: 0; text: string; logprobs: null; finish_reason: OpenAiFinish }[]
  usage: Usage
}
export type ChatCompletionResponse = {
  id: string
  object: 'chat.completion'
  created: number
  model: string
  choices: { index: 0; message: { role: 'assistant'; content: string }; logprobs: null; finish_reason: OpenAiFinish }[]
  usage: Usage
}

export const openAiFinish = (reason: FinishReason): OpenAiFinish => (reason === 'length' ? 'length' : 'stop')

export function completionResponse(
  kind: 'completion',
  ids: ResponseIds,
  text: string,
  reason: FinishReason,
  usage: Usage,
): CompletionResponse
export function completionResponse(
  kind: 'chat',
  ids: ResponseIds,
  text: string,
  reason: FinishReason,
  usage: Usage,
): ChatCompletionResponse
export function completionResponse(
  kind: OpenAiKind,
  ids: ResponseIds,
  text: string,
  reason: FinishReason,
  usage: Usage,
): CompletionResponse | ChatCompletionResponse
export function completionResponse(
  kind: OpenAiKind,
  ids: ResponseIds,
  text: string,
  reason: FinishReason,
  usage: Usage,
): CompletionResponse | ChatCompletionResponse {
  const finish_reason = openAiFinish(reason)
  if (kind === 'completion')
    return { ...ids, object: 'text_completion', choices: [{ index: 0, text, logprobs: null, finish_reason }], usage }
  return {
    ...ids,
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason }],
    usage,
  }
}

/** One stream chunk: text with no finish reason, or the last one (empty text) with it. */
export function streamChunk(
  kind: 'completion',
  ids: ResponseIds,
  text: string,
  reason: FinishReason | null,
  first?: boolean,
): CompletionChunk
export function streamChunk(
  kind: 'chat',
  ids: ResponseIds,
  text: string,
  reason: FinishReason | null,
  first?: boolean,
): ChatCompletionChunk
export function streamChunk(
  kind: OpenAiKind,
  ids: ResponseIds,
  text: string,
  reason: FinishReason | null,
  first?: boolean,
): CompletionChunk | ChatCompletionChunk
export function streamChunk(
  kind: OpenAiKind,
  ids: ResponseIds,
  text: string,
  reason: FinishReason | null,
  first = false,
): CompletionChunk | ChatCompletionChunk {
  const finish_reason = reason === null ? null : openAiFinish(reason)
  if (kind === 'completion')
    return { ...ids, object: 'text_completion', choices: [{ index: 0, text, logprobs: null, finish_reason }] }
  const delta = reason !== null ? {} : first ? { role: 'assistant' as const, content: text } : { content: text }
  return { ...ids, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason }] }
}

/** The chunk OpenAI sends last when `stream_options.include_usage` is set: usage, no choices. */
export function usageChunk(kind: OpenAiKind, ids: ResponseIds, usage: Usage) {
  return { ...ids, object: kind === 'completion' ? 'text_completion' : 'chat.completion.chunk', choices: [], usage }
}

export function modelList(models: readonly { id: string }[], created: number) {
  return { object: 'list', data: models.map((m) => ({ id: m.id, object: 'model', created, owned_by: 'modelex' })) }
}
