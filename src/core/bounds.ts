/**
 * What a consumer lets a node take. A node counts a request's input with its own tokenizer, so the consumer cannot
 * know the exact count, but it can bound it: every model the network serves uses a byte-level tokenizer (GPT-2
 * style BPE, or SentencePiece with byte fallback), where no token is shorter than one byte of the text, so the
 * count is at most the text's UTF-8 bytes plus what the chat or FIM template adds. A quote above that bound, or
 * above the consumer's spend limits, or at prices other than the node's registered ones, is refused before any
 * voucher is signed; a receipt that bills more input than the bound is refused too.
 *
 * The same bound lets a consumer skip the quote round trip: it prepays `prepaidMaxCost` (the bound × the registered
 * prices) and the node settles the actual cost; the rest stays credit.
 */
import type { Address } from 'viem'
import { InvalidQuoteError, SpendLimitError, StreamLimitError } from './errors/payments.ts'
import type { InferenceRequest } from './inference.ts'
import { quotedText, tokenCost, type Prices, type Quote } from './quote.ts'

/**
 * Tokens a template may add around the counted text: a few per chat message (role markers, separators) and a few
 * per request (BOS, the assistant's opening, FIM markers). Generous on purpose: it is a ceiling, not a price.
 */
export const TEMPLATE_OVERHEAD = { perRequest: 16, perMessage: 8 } as const

const encoder = new TextEncoder()

/** The most input tokens an honest node can count for `request` (see the module comment). */
export function inputTokenBound(request: InferenceRequest): number {
  const bytes = encoder.encode(quotedText(request)).length
  const messages = request.kind === 'chat' ? request.messages.length : request.suffix === undefined ? 1 : 2
  return bytes + TEMPLATE_OVERHEAD.perRequest + TEMPLATE_OVERHEAD.perMessage * messages
}

/** What a consumer allows, in AI wei (channel units). */
export type SpendLimits = {
  /** The most one request may cost (a quote's maximum, or a prepayment). */
  maxSpendPerRequest: bigint
  /** The most one channel may hold: what opening and top-ups may put at risk with one node. */
  maxDeposit: bigint
  /** The highest prices per million tokens the consumer accepts, whatever a node registered. */
  maxPricePerMillionInput: bigint
  maxPricePerMillionOutput: bigint
}

/** What the consumer knows of a node independently of its quote: the signed announcement and the registry. */
export type QuoteExpectation = {
  request: InferenceRequest
  /** Prices registered on-chain for the node's operator (the announcement is the node's own word). */
  registered: Prices
  operator: Address
  signer: Address
  chainId: number
  limits: SpendLimits
}

/**
 * Refuses a quote that an honest node would not give for this request, or that exceeds the consumer's limits:
 * `InvalidQuoteError` for a quote that breaks the rules, `SpendLimitError` for one that is merely too expensive.
 */
export function checkQuote(quote: Quote, expected: QuoteExpectation): Quote {
  const { request, registered } = expected
  const bound = inputTokenBound(request)
  const problems = [
    quote.signer.toLowerCase() !== expected.signer.toLowerCase() && 'signer differs from the announcement',
    quote.node.toLowerCase() !== expected.operator.toLowerCase() && 'operator differs from the announcement',
    quote.chainId !== expected.chainId && 'another chain',
    quote.model !== request.model && 'another model',
    quote.maxTokens !== request.max_tokens && 'max_tokens differs from the request',
    quote.inputTokens > bound && `${quote.inputTokens} input tokens quoted; the prompt has at most ${bound}`,
    quote.pricePerMillionInput !== registered.pricePerMillionInput &&
      `input price ${quote.pricePerMillionInput} is not the registered ${registered.pricePerMillionInput}`,
    quote.pricePerMillionOutput !== registered.pricePerMillionOutput &&
      `output price ${quote.pricePerMillionOutput} is not the registered ${registered.pricePerMillionOutput}`,
  ].filter((p): p is string => typeof p === 'string')
  if (problems.length > 0) throw new InvalidQuoteError({ details: problems.join('; ') })
  checkSpend(quote, quote.maxCost, expected.limits)
  return quote
}

/** Refuses prices above the consumer's maximum and a request whose maximum cost is above its per-request limit. */
export function checkSpend(prices: Prices, maxCost: bigint, limits: SpendLimits): void {
  if (prices.pricePerMillionInput > limits.maxPricePerMillionInput)
    throw new SpendLimitError({
      limit: 'maxPricePerMillionInput',
      allowed: limits.maxPricePerMillionInput,
      asked: prices.pricePerMillionInput,
    })
  if (prices.pricePerMillionOutput > limits.maxPricePerMillionOutput)
    throw new SpendLimitError({
      limit: 'maxPricePerMillionOutput',
      allowed: limits.maxPricePerMillionOutput,
      asked: prices.pricePerMillionOutput,
    })
  if (maxCost > limits.maxSpendPerRequest)
    throw new SpendLimitError({ limit: 'maxSpendPerRequest', allowed: limits.maxSpendPerRequest, asked: maxCost })
}

/** What a consumer prepays to skip the quote: the input bound and max_tokens at the node's registered prices. */
export function prepaidMaxCost(request: InferenceRequest, registered: Prices, maxTokens: number): bigint {
  return tokenCost(inputTokenBound(request), maxTokens, registered)
}

/** The longest text one token can decode to, for the cap on a streamed answer (the longest vocabulary entries are runs of spaces). */
export const MAX_CHARS_PER_TOKEN = 256

/**
 * Counts a streamed answer against max_tokens: `add` throws `StreamLimitError` once the node has sent more tokens
 * than asked for (or more text than that many tokens can hold), so a reader stops there instead of buffering
 * whatever a node sends.
 */
export function streamMeter(maxTokens: number): {
  add(delta: { text: string; tokens: number }): void
  readonly tokens: number
  readonly text: string
} {
  let tokens = 0
  let text = ''
  return {
    add(delta) {
      if (tokens + delta.tokens > maxTokens || text.length + delta.text.length > maxTokens * MAX_CHARS_PER_TOKEN)
        throw new StreamLimitError({ maxTokens, received: tokens + delta.tokens, kept: tokens, text })
      tokens += delta.tokens
      text += delta.text
    },
    get tokens() {
      return tokens
    },
    get text() {
      return text
    },
  }
}
