/** The consumer's bounds as properties: honest quotes pass, inflated ones and expensive ones are refused, streams are capped. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  checkQuote,
  inputTokenBound,
  MAX_CHARS_PER_TOKEN,
  prepaidMaxCost,
  streamMeter,
  type SpendLimits,
} from './bounds.ts'
import { InvalidQuoteError, SpendLimitError, StreamLimitError } from './errors/payments.ts'
import type { InferenceRequest } from './inference.ts'
import { createQuote, tokenCost } from './quote.ts'

const operator = `0x${'11'.repeat(20)}` as const
const signer = `0x${'22'.repeat(20)}` as const
const limits: SpendLimits = {
  maxSpendPerRequest: 10n ** 24n,
  maxDeposit: 10n ** 25n,
  maxPricePerMillionInput: 10n ** 20n,
  maxPricePerMillionOutput: 10n ** 20n,
}
const text = fc.string({ unit: 'binary', maxLength: 200 })
const request = fc.oneof(
  fc
    .record({
      prompt: text,
      suffix: fc.option(text, { nil: undefined }),
      max_tokens: fc.integer({ min: 0, max: 4096 }),
    })
    .map(({ prompt, suffix, max_tokens }) => ({
      kind: 'completion' as const,
      model: 'm',
      prompt,
      max_tokens,
      ...(suffix === undefined ? {} : { suffix }),
    })),
  fc
    .record({
      messages: fc.array(fc.record({ role: fc.constantFrom('system' as const, 'user' as const), content: text }), {
        minLength: 1,
        maxLength: 6,
      }),
      max_tokens: fc.integer({ min: 0, max: 4096 }),
    })
    .map(({ messages, max_tokens }) => ({ kind: 'chat' as const, model: 'm', messages, max_tokens })),
)
const prices = fc.record({
  pricePerMillionInput: fc.bigInt({ min: 0n, max: 10n ** 20n }),
  pricePerMillionOutput: fc.bigInt({ min: 0n, max: 10n ** 20n }),
})

function quote(
  r: InferenceRequest,
  inputTokens: number,
  p: { pricePerMillionInput: bigint; pricePerMillionOutput: bigint },
) {
  return createQuote({
    model: 'm',
    modelHash: `0x${'ab'.repeat(32)}`,
    inputTokens,
    maxTokens: r.max_tokens ?? 0,
    ...p,
    node: operator,
    signer,
    chainId: 31337,
  })
}
const expectation = (
  r: InferenceRequest,
  registered: { pricePerMillionInput: bigint; pricePerMillionOutput: bigint },
  l = limits,
) => ({ request: r, registered, operator, signer, chainId: 31337, limits: l })

describe('bounds (properties)', () => {
  it('the bound holds for any byte-level count: a quote of at most one token per byte (plus the template) passes', () => {
    fc.assert(
      fc.property(request, prices, fc.double({ min: 0, max: 1, noNaN: true }), (r, p, share) => {
        const bound = inputTokenBound(r)
        expect(bound).toBeGreaterThanOrEqual(
          new TextEncoder().encode(
            r.kind === 'chat' ? r.messages.map((m) => m.content).join('\n') : r.prompt + (r.suffix ?? ''),
          ).length,
        )
        const q = quote(r, Math.floor(bound * share), p)
        expect(checkQuote(q, expectation(r, p))).toBe(q)
      }),
    )
  })

  it('an inflated input count is refused, whatever the prices', () => {
    fc.assert(
      fc.property(request, prices, fc.integer({ min: 1, max: 2 ** 32 }), (r, p, extra) => {
        const inputTokens = Math.min(inputTokenBound(r) + extra, 2 ** 32)
        expect(() => checkQuote(quote(r, inputTokens, p), expectation(r, p))).toThrow(InvalidQuoteError)
      }),
    )
  })

  it('prices other than the registered ones are refused; prices or a maximum above the limits are a SpendLimitError', () => {
    fc.assert(
      fc.property(request, prices, fc.bigInt({ min: 1n, max: 10n ** 18n }), (r, p, delta) => {
        const q = quote(r, 0, { ...p, pricePerMillionInput: p.pricePerMillionInput + delta })
        expect(() => checkQuote(q, expectation(r, p))).toThrow(InvalidQuoteError)
        const honest = quote(r, inputTokenBound(r), p)
        const tight = { ...limits, maxSpendPerRequest: honest.maxCost - 1n }
        if (honest.maxCost > 0n) expect(() => checkQuote(honest, expectation(r, p, tight))).toThrow(SpendLimitError)
        const cheap = { ...limits, maxPricePerMillionOutput: p.pricePerMillionOutput - 1n }
        if (p.pricePerMillionOutput > 0n)
          expect(() => checkQuote(honest, expectation(r, p, cheap))).toThrow(SpendLimitError)
      }),
    )
  })

  it('the prepaid maximum covers every quote an honest node can give', () => {
    fc.assert(
      fc.property(request, prices, fc.double({ min: 0, max: 1, noNaN: true }), (r, p, share) => {
        const prepaid = prepaidMaxCost(r, p, r.max_tokens ?? 0)
        expect(tokenCost(Math.floor(inputTokenBound(r) * share), r.max_tokens ?? 0, p) <= prepaid).toBe(true)
      }),
    )
  })

  it('a stream stops at max_tokens and at the text such tokens can hold', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 64 }),
        fc.array(fc.record({ text: fc.string({ maxLength: 8 }), tokens: fc.integer({ min: 0, max: 4 }) }), {
          maxLength: 100,
        }),
        (maxTokens, deltas) => {
          const meter = streamMeter(maxTokens)
          let total = 0
          let chars = 0
          for (const d of deltas) {
            total += d.tokens
            chars += d.text.length
            if (total > maxTokens || chars > maxTokens * MAX_CHARS_PER_TOKEN) {
              expect(() => meter.add(d)).toThrow(StreamLimitError)
              return
            }
            meter.add(d)
          }
          expect(meter.tokens).toBe(total)
        },
      ),
    )
    const meter = streamMeter(1)
    expect(() => meter.add({ text: 'x'.repeat(257), tokens: 1 })).toThrow(StreamLimitError)
  })
})
