/**
 * The OpenAI API shapes the gateway speaks, as pure functions: an OpenAI completion or chat body to our
 * `InferenceRequest` (validated by the wire checker, unknown fields dropped so stock clients work), and our deltas
 * and results back to OpenAI responses (built in `src/core/openai.ts`, as the SDK's are). `suffix` on a completion
 * means fill-in-the-middle.
 * Fields of our own choose where a request goes: `modelex_route` (`"local"`: the paired browser node; `"network"`:
 * paid network nodes) and, on the network route, `modelex_node` (a peer id instead of automatic choice) and
 * `modelex_hedge` (ask two nodes and keep the first to answer; default on for fill-in-the-middle completions) and
 * `modelex_reproducible` (false: no seed is drawn, so a node may answer an editor's next completion from its cache of
 * the previous prompt; the SDK's `reproducible`).
 */
import type { PaidResult } from '../../client/client.ts'
import { InvalidGatewayRequestError, type GatewayError } from '../../core/errors/gateway.ts'
import { MalformedMessageError } from '../../core/errors/p2p.ts'
import type { InferenceRequest } from '../../core/inference.ts'
import type { OpenAiKind } from '../../core/openai.ts'
import { parseInferenceRequest } from '../../core/wire/infer.ts'

export type GatewayRoute = 'local' | 'network'

export type ParsedOpenAiRequest = {
  request: InferenceRequest
  stream: boolean
  includeUsage: boolean
  route?: GatewayRoute
  node?: string
  hedge?: boolean
  reproducible?: boolean
}

/** `fields[name]` when it is absent or a boolean; anything else is an InvalidGatewayRequestError naming the field. */
function optionalBoolean(fields: Record<string, unknown>, name: string): boolean | undefined {
  const value = fields[name]
  if (value !== undefined && typeof value !== 'boolean')
    throw new InvalidGatewayRequestError(`${name} must be true or false.`)
  return value
}

/** Checks an OpenAI body and our routing fields. */
export function parseOpenAiRequest(kind: OpenAiKind, body: unknown): ParsedOpenAiRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new InvalidGatewayRequestError('The body must be a JSON object.')
  const fields = body as Record<string, unknown>
  const route = fields['modelex_route']
  if (route !== undefined && route !== 'local' && route !== 'network')
    throw new InvalidGatewayRequestError(
      'modelex_route must be "local" (your paired browser node) or "network" (paid network nodes).',
    )
  const node = fields['modelex_node']
  if (node !== undefined && (typeof node !== 'string' || !/^[1-9A-HJ-NP-Za-km-z]{40,128}$/.test(node)))
    throw new InvalidGatewayRequestError('modelex_node must be a peer id (12D3KooW…).')
  const hedge = optionalBoolean(fields, 'modelex_hedge')
  const reproducible = optionalBoolean(fields, 'modelex_reproducible')
  if (fields['n'] !== undefined && fields['n'] !== 1) throw new InvalidGatewayRequestError('Only n = 1 is supported.')
  const stream = optionalBoolean(fields, 'stream') === true
  const prompt = fields['prompt']
  const normalized =
    kind === 'completion' && Array.isArray(prompt) && prompt.length === 1 ? { ...fields, prompt: prompt[0] } : fields
  let request: InferenceRequest
  try {
    request = parseInferenceRequest({ ...normalized, kind })
  } catch (error) {
    if (error instanceof MalformedMessageError)
      throw new InvalidGatewayRequestError(error.details ?? error.message, error)
    throw error
  }
  const options = fields['stream_options']
  const includeUsage =
    typeof options === 'object' && options !== null && (options as Record<string, unknown>)['include_usage'] === true
  return {
    request,
    stream,
    includeUsage,
    ...(route !== undefined ? { route } : {}),
    ...(node !== undefined ? { node: node as string } : {}),
    ...(hedge !== undefined ? { hedge } : {}),
    ...(reproducible !== undefined ? { reproducible } : {}),
  }
}

/**
 * What a paid answer settled, added to responses as `modelex` (amounts in AI wei, as decimal strings): the cost
 * (the quote's input tokens and the output tokens, at the node's prices), the quote's bounds, the serving node and
 * the verified receipt.
 */
export function paidSummary(result: PaidResult) {
  const { quote } = result
  return {
    cost: result.cost.toString(),
    max_cost: quote.maxCost.toString(),
    quoted_input_tokens: quote.inputTokens,
    peer: result.peer,
    signer: quote.signer,
    channel_id: result.channelId.toString(),
    receipt_hash: result.receipt.receiptHash,
    credit: result.credit.toString(),
    // Routing: the nodes that refused or failed before this one answered, and a hedge's cancelled other node.
    ...(result.failedOver
      ? { failed_over: result.failedOver.map((a) => ({ peer: a.peerId, error: a.code ?? a.error })) }
      : {}),
    ...(result.hedge ? { hedged_with: result.hedge.peer } : {}),
  }
}
export type PaidSummary = ReturnType<typeof paidSummary>

export function errorBody(error: GatewayError) {
  return { error: { message: error.message, type: error.type, code: error.code, param: null } }
}

export {
  completionResponse,
  modelList,
  streamChunk,
  usageChunk,
  type OpenAiKind,
  type ResponseIds,
} from '../../core/openai.ts'
