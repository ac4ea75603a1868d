import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, test } from 'vitest'
import { MalformedSentimentDataError } from './errors/sentiment.ts'
import {
  parseSentiment,
  parseSentimentJsonl,
  scoreSentiment,
  SENTIMENT_LABELS,
  sentimentRequest,
  sentimentTask,
  type SentimentItem,
} from './sentiment.ts'

describe('sentimentRequest', () => {
  test('asks for exactly one of the three labels, greedy and seeded, with few tokens', () => {
    const request = sentimentRequest('ACME profit doubles')
    expect(request).toMatchObject({ temperature: 0, seed: 0 })
    expect(request.max_tokens).toBeLessThanOrEqual(16)
    expect(request.messages.map((m) => m.role)).toEqual(['system', 'user'])
    for (const label of SENTIMENT_LABELS) expect(request.messages[0]!.content).toContain(label)
    expect(request.messages[0]!.content).toMatch(/exactly one word/)
    expect(request.messages[1]!.content).toContain('ACME profit doubles')
  })
})

describe('parseSentiment', () => {
  test.each([
    ['positive', 'positive'],
    ['Negative', 'negative'],
    ['NEUTRAL', 'neutral'],
    ['  positive.\n', 'positive'],
    ['"Negative"', 'negative'],
    ['**Positive**', 'positive'],
    ['Sentiment: neutral', 'neutral'],
    ['label = Positive!', 'positive'],
    ['«neutral»', 'neutral'],
  ] as const)('%j reads as %s', (text, label) => {
    expect(parseSentiment(text)).toBe(label)
  })

  test.each([
    '',
    'pos',
    'positively',
    'positive or negative',
    'neutral/positive',
    'The sentiment is positive',
    'positive\n\nBecause profits rose',
    'bullish',
    'not negative',
  ])('%j reads as no label', (text) => {
    expect(parseSentiment(text)).toBeNull()
  })
})

describe('scoreSentiment', () => {
  const items = [{ label: 'positive' }, { label: 'negative' }, { label: 'neutral' }, { label: 'neutral' }] as const

  test('accuracy in parts per million, the sample size and the confusion of each class', () => {
    const score = scoreSentiment(items, ['positive', 'neutral', 'neutral', null])
    expect(score).toEqual({
      accuracyPpm: 500_000,
      correct: 2,
      sampleSize: 4,
      unparsed: 1,
      confusion: {
        negative: { negative: 0, neutral: 1, positive: 0, unparsed: 0 },
        neutral: { negative: 0, neutral: 1, positive: 0, unparsed: 1 },
        positive: { negative: 0, neutral: 0, positive: 1, unparsed: 0 },
      },
    })
  })

  test('rounds to the nearest part per million; no items score 0', () => {
    expect(scoreSentiment(items.slice(0, 3), ['positive', null, null]).accuracyPpm).toBe(333_333)
    expect(scoreSentiment(items.slice(0, 3), ['positive', 'negative', null]).accuracyPpm).toBe(666_667)
    expect(scoreSentiment([], []).accuracyPpm).toBe(0)
  })

  test('refuses answers that do not line up with the items', () => {
    expect(() => scoreSentiment(items, ['positive'])).toThrow(RangeError)
  })
})

describe('parseSentimentJsonl', () => {
  const line = (fields: Record<string, unknown>) =>
    JSON.stringify({
      id: 'a-1',
      date: '2026-01-05',
      asset: 'ACME',
      headline: 'ACME profit doubles',
      label: 'positive',
      ...fields,
    })

  test('reads items, skips blank lines, accepts CRLF', () => {
    const items = parseSentimentJsonl(
      `${line({})}\r\n\r\n${line({ id: 'a-2', label: 'negative', headline: 'ACME files for bankruptcy' })}\n`,
    )
    expect(items).toEqual<SentimentItem[]>([
      { id: 'a-1', date: '2026-01-05', asset: 'ACME', text: 'ACME profit doubles', label: 'positive' },
      { id: 'a-2', date: '2026-01-05', asset: 'ACME', text: 'ACME files for bankruptcy', label: 'negative' },
    ])
  })

  test.each([
    ['{not json', /not JSON/],
    ['[1, 2]', /not a JSON object/],
    ['null', /not a JSON object/],
    [line({ label: 'bullish' }), /label "bullish"/],
    [line({ label: 'Positive' }), /label "Positive"/],
    [line({ date: '2026-02-30' }), /not an ISO day/],
    [line({ date: '5 Jan 2026' }), /not an ISO day/],
    [line({ asset: 'acme' }), /ticker/],
    [line({ headline: '' }), /headline/],
    [line({ headline: 42 }), /"headline" must be a string/],
    [line({ extra: 1 }), /unknown field "extra"/],
    [line({ id: 'has space' }), /id must be/],
  ])('%s is refused with its line number', (bad, reason) => {
    const content = `${line({ id: 'ok-1' })}\n${bad}\n`
    let error: unknown
    try {
      parseSentimentJsonl(content, 'test.jsonl')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(MalformedSentimentDataError)
    expect(error).toMatchObject({ name: 'MalformedSentimentDataError', line: 2, source: 'test.jsonl' })
    expect((error as MalformedSentimentDataError).reason).toMatch(reason)
  })

  test('refuses a repeated id and a line over the length limit', () => {
    expect(() => parseSentimentJsonl(`${line({})}\n${line({})}`)).toThrow(/used twice/)
    expect(() => parseSentimentJsonl(line({ headline: 'x'.repeat(5000) }))).toThrow(/longer than/)
  })
})

test("the project's own set in data/ parses: about 90 balanced headlines over ~120 days of 2026, a few tickers", () => {
  const items = parseSentimentJsonl(
    readFileSync(resolve(import.meta.dirname, '../../data/financial-headlines.jsonl'), 'utf8'),
  )
  expect(items.length).toBeGreaterThanOrEqual(80)
  expect(items.length).toBeLessThanOrEqual(100)
  for (const label of SENTIMENT_LABELS)
    expect(items.filter((i) => i.label === label).length).toBeGreaterThanOrEqual(items.length / 4)
  const days = items.map((i) => Date.parse(i.date!)).sort((a, b) => a - b)
  expect((days.at(-1)! - days[0]!) / 86_400_000).toBeGreaterThanOrEqual(100)
  expect(items.every((i) => i.date!.startsWith('2026-'))).toBe(true)
  expect(new Set(items.map((i) => i.asset)).size).toBeGreaterThanOrEqual(3)
  expect(new Set(items.map((i) => i.text)).size).toBe(items.length)
  // The suite runner's task shape.
  expect(sentimentTask(items).parse('Positive')).toBe('positive')
})
