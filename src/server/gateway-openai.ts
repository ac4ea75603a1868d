/**
 * The OpenAI API shapes the gateway speaks, as pure functions: an OpenAI completion or chat body to our
 * `InferenceRequest` (validated by the wire checker, unknown fields dropped so stock clients work), and our deltas
 * and results back to OpenAI responses and stream chunks. `suffix` on a completion means fill-in-the-middle.
 */
import { InvalidGatewayRequestError, PaidRoutingNotImplementedError, type GatewayError } from '../core/errors/gateway.ts'
import { MalformedMessageError } from '../core/errors/p2p.ts'
import type { FinishReason, InferenceRequest, Usage } from '../core/inference.ts'
import { parseInferenceRequest } from '../core/wire/infer.ts'

export type OpenAiKind = 'completion' | 'chat'

export type ParsedOpenAiRequest = { request: InferenceRequest; stream: boolean; includeUsage: boolean }

/** Checks an OpenAI body; `route: "network"` (paid network nodes) is refused as not implemented. */
export function parseOpenAiRequest(kind: OpenAiKind, body: unknown): ParsedOpenAiRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidGatewayRequestError('The body must be a JSON object.')
  const fields = body as Record<string, unknown>
  if (fields['modelex_route'] === 'network') throw new PaidRoutingNotImplementedError()
  if (fields['n'] !== undefined && fields['n'] !== 1) throw new InvalidGatewayRequestError('Only n = 1 is supported.')
  if (fields['stream'] !== undefined && typeof fields['stream'] !== 'boolean') throw new InvalidGatewayRequestError('stream must be true or false.')
  const prompt = fields['prompt']
  const normalized = kind === 'completion' && Array.isArray(prompt) && prompt.length === 1 ? { ...fields, prompt: prompt[0] } : fields
  let request: InferenceRequest
  try {
    request = parseInferenceRequest({ ...normalized, kind })
  } catch (error) {
    if (error instanceof MalformedMessageError) throw new InvalidGatewayRequestError(error.details ?? error.message, error)
    throw error
  }
  const options = fields['stream_options']
  const includeUsage = typeof options === 'object' && options !== null && (options as Record<string, unknown>)['include_usage'] === true
  return { request, stream: fields['stream'] === true, includeUsage }
}

export type ResponseIds = { id: string; created: number; model: string }

const finishReason = (reason: FinishReason): 'stop' | 'length' => (reason === 'length' ? 'length' : 'stop')

export function completionResponse(kind: OpenAiKind, ids: ResponseIds, text: string, reason: FinishReason, usage: Usage) {
  if (kind === 'completion') {
    return { id: ids.id, object: 'text_completion', created: ids.created, model: ids.model, choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason(reason) }], usage }
  }
  return { id: ids.id, object: 'chat.completion', created: ids.created, model: ids.model, choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: finishReason(reason) }], usage }
}

/** One stream chunk: text with no finish reason, or the last one (empty text) with it. */
export function streamChunk(kind: OpenAiKind, ids: ResponseIds, text: string, reason: FinishReason | null, first = false) {
  const finish = reason === null ? null : finishReason(reason)
  if (kind === 'completion') return { id: ids.id, object: 'text_completion', created: ids.created, model: ids.model, choices: [{ index: 0, text, logprobs: null, finish_reason: finish }] }
  const delta = reason !== null ? {} : first ? { role: 'assistant', content: text } : { content: text }
  return { id: ids.id, object: 'chat.completion.chunk', created: ids.created, model: ids.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] }
}

/** The chunk OpenAI sends last when `stream_options.include_usage` is set: usage, no choices. */
export function usageChunk(kind: OpenAiKind, ids: ResponseIds, usage: Usage) {
  return { id: ids.id, object: kind === 'completion' ? 'text_completion' : 'chat.completion.chunk', created: ids.created, model: ids.model, choices: [], usage }
}

export function errorBody(error: GatewayError) {
  return { error: { message: error.message, type: error.type, code: error.name, param: null } }
}

export function modelList(models: readonly { id: string }[], created: number) {
  return { object: 'list', data: models.map((m) => ({ id: m.id, object: 'model', created, owned_by: 'modelex' })) }
}
