/**
 * The Node view's charts as rune state: the provider's history (served requests, uptime samples) read from the
 * history store, cut into the chosen range's buckets, the figures under each chart, and the CSV export of the
 * requests in range. Reloaded when the recorder writes (`reload`), or when the range changes.
 */
import {
  onlineMs,
  percentile,
  providerBuckets,
  servedCsv,
  type ProviderBucket,
  type ServedRecord,
  type UptimeSample,
} from '../../core/history.ts'
import { indexedDbHistory, type HistoryStore } from '../../store/history.ts'
import { csvFileName, dashboardRange, downloadCsv, localOffsetMs, type DashboardRangeId } from './dashboard.ts'

export type ProviderSummary = {
  earnings: bigint
  requests: number
  jobs: number
  tokensOut: number
  tokensPerSecond: number | null
  latencyP50: number | null
  latencyP95: number | null
  uptime: number | null
}

export type ProviderDashboardDependencies = {
  history?: () => HistoryStore
  now?: () => number
  offsetMs?: (at: number) => number
}

export class ProviderDashboard {
  rangeId = $state<DashboardRangeId>('30d')
  served = $state.raw<readonly ServedRecord[]>([])
  uptime = $state.raw<readonly UptimeSample[]>([])
  loaded = $state(false)
  error = $state<string | null>(null)
  /** When the figures were computed (the range ends here). */
  at = $state(0)
  #deps: Required<ProviderDashboardDependencies>
  #loading: Promise<void> | null = null
  #again = false

  constructor(deps: ProviderDashboardDependencies = {}) {
    this.#deps = { history: indexedDbHistory, now: Date.now, offsetMs: localOffsetMs, ...deps }
    this.at = this.#deps.now()
  }

  /** Reads the history again (coalesced: a reload asked for while one runs runs once after it). */
  reload(): Promise<void> {
    if (this.#loading) {
      this.#again = true
      return this.#loading
    }
    this.#loading = (async () => {
      do {
        this.#again = false
        try {
          const history = this.#deps.history()
          const [served, uptime] = await Promise.all([history.served.list(), history.uptime.list()])
          this.served = served
          this.uptime = uptime
          this.at = this.#deps.now()
          this.error = null
        } catch (error) {
          this.error = error instanceof Error ? error.message : String(error)
        }
      } while (this.#again)
      this.loaded = true
      this.#loading = null
    })()
    return this.#loading
  }

  setRange(id: DashboardRangeId): void {
    this.rangeId = id
    this.at = this.#deps.now()
  }

  get window() {
    return dashboardRange(this.rangeId, this.at)
  }

  get buckets(): ProviderBucket[] {
    const { range, size } = this.window
    return providerBuckets(this.served, this.uptime, range, {
      size,
      offsetMs: this.#deps.offsetMs(this.at),
      now: this.at,
    })
  }

  /** The served records in the range, oldest first. */
  get inRange(): ServedRecord[] {
    const { range } = this.window
    return this.served.filter((r) => r.at >= range.from && r.at < range.to)
  }

  /** The range's figures, from the records themselves (not from the buckets: percentiles do not add up). */
  get summary(): ProviderSummary {
    const records = this.inRange
    const timed = records.filter((r) => r.latencyMs !== null)
    const latencies = timed.map((r) => r.latencyMs as number)
    const timedMs = latencies.reduce((a, b) => a + b, 0)
    const { range } = this.window
    const start = Math.max(range.from, Math.min(...this.uptime.map((s) => s.at), Infinity))
    const until = Math.min(range.to, this.at + 1)
    return {
      earnings: records.reduce((sum, r) => sum + r.earnings, 0n),
      requests: records.filter((r) => r.kind !== 'job').length,
      jobs: records.filter((r) => r.kind === 'job').length,
      tokensOut: records.reduce((sum, r) => sum + r.tokensOut, 0),
      tokensPerSecond:
        timed.length === 0 ? null : timedMs > 0 ? (timed.reduce((sum, r) => sum + r.tokensOut, 0) * 1000) / timedMs : 0,
      latencyP50: percentile(latencies, 50),
      latencyP95: percentile(latencies, 95),
      // Uptime since the first sample (before it the node did not exist here), within the range.
      uptime: this.uptime.length === 0 || until <= start ? null : onlineMs(this.uptime, start, until) / (until - start),
    }
  }

  csv(): string {
    return servedCsv(this.inRange)
  }

  exportCsv(): void {
    downloadCsv(csvFileName('served', this.#deps.now()), this.csv())
  }
}
