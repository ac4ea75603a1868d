/**
 * The `/modelex/infer/1.0.0` stream protocol's messages. The dialer sends one `request` frame (an OpenAI-shaped
 * chat or completion body plus an opaque payment), and may then close its write side (the usual request/response
 * convention) or later send one `cancel` frame. The node answers a quote-only request with one `quote` frame;
 * otherwise `accepted`, then `delta` frames, then exactly one final frame, `done` or `error`, and closes its side.
 * A cancelled request ends with `done` (finish reason `abort`, the receipt of what was sent); a reset stream ends
 * with nothing. Each message is one JSON object in one length-prefixed frame; decoders check every field and refuse
 * anything else with `MalformedMessageError`.
 */
import { GrammarRefusal, screenGbnf } from '../gbnf-screen.ts'
import type { JsonValue } from '../errors/base.ts'
import { INFER_ERROR_CODES, type InferErrorCode } from '../errors/p2p.ts'
import type {
  ChatMessage,
  FinishReason,
  InferenceRequest,
  ResponseFormat,
  SamplingParameters,
  Usage,
} from '../inference.ts'
import {
  array,
  decodeJson,
  encodeJson,
  fail,
  finite,
  integer,
  json,
  object,
  oneOf,
  only,
  string,
  type Fields,
} from './check.ts'
import { encodeFrame } from './frame.ts'

export const INFER_PROTOCOL = '/modelex/infer/1.0.0'
export const INFER_WIRE_VERSION = 1

/** The request frame may be large (a long prompt); every other frame is small. */
export const MAX_REQUEST_BYTES = 256 * 1024
export const MAX_FRAME_BYTES = 64 * 1024

export const WIRE_LIMITS = {
  modelId: 256,
  messages: 1024,
  stops: 16,
  stopLength: 256,
  /** Wire-level bound only; nodes apply their own, smaller cap. */
  maxTokens: 1_000_000,
  /**
   * Sampling seeds are uint32 (llama.cpp's and web-llm's), but for 0xFFFFFFFF, which llama.cpp reads as "pick a
   * random seed": a seed a request names always reproduces its output.
   */
  seed: 0xfffffffe,
} as const

/** `quoteOnly`: the dialer asks what the request would cost; the node answers one `quote` frame and runs nothing. */
export type InferRequestMessage = {
  type: 'request'
  v: typeof INFER_WIRE_VERSION
  request: InferenceRequest
  payment: JsonValue | null
  quoteOnly?: true
}
/** Sent by the dialer after its request: stop generating and settle what was sent (answered by `done`). */
export type CancelMessage = { type: 'cancel' }
/** The node's price for a quote-only request. */
export type QuoteMessage = { type: 'quote'; quote: JsonValue }
export type AcceptedMessage = { type: 'accepted'; model: string; quote: JsonValue | null }
export type DeltaMessage = { type: 'delta'; text: string; tokens: number }
export type DoneMessage = { type: 'done'; finish_reason: FinishReason; usage: Usage; receipt: JsonValue | null }
/**
 * `quote`: with PAYMENT_REQUIRED, the price of the request as the node would serve it. `settlement`: with a voucher
 * refused because the channel settled more than the consumer knows (a cancelled request whose receipt it missed),
 * the channel's latest signed receipt, so the consumer can catch up and sign a voucher that covers it.
 */
export type ErrorMessage = {
  type: 'error'
  code: InferErrorCode
  message: string
  retryAfterMs?: number
  quote?: JsonValue
  settlement?: JsonValue
}
export type InferResponseMessage = AcceptedMessage | QuoteMessage | DeltaMessage | DoneMessage | ErrorMessage

export function encodeRequestFrame(message: InferRequestMessage): Uint8Array {
  return encodeFrame(encodeJson(message), MAX_REQUEST_BYTES)
}

export function encodeResponseFrame(message: InferResponseMessage): Uint8Array {
  return encodeFrame(encodeJson(message), MAX_FRAME_BYTES)
}

export function encodeCancelFrame(): Uint8Array {
  return encodeFrame(encodeJson({ type: 'cancel' } satisfies CancelMessage), MAX_FRAME_BYTES)
}

/** Decodes a frame the dialer sends after its request: only `cancel` exists. */
export function decodeClientFrame(payload: Uint8Array): CancelMessage {
  const fields = object(decodeJson(payload), 'frame')
  if (fields['type'] !== 'cancel') fail('frame.type', '"cancel"')
  only(fields, 'frame', ['type'])
  return { type: 'cancel' }
}

/** Decodes the payload of a request frame (the frame decoder has already enforced `MAX_REQUEST_BYTES`). */
export function decodeRequest(payload: Uint8Array): InferRequestMessage {
  const fields = object(decodeJson(payload), 'frame')
  if (fields['type'] !== 'request') fail('frame.type', '"request"')
  if (fields['v'] !== INFER_WIRE_VERSION) fail('frame.v', `${INFER_WIRE_VERSION}`)
  only(fields, 'frame', ['type', 'v', 'request', 'payment', 'quoteOnly'])
  const payment = fields['payment'] === undefined ? null : json(fields['payment'], 'frame.payment')
  const message: InferRequestMessage = {
    type: 'request',
    v: INFER_WIRE_VERSION,
    request: parseInferenceRequest(fields['request']),
    payment,
  }
  if (fields['quoteOnly'] !== undefined) {
    if (fields['quoteOnly'] !== true) fail('frame.quoteOnly', 'true')
    message.quoteOnly = true
  }
  return message
}

export function decodeResponse(payload: Uint8Array): InferResponseMessage {
  const fields = object(decodeJson(payload), 'frame')
  switch (fields['type']) {
    case 'accepted':
      only(fields, 'frame', ['type', 'model', 'quote'])
      return {
        type: 'accepted',
        model: string(fields['model'], 'frame.model', WIRE_LIMITS.modelId, 1),
        quote: fields['quote'] === undefined ? null : json(fields['quote'], 'frame.quote'),
      }
    case 'quote':
      only(fields, 'frame', ['type', 'quote'])
      if (fields['quote'] === undefined || fields['quote'] === null) fail('frame.quote', 'a quote')
      return { type: 'quote', quote: json(fields['quote'], 'frame.quote') }
    case 'delta':
      only(fields, 'frame', ['type', 'text', 'tokens'])
      return {
        type: 'delta',
        text: string(fields['text'], 'frame.text', MAX_FRAME_BYTES),
        tokens: integer(fields['tokens'], 'frame.tokens', 0, 1_000_000),
      }
    case 'done':
      only(fields, 'frame', ['type', 'finish_reason', 'usage', 'receipt'])
      return {
        type: 'done',
        finish_reason: oneOf(fields['finish_reason'], 'frame.finish_reason', ['stop', 'length', 'abort'] as const),
        usage: parseUsage(fields['usage']),
        receipt: fields['receipt'] === undefined ? null : json(fields['receipt'], 'frame.receipt'),
      }
    case 'error': {
      only(fields, 'frame', ['type', 'code', 'message', 'retryAfterMs', 'quote', 'settlement'])
      const message: ErrorMessage = {
        type: 'error',
        code: oneOf(fields['code'], 'frame.code', INFER_ERROR_CODES),
        message: string(fields['message'], 'frame.message', 4096),
      }
      if (fields['retryAfterMs'] !== undefined)
        message.retryAfterMs = integer(fields['retryAfterMs'], 'frame.retryAfterMs', 0, 3_600_000)
      if (fields['quote'] !== undefined && fields['quote'] !== null)
        message.quote = json(fields['quote'], 'frame.quote')
      if (fields['settlement'] !== undefined && fields['settlement'] !== null)
        message.settlement = json(fields['settlement'], 'frame.settlement')
      return message
    }
    default:
      return fail('frame.type', 'accepted, quote, delta, done or error')
  }
}

function parseUsage(value: unknown): Usage {
  const usage = object(value, 'frame.usage')
  only(usage, 'frame.usage', ['prompt_tokens', 'completion_tokens', 'total_tokens'])
  const prompt = integer(usage['prompt_tokens'], 'frame.usage.prompt_tokens', 0, 2 ** 32)
  const completion = integer(usage['completion_tokens'], 'frame.usage.completion_tokens', 0, 2 ** 32)
  const total = integer(usage['total_tokens'], 'frame.usage.total_tokens', 0, 2 ** 33)
  if (total !== prompt + completion) fail('frame.usage.total_tokens', 'prompt_tokens + completion_tokens')
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total }
}

/**
 * Checks an OpenAI-shaped body and rebuilds it from the known fields only: unknown fields that OpenAI clients send
 * (`stream`, `user`, ...) are dropped rather than refused, so such clients work unchanged.
 */
export function parseInferenceRequest(value: unknown): InferenceRequest {
  const body = object(value, 'request')
  const kind = oneOf(body['kind'], 'request.kind', ['chat', 'completion'] as const)
  const model = string(body['model'], 'request.model', WIRE_LIMITS.modelId, 1)
  const sampling = parseSampling(body)
  if (kind === 'chat') {
    const messages = array(body['messages'], 'request.messages', WIRE_LIMITS.messages, 1).map((m, i) =>
      parseMessage(m, `request.messages[${i}]`),
    )
    return { kind, model, messages, ...sampling }
  }
  const prompt = string(body['prompt'], 'request.prompt', MAX_REQUEST_BYTES)
  const request: InferenceRequest = { kind, model, prompt, ...sampling }
  if (body['suffix'] !== undefined) request.suffix = string(body['suffix'], 'request.suffix', MAX_REQUEST_BYTES)
  return request
}

function parseMessage(value: unknown, path: string): ChatMessage {
  const message = object(value, path)
  return {
    role: oneOf(message['role'], `${path}.role`, ['system', 'user', 'assistant'] as const),
    content: string(message['content'], `${path}.content`, MAX_REQUEST_BYTES),
  }
}

function parseSampling(body: Fields): SamplingParameters {
  const out: SamplingParameters = {}
  if (body['max_tokens'] !== undefined)
    out.max_tokens = integer(body['max_tokens'], 'request.max_tokens', 0, WIRE_LIMITS.maxTokens)
  if (body['temperature'] !== undefined) out.temperature = finite(body['temperature'], 'request.temperature', 0, 2)
  if (body['top_p'] !== undefined) out.top_p = finite(body['top_p'], 'request.top_p', 0, 1)
  if (body['seed'] !== undefined) out.seed = integer(body['seed'], 'request.seed', 0, WIRE_LIMITS.seed)
  const stop = body['stop']
  if (stop !== undefined) {
    out.stop =
      typeof stop === 'string'
        ? string(stop, 'request.stop', WIRE_LIMITS.stopLength)
        : array(stop, 'request.stop', WIRE_LIMITS.stops).map((s, i) =>
            string(s, `request.stop[${i}]`, WIRE_LIMITS.stopLength),
          )
  }
  if (body['response_format'] !== undefined) out.response_format = parseResponseFormat(body['response_format'])
  return out
}

function parseResponseFormat(value: unknown): ResponseFormat {
  const format = object(value, 'request.response_format')
  const type = oneOf(format['type'], 'request.response_format.type', ['text', 'json_object', 'grammar'] as const)
  if (type === 'text') return { type }
  if (type === 'grammar') {
    const grammar = string(format['grammar'], 'request.response_format.grammar', MAX_REQUEST_BYTES, 1)
    try {
      screenGbnf(grammar)
    } catch (error) {
      if (error instanceof GrammarRefusal)
        fail('request.response_format.grammar', `a grammar an engine can compile safely (${error.message})`)
      throw error
    }
    return { type, grammar }
  }
  if (format['schema'] === undefined) return { type }
  return { type, schema: object(format['schema'], 'request.response_format.schema') }
}
