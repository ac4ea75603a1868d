/**
 * The sentiment suite's rules as properties: a label survives any case and decoration and nothing else reads as a
 * label; scores are bounded, add up, and do not depend on order; the labelled-file parser round-trips what it
 * accepts and refuses anything else only with its typed error.
 */
import fc from 'fast-check'
import { expect, test } from 'vitest'
import { MalformedSentimentDataError } from './errors/sentiment.ts'
import {
  parseSentiment,
  parseSentimentJsonl,
  scoreSentiment,
  SENTIMENT_LABELS,
  type SentimentItem,
  type SentimentLabel,
} from './sentiment.ts'

const label = fc.constantFrom(...SENTIMENT_LABELS)
const answer = fc.option(label, { nil: null })
const decoration = fc.stringMatching(/^[\s"'*_.,:;!?()[\]«»`-]{0,4}$/)

test('a label in any case, with any quotes, emphasis, punctuation or whitespace around it, reads as that label', () => {
  fc.assert(
    fc.property(
      label,
      decoration,
      decoration,
      fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
      fc.boolean(),
      (l, before, after, upper, prefixed) => {
        const word = [...l].map((c, i) => (upper[i % upper.length] ? c.toUpperCase() : c)).join('')
        expect(parseSentiment(`${before}${prefixed ? 'Sentiment: ' : ''}${word}${after}`)).toBe(l)
      },
    ),
  )
})

test('whatever the text, a label read from it is the only word in it (besides an answer prefix)', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.tuple(label, fc.string(), label).map(([a, s, b]) => `${a}${s}${b}`),
      ),
      (text) => {
        const parsed = parseSentiment(text)
        if (parsed === null) return
        const words = text.toLowerCase().match(/\p{L}+/gu) ?? []
        expect(words.filter((w) => !['sentiment', 'label', 'answer', 'classification'].includes(w))).toEqual([parsed])
      },
    ),
  )
})

const scored = fc.array(fc.tuple(label, answer), { maxLength: 200 })

test('a score is bounded, its confusion adds up to the sample, and its diagonal is the correct count', () => {
  fc.assert(
    fc.property(scored, (pairs) => {
      const items = pairs.map(([l]) => ({ label: l }))
      const score = scoreSentiment(
        items,
        pairs.map(([, a]) => a),
      )
      expect(score.sampleSize).toBe(pairs.length)
      expect(score.accuracyPpm).toBeGreaterThanOrEqual(0)
      expect(score.accuracyPpm).toBeLessThanOrEqual(1_000_000)
      expect(Number.isInteger(score.accuracyPpm)).toBe(true)
      const cells = SENTIMENT_LABELS.flatMap((l) => Object.values(score.confusion[l]))
      expect(cells.reduce((a, b) => a + b, 0)).toBe(pairs.length)
      expect(SENTIMENT_LABELS.reduce((sum, l) => sum + score.confusion[l][l], 0)).toBe(score.correct)
      expect(SENTIMENT_LABELS.reduce((sum, l) => sum + score.confusion[l].unparsed, 0)).toBe(score.unparsed)
      expect(score.correct + score.unparsed).toBeLessThanOrEqual(pairs.length)
      if (pairs.length > 0)
        expect(Math.abs(score.accuracyPpm - (score.correct / pairs.length) * 1_000_000)).toBeLessThanOrEqual(0.5)
    }),
  )
})

test('a score does not depend on the order of the items, and all right answers score one million', () => {
  fc.assert(
    fc.property(
      scored.chain((pairs) =>
        fc.tuple(fc.constant(pairs), fc.shuffledSubarray(pairs, { minLength: pairs.length, maxLength: pairs.length })),
      ),
      ([pairs, shuffled]) => {
        const score = (list: [SentimentLabel, SentimentLabel | null][]) =>
          scoreSentiment(
            list.map(([l]) => ({ label: l })),
            list.map(([, a]) => a),
          )
        expect(score(shuffled)).toEqual(score(pairs))
        if (pairs.length > 0)
          expect(
            scoreSentiment(
              pairs.map(([l]) => ({ label: l })),
              pairs.map(([l]) => l),
            ).accuracyPpm,
          ).toBe(1_000_000)
      },
    ),
  )
})

const day = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10))
const item = fc.record({
  id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/),
  date: day,
  asset: fc.stringMatching(/^[A-Z][A-Z0-9]{0,5}$/),
  text: fc.string({ minLength: 1, maxLength: 200 }).filter((s) => s.trim() !== ''),
  label,
})

test('the labelled-file parser gives back what was written', () => {
  fc.assert(
    fc.property(fc.uniqueArray(item, { selector: (i) => i.id, maxLength: 30 }), (items: SentimentItem[]) => {
      const content = items.map(({ text, ...rest }) => JSON.stringify({ ...rest, headline: text })).join('\n')
      expect(parseSentimentJsonl(content)).toEqual(items)
    }),
  )
})

test('the labelled-file parser refuses anything else only with MalformedSentimentDataError', () => {
  const line = fc.oneof(
    fc.string(),
    fc.json(),
    item.chain((i) =>
      fc
        .dictionary(
          fc.constantFrom('id', 'date', 'asset', 'headline', 'label', 'extra'),
          fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        )
        .map((d) => JSON.stringify({ ...i, ...d })),
    ),
  )
  fc.assert(
    fc.property(fc.array(line, { maxLength: 5 }), (lines) => {
      try {
        const items = parseSentimentJsonl(lines.join('\n'))
        for (const i of items) expect(SENTIMENT_LABELS).toContain(i.label)
      } catch (error) {
        expect(error).toBeInstanceOf(MalformedSentimentDataError)
      }
    }),
  )
})
