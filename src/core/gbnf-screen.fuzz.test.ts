import fc from 'fast-check'
import { expect, it } from 'vitest'
import { GrammarRefusal, screenGbnf } from './gbnf-screen.ts'

// Expressions built with what they can match known: [source, nullable].
const leaf = fc.oneof(
  fc.stringMatching(/^[a-z]{1,4}$/).map((w) => [`"${w}"`, false] as const),
  fc.constant(['""', true] as const),
  fc.constant(['[0-9]', false] as const),
  fc.constant(['.', false] as const),
)
const expression: fc.Arbitrary<readonly [string, boolean]> = fc.letrec<{ e: readonly [string, boolean] }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.tuple(tie('e'), tie('e')).map(([a, b]) => [`${a[0]} ${b[0]}`, a[1] && b[1]] as const),
    fc.tuple(tie('e'), tie('e')).map(([a, b]) => [`(${a[0]} | ${b[0]})`, a[1] || b[1]] as const),
    tie('e').map((a) => [`(${a[0]})?`, true] as const),
    fc
      .tuple(tie('e'), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }))
      .map(([a, m, n]) => [`(${a[0]}){${Math.min(m, n)},${Math.max(m, n)}}`, a[1] || Math.min(m, n) === 0] as const),
  ),
})).e

it('an unbounded repetition is refused exactly when its item can match the empty string', () => {
  fc.assert(
    fc.property(expression, fc.constantFrom('*', '+', '{2,}'), ([source, nullable], quantifier) => {
      const grammar = `root ::= "<" (${source})${quantifier} ">"`
      if (nullable) expect(() => screenGbnf(grammar)).toThrow(/without bound/)
      else expect(screenGbnf(grammar)).toEqual(['root'])
    }),
    { numRuns: 2_000 },
  )
})

it('any text is screened or refused with GrammarRefusal, nothing else', () => {
  const pieces = fc.constantFrom(
    'root',
    ' ::= ',
    '"a"',
    '""',
    '(',
    ')',
    '|',
    '*',
    '+',
    '?',
    '{2}',
    '{1,}',
    '[a-z]',
    '\n',
    'x',
    ' x ::= ',
    '#c\n',
    '<t>',
    '.',
    '\\',
  )
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.array(pieces, { maxLength: 40 }).map((p) => p.join('')),
      ),
      (text) => {
        try {
          screenGbnf(text)
        } catch (error) {
          expect(error).toBeInstanceOf(GrammarRefusal)
        }
      },
    ),
    { numRuns: 20_000 },
  )
})
