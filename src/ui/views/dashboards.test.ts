import { describe, expect, test } from 'vitest'
import { DAY_MS, HOUR_MS, UPTIME_MAX_GAP_MS, type PaidRecord, type ServedRecord } from '../../core/history.ts'
import { createHistoryStore } from '../../store/history.ts'
import { memoryStore } from '../../store/payments.ts'
import { chartData, hasChartData } from '../components/time-chart.ts'
import { dashboardRange, formatAi } from './dashboard.ts'
import { ProviderDashboard } from './provider-dashboard.svelte.ts'
import { SpendingViewState } from './spending.svelte.ts'

const NOW = Date.UTC(2025, 5, 15, 12)
const served = (at: number, extra: Partial<ServedRecord> = {}): ServedRecord => ({
  at,
  model: 'm',
  kind: 'chat',
  tokensIn: 1,
  tokensOut: 100,
  earnings: 10n ** 15n,
  latencyMs: 500,
  ...extra,
})

describe('chart data', () => {
  test('times in seconds, gaps as null, and empty when nothing is drawable', () => {
    expect(chartData([1000, 2000], [{ label: 'a', values: [1, null] }])).toEqual([
      [1, 2],
      [1, null],
    ])
    expect(hasChartData([1000], [{ label: 'a', values: [null] }])).toBe(false)
    expect(hasChartData([], [{ label: 'a', values: [] }])).toBe(false)
    expect(hasChartData([1000], [{ label: 'a', values: [0] }])).toBe(true)
  })

  test('ranges end now and amounts print cut, not rounded', () => {
    expect(dashboardRange('24h', NOW)).toEqual({ range: { from: NOW - DAY_MS + 1, to: NOW + 1 }, size: 'hour' })
    expect(formatAi(1_234_567_890_123_456_789n)).toBe('1.234567 AI')
    expect(formatAi(0n)).toBe('0 AI')
    expect(formatAi(632_000_000_000n)).toBe('0.000000632 AI')
    expect(formatAi(1_234_567_890_123n)).toBe('0.00000123456 AI')
    expect(formatAi(1n)).toBe('0.000000000000000001 AI')
  })
})

describe('provider dashboard', () => {
  test('figures over the range come from the stored records', async () => {
    const history = createHistoryStore(memoryStore())
    for (const r of [
      served(NOW - HOUR_MS, { latencyMs: 100 }),
      served(NOW - 2 * DAY_MS, { latencyMs: 300 }),
      served(NOW - DAY_MS / 2, { kind: 'job', latencyMs: null }),
      served(NOW - 40 * DAY_MS),
    ])
      await history.served.append(r)
    await history.uptime.append({ at: NOW - HOUR_MS, online: true })
    const dashboard = new ProviderDashboard({ history: () => history, now: () => NOW, offsetMs: () => 0 })
    await dashboard.reload()
    expect(dashboard.inRange).toHaveLength(3)
    expect(dashboard.summary).toMatchObject({
      earnings: 3n * 10n ** 15n,
      requests: 2,
      jobs: 1,
      latencyP50: 100,
      latencyP95: 300,
      tokensPerSecond: 500,
    })
    expect(dashboard.buckets).toHaveLength(31)
    expect(dashboard.csv().split('\r\n').filter(Boolean)).toHaveLength(4)
    dashboard.setRange('24h')
    expect(dashboard.summary).toMatchObject({ requests: 1, jobs: 1 })
    // Online for the sample's gap limit out of the hour since it.
    expect(dashboard.summary.uptime).toBeCloseTo(UPTIME_MAX_GAP_MS / HOUR_MS, 2)
  })
})

describe('spending view', () => {
  test('per node and per day over the range, newest receipts first', async () => {
    const history = createHistoryStore(memoryStore())
    const paid = (at: number, node: string, cost: bigint, n: number): PaidRecord => ({
      at,
      node,
      model: 'm',
      tokensIn: 1,
      tokensOut: 2,
      cost,
      receiptHash: `0x${n.toString(16).padStart(64, '0')}`,
      verification: 'signed',
    })
    for (const r of [
      paid(NOW - DAY_MS, 'A', 5n, 1),
      paid(NOW - HOUR_MS, 'B', 7n, 2),
      paid(NOW - 3 * HOUR_MS, 'A', 4n, 3),
    ])
      await history.paid.append(r)
    const view = new SpendingViewState({ history: () => history, now: () => NOW, offsetMs: () => 0 })
    await view.load()
    expect(view.total).toBe(16n)
    expect(view.byNode.map((n) => [n.node, n.cost])).toEqual([
      ['A', 9n],
      ['B', 7n],
    ])
    expect(view.receipts.map((r) => r.at)).toEqual([NOW - HOUR_MS, NOW - 3 * HOUR_MS, NOW - DAY_MS])
    expect(view.buckets.reduce((sum, b) => sum + b.cost, 0n)).toBe(16n)
  })
})
