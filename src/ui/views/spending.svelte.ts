/**
 * The consumer's Spending view as rune state: what this browser paid for (Chat answers, Code suggestions, jobs),
 * read from the history store, per node and per day over the chosen range, each receipt with how far it has been
 * verified, and the CSV export of the paid requests in range.
 */
import {
  paidCsv,
  spendingBuckets,
  spendingByNode,
  type NodeSpending,
  type PaidRecord,
  type SpendingBucket,
} from '../../core/history.ts'
import { indexedDbHistory, type HistoryStore } from '../../store/history.ts'
import { csvFileName, dashboardRange, downloadCsv, localOffsetMs, type DashboardRangeId } from './dashboard.ts'

/** How many receipts the view lists (the CSV has them all). */
export const SPENDING_RECEIPTS_SHOWN = 200

export type SpendingViewDependencies = {
  history?: () => HistoryStore
  now?: () => number
  offsetMs?: (at: number) => number
}

export class SpendingViewState {
  rangeId = $state<DashboardRangeId>('30d')
  records = $state.raw<readonly PaidRecord[]>([])
  loaded = $state(false)
  error = $state<string | null>(null)
  at = $state(0)
  #deps: Required<SpendingViewDependencies>

  constructor(deps: SpendingViewDependencies = {}) {
    this.#deps = { history: indexedDbHistory, now: Date.now, offsetMs: localOffsetMs, ...deps }
    this.at = this.#deps.now()
  }

  async load(): Promise<void> {
    try {
      this.records = await this.#deps.history().paid.list()
      this.at = this.#deps.now()
      this.error = null
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error)
    }
    this.loaded = true
  }

  setRange(id: DashboardRangeId): void {
    this.rangeId = id
    this.at = this.#deps.now()
  }

  get window() {
    return dashboardRange(this.rangeId, this.at)
  }

  get inRange(): PaidRecord[] {
    const { range } = this.window
    return this.records.filter((r) => r.at >= range.from && r.at < range.to)
  }

  get byNode(): NodeSpending[] {
    return spendingByNode(this.inRange)
  }

  /** Per day (or hour, for the short ranges) over the range. */
  get buckets(): SpendingBucket[] {
    const { range, size } = this.window
    return spendingBuckets(this.records, range, { size, offsetMs: this.#deps.offsetMs(this.at) })
  }

  get total(): bigint {
    return this.inRange.reduce((sum, r) => sum + r.cost, 0n)
  }

  /** The newest receipts first. */
  get receipts(): PaidRecord[] {
    return [...this.inRange].sort((a, b) => b.at - a.at).slice(0, SPENDING_RECEIPTS_SHOWN)
  }

  csv(): string {
    return paidCsv(this.inRange)
  }

  exportCsv(): void {
    downloadCsv(csvFileName('spending', this.#deps.now()), this.csv())
  }
}
