import { stringToHex, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import { chainValueOf, medianOf, roundValue, templateValuesFromInput } from './oracle-answer.ts'
import { CLASSIFICATION_TEMPLATE, SENTIMENT_TEMPLATE, SUMMARY_TEMPLATE, validateOutput } from './templates.ts'

describe('oracle answers', () => {
  it('a plain text input fills the only required text parameter; a JSON object gives the values', () => {
    expect(templateValuesFromInput(SENTIMENT_TEMPLATE, stringToHex('ACME beats estimates'), 1n)).toEqual({
      headline: 'ACME beats estimates',
    })
    expect(templateValuesFromInput(SENTIMENT_TEMPLATE, stringToHex('{"headline":"x"}'), 1n)).toEqual({ headline: 'x' })
  })

  it('an input that cannot fill the template is OracleInputError', () => {
    const refused = (template: typeof SENTIMENT_TEMPLATE, input: `0x${string}`, reason: RegExp) =>
      expect(() => templateValuesFromInput(template, input, 7n)).toThrow(
        expect.objectContaining({ name: 'OracleInputError', requestId: '7', reason: expect.stringMatching(reason) }),
      )
    refused(SENTIMENT_TEMPLATE, '0xff', /UTF-8/)
    refused(SENTIMENT_TEMPLATE, stringToHex('{ nope'), /not JSON/)
    refused(SENTIMENT_TEMPLATE, stringToHex('{"headline":{"a":1}}'), /neither text/)
    refused(CLASSIFICATION_TEMPLATE, stringToHex('some text'), /exactly one required text parameter/)
    refused(SENTIMENT_TEMPLATE, toHex(new Uint8Array(64 * 1024 + 1)), /bytes/)
  })

  it('integer outputs are their value, enum outputs the index of their label, others have none', () => {
    expect(chainValueOf(SENTIMENT_TEMPLATE, validateOutput(SENTIMENT_TEMPLATE, '-42'))).toBe(-42n)
    const values = { text: 't', labels: 'up, down, flat' }
    expect(chainValueOf(CLASSIFICATION_TEMPLATE, validateOutput(CLASSIFICATION_TEMPLATE, 'flat', values), values)).toBe(
      2n,
    )
    expect(chainValueOf(SUMMARY_TEMPLATE, { type: 'text', value: 'x' })).toBeNull()
  })

  it('a round value is the mean rounded half away from zero', () => {
    expect(roundValue([])).toBeNull()
    expect(roundValue([1n, 2n])).toBe(2n)
    expect(roundValue([-1n, -2n])).toBe(-2n)
    expect(roundValue([1n, 1n, 2n])).toBe(1n)
    expect(roundValue([100n, 100n, -100n])).toBe(33n)
    expect(roundValue([-100n, -100n, -100n, 99n])).toBe(-50n)
  })

  it('the median is the router median (even counts: mean of the middle two toward zero)', () => {
    expect(medianOf([5n, -3n, 10n])).toBe(5n)
    expect(medianOf([1n, 2n])).toBe(1n)
    expect(medianOf([-1n, -2n])).toBe(-1n)
    expect(medianOf([])).toBeNull()
  })
})
