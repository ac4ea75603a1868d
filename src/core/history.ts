/**
 * History for the dashboards, as plain data and pure functions: what a provider served (each paid request or job
 * with its time, model, tokens, earnings and latency), when it was online (uptime samples), and what a consumer
 * paid (each request with its node, cost, receipt and how far that receipt has been verified). From these records
 * it computes buckets over a time range (per hour or day: sums, tokens/s, latency p50/p95, uptime), a consumer's
 * spending per node and per day, and CSV exports (RFC 4180, formula injection neutralised). The browser keeps the
 * records in IndexedDB (`src/store/history.ts`); the server node serves the same records through GraphQL.
 *
 * Times are Unix milliseconds; amounts are AI wei (bigint); a bucket range is half-open, [start, end).
 */
import { formatEther, type Hex } from 'viem'
import { HistoryRangeError, InvalidHistoryRecordError } from './errors/history.ts'

/** How a provider served a request: live over the infer protocol (chat or completion), or as an async job. */
export type ServedKind = 'chat' | 'completion' | 'job'
export const SERVED_KINDS: readonly ServedKind[] = ['chat', 'completion', 'job']

/** One request a provider served and was paid for. */
export type ServedRecord = {
  /** When it finished (settled), Unix ms. */
  at: number
  /** The model id it was served with. */
  model: string
  kind: ServedKind
  tokensIn: number
  tokensOut: number
  /** What its receipt billed, AI wei. */
  earnings: bigint
  /** From admission to settlement, ms; null where it was not measured (jobs run later, off the request path). */
  latencyMs: number | null
}

/** Whether the provider was online at `at`. A provider writes one while online every `UPTIME_SAMPLE_MS`. */
export type UptimeSample = { at: number; online: boolean }

/**
 * How far a consumer has checked a receipt: `signed` (the SDK checked the node's signature when it paid, as it
 * does for every receipt), `unanchored` (checked on-chain: its batch is not anchored yet), `verified` (anchored by
 * the node's operator, and the Merkle proof leads to the root), `failed` (anchored, but the proof does not lead to
 * the root: evidence against the node).
 */
export type ReceiptVerification = 'signed' | 'unanchored' | 'verified' | 'failed'
export const RECEIPT_VERIFICATIONS: readonly ReceiptVerification[] = ['signed', 'unanchored', 'verified', 'failed']

/** One request a consumer paid for. */
export type PaidRecord = {
  at: number
  /** The serving node's peer id. */
  node: string
  model: string
  tokensIn: number
  tokensOut: number
  /** What the receipt billed, AI wei. */
  cost: bigint
  receiptHash: Hex
  verification: ReceiptVerification
}

/**
 * A provider writes an uptime sample this often while online: 288 a day, so the store's bound (10,240 records)
 * keeps about 35 days of them.
 */
export const UPTIME_SAMPLE_MS = 5 * 60_000
/** A gap between samples longer than this counts as offline (the tab was closed or asleep). */
export const UPTIME_MAX_GAP_MS = 3 * UPTIME_SAMPLE_MS

export const HOUR_MS = 3_600_000
export const DAY_MS = 24 * HOUR_MS
export type BucketSize = 'hour' | 'day'
export const BUCKET_MS: Record<BucketSize, number> = { hour: HOUR_MS, day: DAY_MS }
/** The most buckets one range may be cut into (a year by hour is 8,784). */
export const MAX_BUCKETS = 10_000

export type TimeRange = { from: number; to: number }

export type BucketOptions = {
  size: BucketSize
  /**
   * Added to UTC before aligning to hours and days, ms: the viewer's time zone (`-new Date().getTimezoneOffset() *
   * 60_000`), so a day bucket starts at local midnight. 0 (UTC) by default.
   */
  offsetMs?: number
}

/** The bucket starts covering `range`: aligned to whole hours or days (in the offset's zone), oldest first. */
export function bucketStarts(range: TimeRange, { size, offsetMs = 0 }: BucketOptions): number[] {
  checkRange(range)
  if (!Number.isFinite(offsetMs) || Math.abs(offsetMs) > DAY_MS)
    throw new HistoryRangeError({ reason: `the time zone offset ${offsetMs} ms is not within a day` })
  const width = BUCKET_MS[size]
  if (range.to <= range.from) return []
  const first = Math.floor((range.from + offsetMs) / width) * width - offsetMs
  const count = Math.ceil((range.to - first) / width)
  if (count > MAX_BUCKETS)
    throw new HistoryRangeError({
      reason: `${count} ${size} buckets, more than ${MAX_BUCKETS}; choose a shorter range or day buckets`,
    })
  return Array.from({ length: count }, (_, i) => first + i * width)
}

function checkRange({ from, to }: TimeRange): void {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to))
    throw new HistoryRangeError({ reason: 'from and to must be whole milliseconds' })
  if (to < from) throw new HistoryRangeError({ reason: 'to is before from' })
}

/** The index of the bucket holding `at`, or -1 outside them. */
function bucketIndex(starts: readonly number[], width: number, at: number): number {
  const first = starts[0]
  if (first === undefined || at < first) return -1
  const index = Math.floor((at - first) / width)
  return index < starts.length ? index : -1
}

/** The p-th percentile (0 < p ≤ 100) by the nearest-rank method; null for no values. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1] as number
}

/** One bucket of a provider's history. */
export type ProviderBucket = {
  start: number
  end: number
  /** Live requests (chat and completion). */
  requests: number
  jobs: number
  tokensIn: number
  tokensOut: number
  earnings: bigint
  /**
   * Output tokens per second of serving: the bucket's output tokens over the summed latency of the requests that
   * have one (null when none has).
   */
  tokensPerSecond: number | null
  latencyP50: number | null
  latencyP95: number | null
  /** Fraction of the bucket (up to `now`) the provider was online, 0..1; null for a bucket wholly in the future. */
  uptime: number | null
}

export type ProviderBucketOptions = BucketOptions & {
  /** Uptime is counted up to here (the present): later parts of a bucket are not offline, just not yet. */
  now?: number
}

/** A provider's served records and uptime samples, cut into buckets over `range` (records outside it are left out). */
export function providerBuckets(
  served: readonly ServedRecord[],
  uptime: readonly UptimeSample[],
  range: TimeRange,
  options: ProviderBucketOptions,
): ProviderBucket[] {
  const starts = bucketStarts(range, options)
  const width = BUCKET_MS[options.size]
  const now = options.now ?? range.to
  const buckets: ProviderBucket[] = starts.map((start) => ({
    start,
    end: start + width,
    requests: 0,
    jobs: 0,
    tokensIn: 0,
    tokensOut: 0,
    earnings: 0n,
    tokensPerSecond: null,
    latencyP50: null,
    latencyP95: null,
    uptime: null,
  }))
  const latencies: number[][] = starts.map(() => [])
  const timedTokens = starts.map(() => 0)
  for (const record of served) {
    if (record.at < range.from || record.at >= range.to) continue
    const index = bucketIndex(starts, width, record.at)
    const bucket = buckets[index]
    if (!bucket) continue
    if (record.kind === 'job') bucket.jobs++
    else bucket.requests++
    bucket.tokensIn += record.tokensIn
    bucket.tokensOut += record.tokensOut
    bucket.earnings += record.earnings
    if (record.latencyMs !== null) {
      ;(latencies[index] as number[]).push(record.latencyMs)
      timedTokens[index] = (timedTokens[index] as number) + record.tokensOut
    }
  }
  buckets.forEach((bucket, i) => {
    const list = latencies[i] as number[]
    const total = list.reduce((sum, ms) => sum + ms, 0)
    bucket.tokensPerSecond = list.length === 0 ? null : total > 0 ? ((timedTokens[i] as number) * 1000) / total : 0
    bucket.latencyP50 = percentile(list, 50)
    bucket.latencyP95 = percentile(list, 95)
    const until = Math.min(bucket.end, now)
    bucket.uptime = until > bucket.start ? onlineMs(uptime, bucket.start, until) / (until - bucket.start) : null
  })
  return buckets
}

/**
 * Milliseconds online within [from, to): each online sample counts until the next sample, at most
 * `UPTIME_MAX_GAP_MS` after it. Samples may come in any order.
 */
export function onlineMs(
  samples: readonly UptimeSample[],
  from: number,
  to: number,
  maxGapMs = UPTIME_MAX_GAP_MS,
): number {
  if (to <= from) return 0
  const sorted = [...samples].sort((a, b) => a.at - b.at)
  let total = 0
  sorted.forEach((sample, i) => {
    if (!sample.online) return
    const next = sorted[i + 1]
    const end = Math.min(sample.at + maxGapMs, next ? next.at : Infinity)
    const overlap = Math.min(end, to) - Math.max(sample.at, from)
    if (overlap > 0) total += overlap
  })
  return total
}

/** A consumer's spending with one node. */
export type NodeSpending = {
  node: string
  requests: number
  tokensIn: number
  tokensOut: number
  cost: bigint
  /** Receipts by verification state. */
  receipts: Record<ReceiptVerification, number>
  lastAt: number
}

/** Spending per node, largest cost first (ties: most recent first, then by node id). */
export function spendingByNode(records: readonly PaidRecord[]): NodeSpending[] {
  const byNode = new Map<string, NodeSpending>()
  for (const record of records) {
    let entry = byNode.get(record.node)
    if (!entry) {
      entry = {
        node: record.node,
        requests: 0,
        tokensIn: 0,
        tokensOut: 0,
        cost: 0n,
        receipts: { signed: 0, unanchored: 0, verified: 0, failed: 0 },
        lastAt: record.at,
      }
      byNode.set(record.node, entry)
    }
    entry.requests++
    entry.tokensIn += record.tokensIn
    entry.tokensOut += record.tokensOut
    entry.cost += record.cost
    entry.receipts[record.verification]++
    entry.lastAt = Math.max(entry.lastAt, record.at)
  }
  return [...byNode.values()].sort((a, b) =>
    a.cost === b.cost ? b.lastAt - a.lastAt || a.node.localeCompare(b.node) : a.cost > b.cost ? -1 : 1,
  )
}

/** One bucket of a consumer's spending. */
export type SpendingBucket = {
  start: number
  end: number
  requests: number
  tokensIn: number
  tokensOut: number
  cost: bigint
  nodes: number
}

/** A consumer's spending cut into buckets (per day by default) over `range`. */
export function spendingBuckets(
  records: readonly PaidRecord[],
  range: TimeRange,
  options: BucketOptions = { size: 'day' },
): SpendingBucket[] {
  const starts = bucketStarts(range, options)
  const width = BUCKET_MS[options.size]
  const buckets: SpendingBucket[] = starts.map((start) => ({
    start,
    end: start + width,
    requests: 0,
    tokensIn: 0,
    tokensOut: 0,
    cost: 0n,
    nodes: 0,
  }))
  const nodes = starts.map(() => new Set<string>())
  for (const record of records) {
    if (record.at < range.from || record.at >= range.to) continue
    const index = bucketIndex(starts, width, record.at)
    const bucket = buckets[index]
    if (!bucket) continue
    bucket.requests++
    bucket.tokensIn += record.tokensIn
    bucket.tokensOut += record.tokensOut
    bucket.cost += record.cost
    ;(nodes[index] as Set<string>).add(record.node)
  }
  buckets.forEach((bucket, i) => (bucket.nodes = (nodes[i] as Set<string>).size))
  return buckets
}

/** The smallest range covering every record's time (plus one ms, as ranges are half-open); null for none. */
export function rangeOf(records: readonly { at: number }[]): TimeRange | null {
  if (records.length === 0) return null
  let from = Infinity
  let to = -Infinity
  for (const { at } of records) {
    from = Math.min(from, at)
    to = Math.max(to, at)
  }
  return { from, to: to + 1 }
}

// ---- CSV ----

export type CsvValue = string | number | bigint | boolean | null | undefined

/** Characters that make a spreadsheet read a text cell as a formula (OWASP's list: = + - @, tab and CR). */
const FORMULA_START = /^[=+\-@\t\r]/

/**
 * One CSV field: text that a spreadsheet would run as a formula gets a leading apostrophe; a field with a comma,
 * quote, CR or LF is quoted, its quotes doubled (RFC 4180). Numbers are written as they are; null is empty.
 */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return ''
    return String(value)
  }
  if (typeof value !== 'string') return String(value)
  const text = FORMULA_START.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** A CSV document: the header, then each row, lines ended by CRLF (RFC 4180). */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  return [header, ...rows].map((row) => `${row.map(csvField).join(',')}\r\n`).join('')
}

const iso = (at: number) => new Date(at).toISOString()

export const SERVED_CSV_HEADER = [
  'time',
  'kind',
  'model',
  'tokens_in',
  'tokens_out',
  'earnings_wei',
  'earnings_ai',
  'latency_ms',
] as const

/** A provider's served requests as CSV, one row each, in the order given. */
export function servedCsv(records: readonly ServedRecord[]): string {
  return toCsv(
    SERVED_CSV_HEADER,
    records.map((r) => [
      iso(r.at),
      r.kind,
      r.model,
      r.tokensIn,
      r.tokensOut,
      r.earnings,
      formatEther(r.earnings),
      r.latencyMs,
    ]),
  )
}

export const PAID_CSV_HEADER = [
  'time',
  'node',
  'model',
  'tokens_in',
  'tokens_out',
  'cost_wei',
  'cost_ai',
  'receipt_hash',
  'verification',
] as const

/** A consumer's paid requests as CSV, one row each, in the order given. */
export function paidCsv(records: readonly PaidRecord[]): string {
  return toCsv(
    PAID_CSV_HEADER,
    records.map((r) => [
      iso(r.at),
      r.node,
      r.model,
      r.tokensIn,
      r.tokensOut,
      r.cost,
      formatEther(r.cost),
      r.receiptHash,
      r.verification,
    ]),
  )
}

// ---- Checking records read back from storage or received from elsewhere ----

const MAX_TEXT = 256

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function field<T>(
  record: Record<string, unknown>,
  name: string,
  check: (value: unknown) => value is T,
  what: string,
): T {
  const value = record[name]
  if (!check(value)) throw new InvalidHistoryRecordError({ field: name, reason: `not ${what}` })
  return value
}

const isTime = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_TEXT
const isWei = (v: unknown): v is bigint => typeof v === 'bigint' && v >= 0n
const isLatency = (v: unknown): v is number | null =>
  v === null || (typeof v === 'number' && Number.isFinite(v) && v >= 0)
const isHash = (v: unknown): v is Hex => typeof v === 'string' && /^0x[0-9a-fA-F]{64}$/.test(v)
const oneOf =
  <T extends string>(values: readonly T[]) =>
  (v: unknown): v is T =>
    typeof v === 'string' && (values as readonly string[]).includes(v)

/** Checks a served record (as read back from storage); throws `InvalidHistoryRecordError` naming the bad field. */
export function parseServedRecord(value: unknown): ServedRecord {
  if (!isObject(value)) throw new InvalidHistoryRecordError({ field: '(record)', reason: 'not an object' })
  return {
    at: field(value, 'at', isTime, 'a time in ms'),
    model: field(value, 'model', isText, `a model id of 1 to ${MAX_TEXT} characters`),
    kind: field(value, 'kind', oneOf(SERVED_KINDS), SERVED_KINDS.join(' or ')),
    tokensIn: field(value, 'tokensIn', isCount, 'a token count'),
    tokensOut: field(value, 'tokensOut', isCount, 'a token count'),
    earnings: field(value, 'earnings', isWei, 'an amount of wei'),
    latencyMs: field(value, 'latencyMs', isLatency, 'a latency in ms or null'),
  }
}

export function parseUptimeSample(value: unknown): UptimeSample {
  if (!isObject(value)) throw new InvalidHistoryRecordError({ field: '(sample)', reason: 'not an object' })
  return {
    at: field(value, 'at', isTime, 'a time in ms'),
    online: field(value, 'online', (v): v is boolean => typeof v === 'boolean', 'true or false'),
  }
}

export function parsePaidRecord(value: unknown): PaidRecord {
  if (!isObject(value)) throw new InvalidHistoryRecordError({ field: '(record)', reason: 'not an object' })
  return {
    at: field(value, 'at', isTime, 'a time in ms'),
    node: field(value, 'node', isText, `a peer id of 1 to ${MAX_TEXT} characters`),
    model: field(value, 'model', isText, `a model id of 1 to ${MAX_TEXT} characters`),
    tokensIn: field(value, 'tokensIn', isCount, 'a token count'),
    tokensOut: field(value, 'tokensOut', isCount, 'a token count'),
    cost: field(value, 'cost', isWei, 'an amount of wei'),
    receiptHash: field(value, 'receiptHash', isHash, 'a 32-byte hex hash'),
    verification: field(value, 'verification', oneOf(RECEIPT_VERIFICATIONS), RECEIPT_VERIFICATIONS.join(', ')),
  }
}
