/**
 * The sentiment suite: how one headline is put to a model (a chat request asking for exactly one of three labels,
 * greedy and seeded so an answer can be re-checked), how the answer is read (one label word, whatever its case or
 * punctuation, or nothing), how a run is scored (accuracy in parts per million, the sample size, and the confusion
 * of each class), and a strict parser for the project's labelled JSON-lines file (`data/financial-headlines.jsonl`).
 * Reading files — that one or the Financial PhraseBank in place — is the job of `src/server/evals/phrasebank.ts`.
 */
import { parseDataset } from './datasets.ts'
import { InvalidDatasetError } from './errors/oracle.ts'
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

const emptyRow = (): Record<SentimentLabel | 'unparsed', number> => ({
  negative: 0,
  neutral: 0,
  positive: 0,
  unparsed: 0,
})

/** Scores answers (parsed labels, null for none) against the items they answer, in the same order. */
export function scoreSentiment(
  items: readonly Pick<SentimentItem, 'label'>[],
  answers: readonly (SentimentLabel | null)[],
): SentimentScore {
  if (answers.length !== items.length)
    throw new RangeError(`Scoring needs one answer per item: ${items.length} items, ${answers.length} answers.`)
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
  return {
    accuracyPpm: sampleSize === 0 ? 0 : Math.round((correct * 1_000_000) / sampleSize),
    correct,
    sampleSize,
    unparsed,
    confusion,
  }
}

/** Limits of a labelled file read line by line (the PhraseBank in place): more is refused, not truncated. */
export const SENTIMENT_FILE_LIMITS = {
  maxLines: 100_000,
  maxLineLength: 4_096,
  maxTextLength: 1_000,
  maxIdLength: 64,
} as const

/**
 * Parses the project's labelled headlines: a data set (`src/core/datasets.ts`: JSON lines of
 * `{ id, date, asset, headline, label }`, strict and bounded) whose dates are ISO days and whose every item has one of
 * the three labels. Any bad line throws `MalformedSentimentDataError` naming it.
 */
export function parseSentimentJsonl(content: string, source = 'the labelled file'): SentimentItem[] {
  try {
    return parseDataset(new TextEncoder().encode(content), { labels: SENTIMENT_LABELS, daysOnly: true }).map(
      ({ id, date, asset, headline, label }) => ({ id, date, asset, text: headline, label: label as SentimentLabel }),
    )
  } catch (error) {
    if (error instanceof InvalidDatasetError)
      throw new MalformedSentimentDataError({ source, line: error.line, reason: error.reason })
    throw error
  }
}

/** The shape the evaluator's suite runner takes (`SentimentTask` in src/evaluator/types.ts). */
export function sentimentTask(items: readonly SentimentItem[]) {
  return { items, request: sentimentRequest, parse: parseSentiment }
}
