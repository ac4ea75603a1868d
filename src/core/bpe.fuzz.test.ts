import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEMO_TINY } from '../engine/demo-model/generate.ts'
import {
  buildVocabulary,
  bytesToUnicode,
  DEMO_CORPUS,
  GPT2_SPLIT,
  SPECIAL_TOKENS,
} from '../engine/demo-model/tokenizer.ts'
import { createBpeTokenizer } from './bpe.ts'

const demo = buildVocabulary(DEMO_CORPUS, DEMO_TINY.mergeCount)
const tokenizer = createBpeTokenizer(
  { tokens: demo.tokens, merges: demo.merges, tokenTypes: demo.tokenTypes, pre: 'gpt-2' },
  { cacheSize: 64 },
)
const utf8 = (s: string) => new TextEncoder().encode(s)

/**
 * A slow, obviously-right count to compare with: JavaScript's GPT-2 regex for the split, then the lowest-ranked
 * adjacent pair merged (leftmost first) until none is left. Only for texts without special tokens and without
 * the code points where JavaScript's \s and llama.cpp's whitespace differ (U+0085, U+FEFF).
 */
function referenceCount(text: string): number {
  const byteChars = bytesToUnicode()
  const ranks = new Map(demo.merges.map((m, i) => [m, i]))
  let count = 0
  for (const piece of text.match(GPT2_SPLIT) ?? []) {
    let symbols = Array.from(utf8(piece), (b) => byteChars[b] as string)
    for (;;) {
      let best = -1
      let bestRank = Infinity
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = ranks.get(`${symbols[i]} ${symbols[i + 1]}`)
        if (rank !== undefined && rank < bestRank) [best, bestRank] = [i, rank]
      }
      if (best < 0) break
      symbols = [...symbols.slice(0, best), `${symbols[best]}${symbols[best + 1]}`, ...symbols.slice(best + 2)]
    }
    count += symbols.length
  }
  return count
}

// Text that hits the vocabulary's merges often: pieces of the corpus, arbitrary unicode, whitespace runs.
const corpusPiece = fc
  .tuple(fc.nat(DEMO_CORPUS.length), fc.integer({ min: 1, max: 40 }))
  .map(([at, n]) => DEMO_CORPUS.slice(at, at + n))
const whitespace = fc.constantFrom(' ', '  ', '\n', '\t', '\r\n', '   \n', '\u00a0', '\u3000')
const text = fc
  .array(fc.oneof(corpusPiece, fc.string({ unit: 'binary' }), whitespace), { maxLength: 12 })
  .map((parts) => parts.join(''))
const withSpecials = fc
  .array(fc.oneof(text, fc.constantFrom(...SPECIAL_TOKENS), fc.constantFrom('<|', '|>', '<|im_')), { maxLength: 8 })
  .map((parts) => parts.join(''))

describe('createBpeTokenizer (properties)', () => {
  it('never counts more tokens than the text has UTF-8 bytes', () => {
    fc.assert(
      fc.property(withSpecials, (s) => {
        expect(tokenizer.count(s)).toBeLessThanOrEqual(utf8(s).byteLength)
      }),
      { numRuns: 500 },
    )
  })

  it('counts a non-empty text as at least one token', () => {
    fc.assert(
      fc.property(
        withSpecials.filter((s) => s.length > 0),
        (s) => {
          expect(tokenizer.count(s)).toBeGreaterThan(0)
        },
      ),
    )
  })

  it('matches a naive BPE on the GPT-2 split (the cache and the merge queue change nothing)', () => {
    const plain = text.filter((s) => !/[\u0085\ufeff]/.test(s) && !s.includes('<|'))
    fc.assert(
      fc.property(plain, (s) => {
        expect(tokenizer.count(s)).toBe(referenceCount(s))
      }),
      { numRuns: 500 },
    )
  })

  it('counts a special token between two texts as one, when neither text reaches into it', () => {
    const safe = text.filter((s) => !s.includes('<') && !s.includes('>'))
    fc.assert(
      fc.property(safe, fc.constantFrom(...SPECIAL_TOKENS), safe, (a, special, b) => {
        expect(tokenizer.count(a + special + b)).toBe(tokenizer.count(a) + 1 + tokenizer.count(b))
      }),
    )
  })
})
