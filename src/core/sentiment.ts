/**
 * The sentiment suite: how one headline is put to a model (a chat request asking for exactly one of three labels,
 * greedy and seeded so an answer can be re-checked), how the answer is read (one label word, whatever its case or
 * punctuation, or nothing), how a run is scored (accuracy in parts per million, the sample size, and the confusion
 * of each class), and a strict parser for the project's labelled JSON-lines file (`data/financial-headlines.jsonl`).
 * Reading files — that one or the Financial PhraseBank in place — is the job of `src/server/phrasebank.ts`.
 */
import { MalformedSentimentDataError } from './errors/sentiment.ts'
import type { ChatMessage } from './inference.ts'

export const SENTIMENT_LABELS = ['negative', 'neutral', 'positive'] as const
export type SentimentLabel = (typeof SENTIMENT_LABELS)[number]

/** One labelled text: a headline of the project's set (with its day and asset) or a PhraseBank sentence. */
export type SentimentItem = {
  id: string
  text: string
  label: SentimentLabel
  /** ISO day (YYYY-MM-DD) the headline is dated. */
  date?: string
  /** The (made-up) ticker the headline is about. */
  asset?: string
}

/** One word is asked for; a few tokens leave room for a tokenizer that splits it or a trailing full stop. */
export const SENTIMENT_MAX_TOKENS = 8

export const SENTIMENT_SYSTEM_PROMPT =
  'You classify the sentiment of financial news for investors in the company it names. Answer with exactly one word: negative, neutral or positive.'

export type SentimentRequest = { messages: ChatMessage[]; temperature: 0; seed: 0; max_tokens: number }

/** The chat request for one text (add the model); temperature 0 and seed 0 so the answer is reproducible. */
export function sentimentRequest(text: string): SentimentRequest {
  return {
    messages: [
      { role: 'system', content: SENTIMENT_SYSTEM_PROMPT },
      { role: 'user', content: `Headline: ${text}\nSentiment (negative, neutral or positive):` },
    ],
    temperature: 0,
    seed: 0,
    max_tokens: SENTIMENT_MAX_TOKENS,
  }
}

const ANSWER_PREFIX = /^(?:sentiment|label|answer|classification)\s*[:=-]\s*/

/**
 * The label an answer gives, or null. Accepted: one label word, in any case, with surrounding whitespace, quotes,
 * markdown emphasis or punctuation, optionally after `Sentiment:` (or `Label:`, `Answer:`). Anything else — two
 * labels, a sentence, another word — is null: an answer that needs guessing is not counted as right.
 */
export function parseSentiment(text: string): SentimentLabel | null {
  let word = text.trim().toLowerCase()
  word = word.replace(/^[^\p{L}]+/u, '').replace(ANSWER_PREFIX, '')
  word = word.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '')
  return (SENTIMENT_LABELS as readonly string[]).includes(word) ? (word as SentimentLabel) : null
}

/** Per expected label: how often each answer (or no readable answer) was given. */
export type SentimentConfusion = Record<SentimentLabel, Record<SentimentLabel | 'unparsed', number>>

export type SentimentScore = {
  /** Correct answers per million items (0..1_000_000); 0 for no items. */
  accuracyPpm: number
  correct: number
  sampleSize: number
  /** Answers that were no label (a model failure counts here too: pass null). */
  unparsed: number
  confusion: SentimentConfusion
}

const emptyRow = (): Record<SentimentLabel | 'unparsed', number> => ({ negative: 0, neutral: 0, positive: 0, unparsed: 0 })

/** Scores answers (parsed labels, null for none) against the items they answer, in the same order. */
export function scoreSentiment(items: readonly Pick<SentimentItem, 'label'>[], answers: readonly (SentimentLabel | null)[]): SentimentScore {
  if (answers.length !== items.length) throw new RangeError(`Scoring needs one answer per item: ${items.length} items, ${answers.length} answers.`)
  const confusion: SentimentConfusion = { negative: emptyRow(), neutral: emptyRow(), positive: emptyRow() }
  let correct = 0
  let unparsed = 0
  for (const [index, item] of items.entries()) {
    const answer = answers[index] ?? null
    confusion[item.label][answer ?? 'unparsed']++
    if (answer === null) unparsed++
    else if (answer === item.label) correct++
  }
  const sampleSize = items.length
  return { accuracyPpm: sampleSize === 0 ? 0 : Math.round((correct * 1_000_000) / sampleSize), correct, sampleSize, unparsed, confusion }
}

/** Limits of the labelled file: what a headline set this size needs, with room; more is refused, not truncated. */
export const SENTIMENT_FILE_LIMITS = { maxLines: 100_000, maxLineLength: 4_096, maxTextLength: 1_000, maxIdLength: 64 } as const

const ITEM_FIELDS = new Set(['id', 'date', 'asset', 'headline', 'label'])
const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/

function isIsoDay(value: string): boolean {
  const match = ISO_DAY.exec(value)
  if (!match) return false
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const date = new Date(Date.UTC(year, month - 1, day))
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
}

/**
 * Parses the project's labelled headlines: JSON lines of `{ id, date, asset, headline, label }`, every field a
 * string, no other fields, ids unique, `date` a real ISO day, `asset` an upper-case ticker, `label` one of the three
 * labels. Blank lines are skipped. Any other line throws `MalformedSentimentDataError` naming it.
 */
export function parseSentimentJsonl(content: string, source = 'the labelled file'): SentimentItem[] {
  const lines = content.split(/\r?\n/)
  if (lines.length > SENTIMENT_FILE_LIMITS.maxLines) throw new MalformedSentimentDataError({ source, line: SENTIMENT_FILE_LIMITS.maxLines + 1, reason: `more than ${SENTIMENT_FILE_LIMITS.maxLines} lines` })
  const items: SentimentItem[] = []
  const ids = new Set<string>()
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue
    const fail = (reason: string): never => {
      throw new MalformedSentimentDataError({ source, line: index + 1, reason })
    }
    if (line.length > SENTIMENT_FILE_LIMITS.maxLineLength) fail(`longer than ${SENTIMENT_FILE_LIMITS.maxLineLength} characters`)
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      fail('not JSON')
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('not a JSON object')
    const record = value as Record<string, unknown>
    for (const key of Object.keys(record)) if (!ITEM_FIELDS.has(key)) fail(`unknown field "${key}"`)
    const text = (field: string): string => {
      const v = record[field]
      if (typeof v !== 'string') return fail(`field "${field}" must be a string`)
      return v
    }
    const id = text('id')
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id) || id.length > SENTIMENT_FILE_LIMITS.maxIdLength) fail('id must be letters, digits, ".", "_" or "-", at most 64')
    if (ids.has(id)) fail(`id "${id}" is used twice`)
    const date = text('date')
    if (!isIsoDay(date)) fail(`date "${date}" is not an ISO day (YYYY-MM-DD)`)
    const asset = text('asset')
    if (!/^[A-Z][A-Z0-9.]{0,9}$/.test(asset)) fail(`asset "${asset}" is not an upper-case ticker`)
    const headline = text('headline')
    if (headline.trim() === '' || headline.length > SENTIMENT_FILE_LIMITS.maxTextLength) fail(`headline must be 1 to ${SENTIMENT_FILE_LIMITS.maxTextLength} characters`)
    const label = text('label')
    if (!(SENTIMENT_LABELS as readonly string[]).includes(label)) fail(`label "${label}" is not negative, neutral or positive`)
    ids.add(id)
    items.push({ id, date, asset, text: headline, label: label as SentimentLabel })
  }
  return items
}

/** The shape the evaluator's suite runner takes (`SentimentTask` in src/evaluator/types.ts). */
export function sentimentTask(items: readonly SentimentItem[]) {
  return { items, request: sentimentRequest, parse: parseSentiment }
}
