/**
 * The price of one request. A node quotes input tokens × input price + max_tokens × output price (prices per
 * million tokens, in AI wei, rounded up), counting the input with its own model's tokenizer, so the exact quote
 * comes from the node. The receipt later bills the quoted input and the tokens actually generated, which can only
 * be less than or equal to the quote's maximum. Quotes travel as JSON with amounts as decimal strings.
 */
import type { Address, Hex } from 'viem'
import type { JsonValue } from './errors/base.ts'
import { MalformedMessageError } from './errors/p2p.ts'
import { InvalidQuoteError } from './errors/payments.ts'
import type { InferenceRequest } from './inference.ts'
import { integer, object, only, string } from './wire/check.ts'

/** Prices are per this many tokens. */
export const TOKENS_PER_PRICE_UNIT = 1_000_000n
export const QUOTE_VERSION = 1

export type Prices = { pricePerMillionInput: bigint; pricePerMillionOutput: bigint }

export type Quote = Prices & {
  v: typeof QUOTE_VERSION
  /** Model id and content hash the node serves the request with. */
  model: string
  modelHash: Hex
  inputTokens: number
  maxTokens: number
  /** The most this request can cost, in AI wei (channel units). */
  maxCost: bigint
  /** Who gets paid (the operator, the channel's node) and who signs the receipt. */
  node: Address
  signer: Address
  chainId: number
}

/** ceil((input × input price + output × output price) / 10^6): never rounds a cost down to zero. */
export function tokenCost(inputTokens: number, outputTokens: number, prices: Prices): bigint {
  checkCount('inputTokens', inputTokens)
  checkCount('outputTokens', outputTokens)
  const raw = BigInt(inputTokens) * prices.pricePerMillionInput + BigInt(outputTokens) * prices.pricePerMillionOutput
  return (raw + TOKENS_PER_PRICE_UNIT - 1n) / TOKENS_PER_PRICE_UNIT
}

/** The text a node counts as the request's input: the messages' contents, or prompt and suffix. */
export function quotedText(request: InferenceRequest): string {
  return request.kind === 'chat'
    ? request.messages.map((m) => m.content).join('\n')
    : request.prompt + (request.suffix ?? '')
}

export type CreateQuoteParameters = Omit<Quote, 'v' | 'maxCost'>

export function createQuote(parameters: CreateQuoteParameters): Quote {
  if (parameters.pricePerMillionInput < 0n || parameters.pricePerMillionOutput < 0n)
    throw new InvalidQuoteError({ details: 'negative price' })
  return {
    v: QUOTE_VERSION,
    ...parameters,
    maxCost: tokenCost(parameters.inputTokens, parameters.maxTokens, parameters),
  }
}

/** What a finished request costs: the quoted input plus the tokens generated, never above the quote's maximum. */
export function settleCost(quote: Quote, completionTokens: number): bigint {
  const cost = tokenCost(quote.inputTokens, Math.min(completionTokens, quote.maxTokens), quote)
  return cost < quote.maxCost ? cost : quote.maxCost
}

/** The max_tokens a node applies when the request names none. */
export const DEFAULT_MAX_TOKENS = 256

export function encodeQuote(quote: Quote): JsonValue {
  return {
    v: quote.v,
    model: quote.model,
    modelHash: quote.modelHash,
    inputTokens: quote.inputTokens,
    maxTokens: quote.maxTokens,
    pricePerMillionInput: quote.pricePerMillionInput.toString(),
    pricePerMillionOutput: quote.pricePerMillionOutput.toString(),
    maxCost: quote.maxCost.toString(),
    node: quote.node,
    signer: quote.signer,
    chainId: quote.chainId,
  }
}

/** Parses a quote and checks that its maximum is what its own prices give (a node cannot quote a hidden surcharge). */
export function decodeQuote(value: unknown): Quote {
  try {
    const fields = object(value, 'quote')
    only(fields, 'quote', [
      'v',
      'model',
      'modelHash',
      'inputTokens',
      'maxTokens',
      'pricePerMillionInput',
      'pricePerMillionOutput',
      'maxCost',
      'node',
      'signer',
      'chainId',
    ])
    if (fields['v'] !== QUOTE_VERSION) throw new MalformedMessageError(`quote.v: expected ${QUOTE_VERSION}`)
    const quote: Quote = {
      v: QUOTE_VERSION,
      model: string(fields['model'], 'quote.model', 256, 1),
      modelHash: hex(fields['modelHash'], 'quote.modelHash', 64),
      inputTokens: integer(fields['inputTokens'], 'quote.inputTokens', 0, 2 ** 32),
      maxTokens: integer(fields['maxTokens'], 'quote.maxTokens', 0, 2 ** 32),
      pricePerMillionInput: amount(fields['pricePerMillionInput'], 'quote.pricePerMillionInput'),
      pricePerMillionOutput: amount(fields['pricePerMillionOutput'], 'quote.pricePerMillionOutput'),
      maxCost: amount(fields['maxCost'], 'quote.maxCost'),
      node: hex(fields['node'], 'quote.node', 40) as Address,
      signer: hex(fields['signer'], 'quote.signer', 40) as Address,
      chainId: integer(fields['chainId'], 'quote.chainId', 1, Number.MAX_SAFE_INTEGER),
    }
    const expected = tokenCost(quote.inputTokens, quote.maxTokens, quote)
    if (quote.maxCost !== expected)
      throw new InvalidQuoteError({
        details: `maxCost ${quote.maxCost} is not ${expected}, what the quote's own prices give`,
      })
    return quote
  } catch (error) {
    if (error instanceof InvalidQuoteError) throw error
    throw new InvalidQuoteError({ details: (error as Error).message })
  }
}

const UINT256_MAX = 2n ** 256n - 1n

/** A decimal string of a uint256. */
export function amount(value: unknown, path: string): bigint {
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]{0,77})$/.test(value))
    throw new MalformedMessageError(`${path}: expected a decimal amount`)
  const parsed = BigInt(value)
  if (parsed > UINT256_MAX) throw new MalformedMessageError(`${path}: above uint256`)
  return parsed
}

/** 0x-prefixed hex of exactly `digits` digits. */
export function hex(value: unknown, path: string, digits: number): Hex {
  if (typeof value !== 'string' || value.length !== digits + 2 || !/^0x[0-9a-fA-F]*$/.test(value))
    throw new MalformedMessageError(`${path}: expected ${digits} hex digits`)
  return value as Hex
}

function checkCount(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new InvalidQuoteError({ details: `${field} must be a non-negative integer, got ${value}` })
}
