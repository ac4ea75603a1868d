/**
 * Metrics in the Prometheus text exposition format (version 0.0.4), as plain data and pure functions: counters and
 * gauges as samples, histograms with fixed buckets, and the formatter that writes them. The server node keeps its
 * figures in these shapes and `/metrics` writes them; nothing here does I/O or reads a clock.
 *
 * @example
 * const latency = new Histogram(LATENCY_BUCKETS_S)
 * latency.observe(0.12)
 * formatPrometheus([{ name: 'x_seconds', help: 'Request time.', type: 'histogram', series: [{ histogram: latency.snapshot() }] }])
 */
import { MetricFormatError } from './errors/operations.ts'

export type Labels = Readonly<Record<string, string>>

export type Sample = { labels?: Labels; value: number }

/** `counts[i]` observations fell in (buckets[i-1], buckets[i]]; the last count is above the last bound (+Inf). */
export type HistogramData = { buckets: readonly number[]; counts: readonly number[]; sum: number; count: number }

export type MetricFamily =
  | { name: string; help: string; type: 'counter' | 'gauge'; samples: readonly Sample[] }
  | { name: string; help: string; type: 'histogram'; series: readonly { labels?: Labels; histogram: HistogramData }[] }

/** Request latency and time to first token, in seconds: from a cached short answer to a long generation on a CPU. */
export const LATENCY_BUCKETS_S: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
]

/** Decode speed, tokens per second. */
export const TOKENS_PER_SECOND_BUCKETS: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** `count` bounds from `start`, each `factor` times the one before. */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  if (!(start > 0) || !(factor > 1) || !Number.isInteger(count) || count < 1)
    throw new MetricFormatError(
      `exponential buckets need start > 0, factor > 1 and count >= 1, got ${start}, ${factor}, ${count}`,
    )
  return Array.from({ length: count }, (_, i) => start * factor ** i)
}

function checkBuckets(buckets: readonly number[]): void {
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i] as number
    if (!Number.isFinite(b)) throw new MetricFormatError(`bucket bound ${b} is not finite (+Inf is implied)`)
    if (i > 0 && !(b > (buckets[i - 1] as number)))
      throw new MetricFormatError(`bucket bounds must increase: ${buckets[i - 1]} then ${b}`)
  }
}

/** An empty histogram over `buckets` (upper bounds, increasing, finite). */
export function emptyHistogram(buckets: readonly number[]): HistogramData {
  checkBuckets(buckets)
  return { buckets: [...buckets], counts: new Array<number>(buckets.length + 1).fill(0), sum: 0, count: 0 }
}

/** The histogram with one more observation (NaN is not counted: it has no bucket). */
export function observe(histogram: HistogramData, value: number): HistogramData {
  if (Number.isNaN(value)) return histogram
  let index = histogram.buckets.findIndex((bound) => value <= bound)
  if (index === -1) index = histogram.buckets.length
  const counts = [...histogram.counts]
  counts[index] = (counts[index] ?? 0) + 1
  return { buckets: histogram.buckets, counts, sum: histogram.sum + value, count: histogram.count + 1 }
}

/** A histogram that keeps its own data (for a long-lived process); `snapshot()` is the data as it is now. */
export class Histogram {
  #data: HistogramData
  constructor(buckets: readonly number[]) {
    this.#data = emptyHistogram(buckets)
  }
  observe(value: number): void {
    this.#data = observe(this.#data, value)
  }
  snapshot(): HistogramData {
    return this.#data
  }
}

/** Cumulative counts per bound, ending with +Inf (= count): what the `_bucket` lines carry. */
export function cumulativeCounts(histogram: HistogramData): number[] {
  let running = 0
  return histogram.counts.map((c) => (running += c))
}

/**
 * The `q` quantile (0..1) estimated as Prometheus' `histogram_quantile` does: linear within the bucket that holds
 * it; null without observations. Observations above the last bound are reported as that bound.
 */
export function histogramQuantile(q: number, histogram: HistogramData): number | null {
  if (histogram.count === 0 || Number.isNaN(q)) return null
  const rank = Math.min(Math.max(q, 0), 1) * histogram.count
  const cumulative = cumulativeCounts(histogram)
  const index = cumulative.findIndex((c) => c >= rank)
  if (index >= histogram.buckets.length || index === -1) return histogram.buckets.at(-1) ?? null
  const upper = histogram.buckets[index] as number
  const lower = index === 0 ? 0 : (histogram.buckets[index - 1] as number)
  const below = index === 0 ? 0 : (cumulative[index - 1] as number)
  const inBucket = (histogram.counts[index] as number) || 1
  return lower + ((upper - lower) * (rank - below)) / inBucket
}

/** A sample value as the text format writes it. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return Object.is(value, -0) ? '0' : String(value)
}

/** A label value with `\`, `"` and newlines escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function formatLabels(labels: Labels | undefined, extra?: [string, string]): string {
  const entries = Object.entries(labels ?? {})
  for (const [name] of entries) {
    if (!LABEL_NAME.test(name) || name.startsWith('__'))
      throw new MetricFormatError(`label name ${JSON.stringify(name)} is not allowed`)
    if (name === 'le') throw new MetricFormatError('the label name "le" is reserved for histogram buckets')
  }
  if (extra) entries.push(extra)
  if (entries.length === 0) return ''
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`
}

/** Writes metric families in the text format (one HELP and TYPE line each, then its samples), ending with a newline. */
export function formatPrometheus(families: readonly MetricFamily[]): string {
  const lines: string[] = []
  const seen = new Set<string>()
  for (const family of families) {
    if (!METRIC_NAME.test(family.name))
      throw new MetricFormatError(`metric name ${JSON.stringify(family.name)} is not allowed`)
    if (seen.has(family.name)) throw new MetricFormatError(`metric ${family.name} is written twice`)
    seen.add(family.name)
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`)
    if (family.type !== 'histogram') {
      for (const sample of family.samples)
        lines.push(`${family.name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`)
      continue
    }
    for (const { labels, histogram } of family.series) {
      checkBuckets(histogram.buckets)
      if (histogram.counts.length !== histogram.buckets.length + 1)
        throw new MetricFormatError(
          `${family.name}: ${histogram.counts.length} counts for ${histogram.buckets.length} bounds (one more than the bounds, for +Inf)`,
        )
      const cumulative = cumulativeCounts(histogram)
      histogram.buckets.forEach((bound, i) =>
        lines.push(`${family.name}_bucket${formatLabels(labels, ['le', formatValue(bound)])} ${cumulative[i]}`),
      )
      lines.push(`${family.name}_bucket${formatLabels(labels, ['le', '+Inf'])} ${histogram.count}`)
      lines.push(`${family.name}_sum${formatLabels(labels)} ${formatValue(histogram.sum)}`)
      lines.push(`${family.name}_count${formatLabels(labels)} ${histogram.count}`)
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`
}

/** The content type of `formatPrometheus`' output. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
