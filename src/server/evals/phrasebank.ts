/**
 * Labelled sentiment data from files, as `SentimentItem`s (src/core/sentiment.ts): the project's own headlines
 * (`data/financial-headlines.jsonl`, Apache-2.0, in the repo) and the Financial PhraseBank (Malo et al. 2014),
 * which is CC BY-NC-SA 3.0 and so never copied into the repo: it is read in place from a folder the user gives with
 * `--data-dir`. Two layouts of it are understood:
 *
 * - the original distribution, `FinancialPhraseBank-v1.0/Sentences_AllAgree.txt` (also `_75Agree`, `_66Agree`,
 *   `_50Agree`): latin-1 text, one `sentence@label` per line, labels `negative`, `neutral`, `positive`;
 * - the CSV copy some mirrors ship, `fpb_allagree.csv`: UTF-8, a header line, then `index,sentence,label` rows
 *   with the sentence quoted when it holds a comma and labels 0 negative, 1 neutral, 2 positive.
 */
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { MalformedSentimentDataError, PhraseBankNotFoundError } from '../../core/errors/sentiment.ts'
import {
  parseSentimentJsonl,
  SENTIMENT_FILE_LIMITS,
  SENTIMENT_LABELS,
  type SentimentItem,
  type SentimentLabel,
} from '../../core/sentiment.ts'

/** The project's own labelled headlines. */
export const DEFAULT_HEADLINES_FILE = resolve(import.meta.dirname, '../../../data/financial-headlines.jsonl')

/** Reads the project's labelled headlines (or another file in the same format). */
export async function readHeadlines(file: string = DEFAULT_HEADLINES_FILE): Promise<SentimentItem[]> {
  return parseSentimentJsonl(await readFile(file, 'utf8'), file)
}

/** How many annotators agreed on the label: the PhraseBank's four subsets. */
export type PhraseBankAgreement = 'all' | '75' | '66' | '50'

const TXT_NAMES: Record<PhraseBankAgreement, string> = {
  all: 'Sentences_AllAgree.txt',
  '75': 'Sentences_75Agree.txt',
  '66': 'Sentences_66Agree.txt',
  '50': 'Sentences_50Agree.txt',
}
const CSV_NAMES: Partial<Record<PhraseBankAgreement, string>> = { all: 'fpb_allagree.csv' }
/** A PhraseBank subset is a few hundred KB; anything far larger is not one. */
const MAX_FILE_BYTES = 16 * 1024 * 1024

export type ReadPhraseBankParameters = {
  /** The folder the user gave (`--data-dir`); the file may be in it or in its `FinancialPhraseBank-v1.0/`. */
  dataDir: string
  agreement?: PhraseBankAgreement
}

/** The files looked for, in order. */
export function phraseBankCandidates({ dataDir, agreement = 'all' }: ReadPhraseBankParameters): string[] {
  const dir = resolve(dataDir)
  const csv = CSV_NAMES[agreement]
  return [
    join(dir, TXT_NAMES[agreement]),
    join(dir, 'FinancialPhraseBank-v1.0', TXT_NAMES[agreement]),
    ...(csv ? [join(dir, csv)] : []),
  ]
}

/** Reads the Financial PhraseBank in place; throws `PhraseBankNotFoundError` (saying how to get it) when absent. */
export async function readPhraseBank(parameters: ReadPhraseBankParameters): Promise<SentimentItem[]> {
  const candidates = phraseBankCandidates(parameters)
  for (const file of candidates) {
    let bytes: Buffer
    try {
      bytes = await readFile(file)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') continue
      throw error
    }
    if (bytes.length > MAX_FILE_BYTES)
      throw new MalformedSentimentDataError({
        source: file,
        line: 1,
        reason: `the file is over ${MAX_FILE_BYTES} bytes, which no PhraseBank subset is`,
      })
    return file.endsWith('.csv')
      ? parsePhraseBankCsv(bytes.toString('utf8'), file)
      : parsePhraseBankTxt(bytes.toString('latin1'), file)
  }
  throw new PhraseBankNotFoundError({ dataDir: resolve(parameters.dataDir), looked: candidates })
}

const lines = (content: string, source: string): string[] => {
  const all = content.split(/\r?\n/)
  if (all.length > SENTIMENT_FILE_LIMITS.maxLines)
    throw new MalformedSentimentDataError({
      source,
      line: SENTIMENT_FILE_LIMITS.maxLines + 1,
      reason: `more than ${SENTIMENT_FILE_LIMITS.maxLines} lines`,
    })
  return all
}

/** `sentence@label` lines (the original distribution, already decoded from latin-1). */
export function parsePhraseBankTxt(content: string, source = 'Sentences_AllAgree.txt'): SentimentItem[] {
  const items: SentimentItem[] = []
  for (const [index, line] of lines(content, source).entries()) {
    if (line.trim() === '') continue
    const at = line.lastIndexOf('@')
    if (at === -1) throw new MalformedSentimentDataError({ source, line: index + 1, reason: 'no "@label" at the end' })
    const text = line.slice(0, at).trim()
    const label = line.slice(at + 1).trim()
    if (!(SENTIMENT_LABELS as readonly string[]).includes(label))
      throw new MalformedSentimentDataError({
        source,
        line: index + 1,
        reason: `label "${label}" is not negative, neutral or positive`,
      })
    if (text === '')
      throw new MalformedSentimentDataError({ source, line: index + 1, reason: 'no sentence before the label' })
    items.push({ id: `fpb-${index + 1}`, text, label: label as SentimentLabel })
  }
  return items
}

const NUMERIC_LABELS: Record<string, SentimentLabel> = { '0': 'negative', '1': 'neutral', '2': 'positive' }

/** `index,sentence,label` rows after a header line (the CSV copy); labels 0, 1, 2 or the label words. */
export function parsePhraseBankCsv(content: string, source = 'fpb_allagree.csv'): SentimentItem[] {
  const items: SentimentItem[] = []
  const ids = new Set<string>()
  for (const [index, line] of lines(content, source).entries()) {
    if (index === 0 || line.trim() === '') continue
    const fail = (reason: string): never => {
      throw new MalformedSentimentDataError({ source, line: index + 1, reason })
    }
    const fields = splitCsvLine(line) ?? fail('unbalanced quotes')
    if (fields.length !== 3) fail(`${fields.length} fields, not 3 (index, sentence, label)`)
    const [rowId, sentence, rawLabel] = fields as [string, string, string]
    const label =
      NUMERIC_LABELS[rawLabel.trim()] ??
      ((SENTIMENT_LABELS as readonly string[]).includes(rawLabel.trim())
        ? (rawLabel.trim() as SentimentLabel)
        : fail(`label "${rawLabel}" is not 0, 1 or 2`))
    if (!/^\d{1,9}$/.test(rowId.trim())) fail(`row index "${rowId}" is not a number`)
    const id = `fpb-${rowId.trim()}`
    if (ids.has(id)) fail(`row index ${rowId} is used twice`)
    const text = sentence.trim()
    if (text === '') fail('empty sentence')
    ids.add(id)
    items.push({ id, text, label })
  }
  return items
}

/** One CSV line (RFC 4180 quoting, no line breaks inside fields); null when a quote is left open. */
export function splitCsvLine(line: string): string[] | null {
  const fields: string[] = []
  let field = ''
  let quoted = false
  let at = 0
  while (at < line.length) {
    const c = line[at] as string
    if (quoted) {
      if (c === '"' && line[at + 1] === '"') {
        field += '"'
        at += 2
        continue
      }
      if (c === '"') quoted = false
      else field += c
    } else if (c === '"' && field === '') quoted = true
    else if (c === ',') {
      fields.push(field)
      field = ''
    } else field += c
    at++
  }
  if (quoted) return null
  fields.push(field)
  return fields
}
