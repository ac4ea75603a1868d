import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidQuoteError } from './errors/payments.ts'
import { createQuote, decodeQuote, encodeQuote, settleCost, tokenCost, type Quote } from './quote.ts'

const price = fc.bigInt({ min: 0n, max: 10n ** 24n })
const tokens = fc.integer({ min: 0, max: 1_000_000 })
const quoteArb = fc
  .record({ inputTokens: tokens, maxTokens: tokens, pricePerMillionInput: price, pricePerMillionOutput: price })
  .map((q) =>
    createQuote({
      ...q,
      model: 'm',
      modelHash: `0x${'ab'.repeat(32)}`,
      node: `0x${'11'.repeat(20)}`,
      signer: `0x${'22'.repeat(20)}`,
      chainId: 31337,
    }),
  )

describe('quote (properties)', () => {
  it('is input × input price + max_tokens × output price per million, rounded up', () => {
    fc.assert(
      fc.property(quoteArb, (q) => {
        const raw = BigInt(q.inputTokens) * q.pricePerMillionInput + BigInt(q.maxTokens) * q.pricePerMillionOutput
        expect(q.maxCost * 1_000_000n >= raw).toBe(true)
        expect((q.maxCost - 1n) * 1_000_000n < raw || q.maxCost === 0n).toBe(true)
      }),
    )
  })

  it('a settled cost never exceeds the maximum and grows with the tokens generated', () => {
    fc.assert(
      fc.property(quoteArb, tokens, tokens, (q, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a]
        expect(settleCost(q, hi) <= q.maxCost).toBe(true)
        expect(settleCost(q, lo) <= settleCost(q, hi)).toBe(true)
        expect(settleCost(q, q.maxTokens)).toBe(q.maxCost)
      }),
    )
  })

  it('round-trips through JSON and refuses a maxCost its prices do not give', () => {
    fc.assert(
      fc.property(quoteArb, fc.bigInt({ min: 1n, max: 10n ** 6n }), (q, delta) => {
        const wire = JSON.parse(JSON.stringify(encodeQuote(q))) as Record<string, unknown>
        expect(decodeQuote(wire)).toEqual(q)
        const inflated = { ...wire, maxCost: (q.maxCost + delta).toString() }
        expect(() => decodeQuote(inflated)).toThrow(InvalidQuoteError)
      }),
    )
  })

  it('refuses malformed quotes with one error type', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        try {
          decodeQuote(value)
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidQuoteError)
        }
      }),
    )
  })

  it('costs are exact on small numbers', () => {
    expect(tokenCost(10, 0, { pricePerMillionInput: 1_000_000n, pricePerMillionOutput: 0n })).toBe(10n)
    expect(tokenCost(1, 0, { pricePerMillionInput: 1n, pricePerMillionOutput: 0n })).toBe(1n)
    expect(tokenCost(0, 0, { pricePerMillionInput: 1n, pricePerMillionOutput: 1n })).toBe(0n)
    const q: Quote = createQuote({
      model: 'm',
      modelHash: `0x${'ab'.repeat(32)}`,
      inputTokens: 7,
      maxTokens: 16,
      pricePerMillionInput: 2_000_000n,
      pricePerMillionOutput: 3_000_000n,
      node: `0x${'11'.repeat(20)}`,
      signer: `0x${'22'.repeat(20)}`,
      chainId: 1,
    })
    expect(q.maxCost).toBe(14n + 48n)
    expect(settleCost(q, 5)).toBe(14n + 15n)
  })
})
