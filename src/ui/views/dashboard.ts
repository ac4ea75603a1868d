/**
 * What the Node view's charts and the Spending view share: the time ranges a dashboard offers (each with its bucket
 * size), amounts as numbers of AI for charts, and the CSV download.
 */
import { formatEther } from 'viem'
import { DAY_MS, type BucketSize, type TimeRange } from '../../core/history.ts'

export type DashboardRangeId = '24h' | '7d' | '30d' | '365d'
export type DashboardRange = { id: DashboardRangeId; title: string; spanMs: number; size: BucketSize }

export const DASHBOARD_RANGES: readonly DashboardRange[] = [
  { id: '24h', title: 'Last 24 hours, by hour', spanMs: DAY_MS, size: 'hour' },
  { id: '7d', title: 'Last 7 days, by hour', spanMs: 7 * DAY_MS, size: 'hour' },
  { id: '30d', title: 'Last 30 days, by day', spanMs: 30 * DAY_MS, size: 'day' },
  { id: '365d', title: 'Last 365 days, by day', spanMs: 365 * DAY_MS, size: 'day' },
]

/** The range ending now (inclusive) and its bucket size. */
export function dashboardRange(id: DashboardRangeId, now: number): { range: TimeRange; size: BucketSize } {
  const preset = DASHBOARD_RANGES.find((r) => r.id === id) ?? (DASHBOARD_RANGES[2] as DashboardRange)
  return { range: { from: now - preset.spanMs + 1, to: now + 1 }, size: preset.size }
}

/** The viewer's time zone as an offset from UTC, so day buckets start at local midnight. */
export function localOffsetMs(at: number): number {
  return -new Date(at).getTimezoneOffset() * 60_000
}

/** An amount of AI wei as a number of AI, for plotting (exact enough for a chart, never for accounting). */
export const aiNumber = (wei: bigint): number => Number(formatEther(wei))

/** An amount of AI wei as text, cut to `digits` decimals (the exact figure is in the CSV). */
/** AI with `digits` decimals; an amount under 1 AI keeps its first `digits` significant digits, so a payment never reads as 0. */
export function formatAi(wei: bigint, digits = 6): string {
  const [whole, fraction = ''] = formatEther(wei).split('.')
  const leadingZeros = fraction.length - fraction.replace(/^0+/, '').length
  const cut = fraction.slice(0, /^-?0$/.test(whole ?? '') ? leadingZeros + digits : digits).replace(/0+$/, '')
  return `${whole}${cut ? `.${cut}` : ''} AI`
}

export const formatMs = (ms: number | null): string =>
  ms === null ? '–' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`

/** Hands `csv` to the browser as a file download. */
export function downloadCsv(filename: string, csv: string): void {
  const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }))
  const link = document.createElement('a')
  link.href = url
  link.download = filename
  link.style.display = 'none'
  document.body.append(link)
  link.click()
  link.remove()
  // The download has started from the object URL by now; keep it a moment for slow browsers.
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** `modelex-<what>-<YYYY-MM-DD>.csv` for a download made at `now`. */
export const csvFileName = (what: string, now: number): string =>
  `modelex-${what}-${new Date(now).toISOString().slice(0, 10)}.csv`
