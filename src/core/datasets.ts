/**
 * Data sets by hash: a file of dated items (JSON lines `{ id, date, asset, headline[, label] }`, like
 * `data/financial-headlines.jsonl`) identified by keccak256 of its exact bytes, which is what a subscription names
 * on-chain (`datasetHash`). Any node, or the requester, serves the bytes over `/modelex/dataset/1.0.0`
 * (`src/p2p/datasets.ts`); the receiver recomputes the hash, so a peer can withhold a data set but never change it.
 *
 * A subscription's round reads a window: the items of one asset dated in `[windowStart, windowEnd)` (unix seconds;
 * `windowEnd` is the round's time, `windowStart = windowEnd - windowSeconds`, see `oracle-round.ts`). An item's time
 * is its `date`: an ISO day (`2026-01-05`, read as 00:00:00 UTC) or an ISO instant in UTC (`2026-01-05T14:30:00Z`).
 * Parsing is strict and bounded: a file that breaks the format is `InvalidDatasetError`, never partly read.
 *
 * @example
 * const items = parseDataset(bytes)                       // throws InvalidDatasetError
 * const window = selectWindow(items, { asset: 'ACME', windowStart, windowEnd })
 */
import { keccak256, type Hex } from 'viem'
import { InvalidDatasetError } from './errors/oracle.ts'

/** One dated item. `time` is the item's date in unix seconds (UTC). */
export type DatasetItem = { id: string; date: string; time: number; asset: string; headline: string; label?: string }

export const DATASET_LIMITS = {
  /** The whole file: a year of headlines for many assets fits; a larger set is split by the publisher. */
  maxBytes: 8 * 1024 * 1024,
  maxItems: 100_000,
  maxLineLength: 4_096,
  maxIdLength: 64,
  /** The sentiment template takes headlines of at most 500 characters. */
  maxHeadlineLength: 500,
  maxLabelLength: 32,
} as const

/** The data set's id: keccak256 of its bytes (lower-case 0x hex). */
export function datasetHash(bytes: Uint8Array): Hex {
  return keccak256(bytes)
}

const FIELDS = new Set(['id', 'date', 'asset', 'headline', 'label'])
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const ASSET = /^[A-Z][A-Z0-9.]{0,9}$/
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/

/** Unix seconds of an ISO day (00:00 UTC) or UTC instant, or null when it is not a real date of that form. */
export function datasetTime(date: string): number | null {
  const match = DAY.exec(date) ?? INSTANT.exec(date)
  if (!match) return null
  const [year, month, day, hour = 0, minute = 0, second = 0] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number?,
    number?,
    number?,
  ]
  if (year < 1970 || hour > 23 || minute > 59 || second > 59) return null
  const ms = Date.UTC(year, month - 1, day, hour, minute, second)
  const d = new Date(ms)
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null
  return ms / 1000
}

/** Stricter forms of the format: a labelled set (every item has one of `labels`) dated by days only. */
export type DatasetFormat = { labels?: readonly string[]; daysOnly?: boolean }

/**
 * Parses a data set's bytes (UTF-8 JSON lines; blank lines skipped; ids unique). The sentiment suite's labelled
 * file is the same format with `{ labels, daysOnly: true }` (`parseSentimentJsonl`).
 */
export function parseDataset(bytes: Uint8Array, format: DatasetFormat = {}): DatasetItem[] {
  if (bytes.length > DATASET_LIMITS.maxBytes)
    throw new InvalidDatasetError({
      line: 0,
      reason: `it has ${bytes.length} bytes, more than ${DATASET_LIMITS.maxBytes}`,
    })
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new InvalidDatasetError({ line: 0, reason: 'it is not UTF-8' })
  }
  const items: DatasetItem[] = []
  const ids = new Set<string>()
  for (const [index, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === '') continue
    const fail = (reason: string): never => {
      throw new InvalidDatasetError({ line: index + 1, reason })
    }
    if (items.length >= DATASET_LIMITS.maxItems) fail(`more than ${DATASET_LIMITS.maxItems} items`)
    if (line.length > DATASET_LIMITS.maxLineLength) fail(`longer than ${DATASET_LIMITS.maxLineLength} characters`)
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      fail('not JSON')
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('not a JSON object')
    const record = value as Record<string, unknown>
    for (const key of Object.keys(record)) if (!FIELDS.has(key)) fail(`unknown field "${key}"`)
    const field = (name: string): string => {
      const v = record[name]
      return typeof v === 'string' ? v : fail(`field "${name}" must be a string`)
    }
    const id = field('id')
    if (!ID.test(id) || id.length > DATASET_LIMITS.maxIdLength)
      fail(`id must be letters, digits, ".", "_" or "-", at most ${DATASET_LIMITS.maxIdLength}`)
    if (ids.has(id)) fail(`id "${id}" is used twice`)
    const date = field('date')
    const time = datasetTime(date)
    if (format.daysOnly && !DAY.test(date)) fail(`date "${date}" is not an ISO day (YYYY-MM-DD)`)
    if (time === null) fail(`date "${date}" is not an ISO day (YYYY-MM-DD) or UTC instant (YYYY-MM-DDTHH:MM:SSZ)`)
    const asset = field('asset')
    if (!ASSET.test(asset)) fail(`asset "${asset}" is not an upper-case ticker`)
    const headline = field('headline')
    if (headline.trim() === '' || headline.length > DATASET_LIMITS.maxHeadlineLength)
      fail(`headline must be 1 to ${DATASET_LIMITS.maxHeadlineLength} characters`)
    const item: DatasetItem = { id, date, time: time as number, asset, headline }
    if (Object.hasOwn(record, 'label') || format.labels) {
      const label = field('label')
      if (label.length > DATASET_LIMITS.maxLabelLength)
        fail(`label longer than ${DATASET_LIMITS.maxLabelLength} characters`)
      if (format.labels && !format.labels.includes(label)) fail(`label "${label}" is not ${format.labels.join(', ')}`)
      item.label = label
    }
    ids.add(id)
    items.push(item)
  }
  return items
}

export type DatasetWindow = { asset: string; windowStart: bigint; windowEnd: bigint }

/**
 * The items a round reads: those of `asset` with `windowStart <= time < windowEnd`, ordered by time then id (so
 * every node scores the same list in the same order, whatever the file's order).
 */
export function selectWindow(
  items: readonly DatasetItem[],
  { asset, windowStart, windowEnd }: DatasetWindow,
): DatasetItem[] {
  return items
    .filter((item) => item.asset === asset && BigInt(item.time) >= windowStart && BigInt(item.time) < windowEnd)
    .sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** Encodes items as a data set file (one JSON line each, `\n`-terminated): for publishers and tests. */
export function encodeDataset(items: readonly Omit<DatasetItem, 'time'>[]): Uint8Array {
  const lines = items.map(({ id, date, asset, headline, label }) =>
    JSON.stringify(label === undefined ? { id, date, asset, headline } : { id, date, asset, headline, label }),
  )
  return new TextEncoder().encode(lines.map((l) => `${l}\n`).join(''))
}
