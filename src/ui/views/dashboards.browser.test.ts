/**
 * The dashboards in the built app: the Node view's charts and the Spending view drawn from history seeded into
 * IndexedDB (the database the app writes, in its stored form), and with no history at all; the CSV downloads.
 */
import { readFile } from 'node:fs/promises'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import {
  HOUR_MS,
  paidCsv,
  servedCsv,
  type PaidRecord,
  type ServedRecord,
  type UptimeSample,
} from '../../core/history.ts'
import { launchChromium } from '../../server/lib/chromium.ts'
import { openWatchedPage } from '../../server/testing/browser.ts'
import { HISTORY_DATABASE, HISTORY_OBJECT_STORE } from '../../store/history.ts'

let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

const MINUTE = 60_000
const AI = 10n ** 18n
const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as const

/** Writes stored pages (amounts as decimal strings) into the app's history database, as `src/store/history.ts` does. */
async function seed(page: Page, logs: Record<string, unknown[]>): Promise<void> {
  await page.evaluate(
    async ({ database, objectStore, logs }) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open(database)
        open.onupgradeneeded = () => open.result.createObjectStore(objectStore)
        open.onsuccess = () => resolve(open.result)
        open.onerror = () => reject(open.error)
      })
      const tx = db.transaction(objectStore, 'readwrite')
      for (const [name, records] of Object.entries(logs)) {
        tx.objectStore(objectStore).put({ first: 0, last: 0 }, `history:${name}:meta`)
        tx.objectStore(objectStore).put(records, `history:${name}:page:0`)
      }
      await new Promise((resolve, reject) => {
        tx.oncomplete = resolve
        tx.onerror = () => reject(tx.error)
      })
      db.close()
    },
    { database: HISTORY_DATABASE, objectStore: HISTORY_OBJECT_STORE, logs },
  )
}

async function download(page: Page, button: string): Promise<string> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(button).click()])
  return readFile((await file.path()) as string, 'utf8')
}

const seriesOf = (page: Page, chart: string) => page.locator(`[data-testid="${chart}"] .u-legend .u-series`).count()

test('Node view: the charts draw the stored history, their figures match it, and Export CSV downloads it', async () => {
  const now = Date.now()
  const served: ServedRecord[] = [
    {
      at: now - 50 * HOUR_MS,
      model: 'modelex-demo-30m',
      kind: 'chat',
      tokensIn: 10,
      tokensOut: 50,
      earnings: AI / 1000n,
      latencyMs: 100,
    },
    {
      at: now - 26 * HOUR_MS,
      model: 'modelex-demo-30m',
      kind: 'completion',
      tokensIn: 20,
      tokensOut: 50,
      earnings: AI / 1000n,
      latencyMs: 200,
    },
    {
      at: now - 2 * HOUR_MS,
      model: '=HYPERLINK("http://x")',
      kind: 'chat',
      tokensIn: 30,
      tokensOut: 50,
      earnings: AI / 1000n,
      latencyMs: 900,
    },
    {
      at: now - HOUR_MS,
      model: 'modelex-demo-30m',
      kind: 'job',
      tokensIn: 40,
      tokensOut: 500,
      earnings: AI / 2000n,
      latencyMs: null,
    },
  ]
  // Online from 100 to 50 minutes ago (a sample a minute), then offline: half of the time since the first sample.
  const uptime: UptimeSample[] = [
    ...Array.from({ length: 50 }, (_, i) => ({ at: now - (100 - i) * MINUTE, online: true })),
    { at: now - 50 * MINUTE, online: false },
  ]
  const { page, errors } = await openWatchedPage(browser, new URL('#/overview', inject('appUrl')).href)
  await seed(page, { served: served.map((r) => ({ ...r, earnings: r.earnings.toString() })), uptime })
  await page.goto(new URL('#/node', inject('appUrl')).href)

  for (const [chart, series] of [
    ['chart-earnings', 1],
    ['chart-requests', 2],
    ['chart-speed', 1],
    ['chart-latency', 2],
    ['chart-uptime', 1],
  ] as const) {
    await expect
      .poll(() => page.locator(`[data-testid="${chart}"] canvas`).count(), { timeout: 30_000 })
      .toBeGreaterThan(0)
    expect(await page.locator(`[data-testid="${chart}"]`).getAttribute('data-series')).toBe(String(series))
    // uPlot's legend: the time, then one entry per series.
    expect(await seriesOf(page, chart)).toBe(series + 1)
  }
  expect(await page.locator('[data-testid="chart-latency"] .u-legend .u-series .u-label').allTextContents()).toEqual([
    'Time',
    'p50',
    'p95',
  ])
  const summary = (chart: string, i = 0) => page.getByTestId(`${chart}-summary-${i}`).textContent()
  expect(await summary('chart-earnings')).toBe('0.0035 AI')
  expect(await summary('chart-requests', 0)).toBe('3')
  expect(await summary('chart-requests', 1)).toBe('1')
  // 150 tokens over 1.2 s of the timed requests (the job has no latency).
  expect(await summary('chart-speed')).toBe('125.0')
  expect(await summary('chart-latency', 0)).toBe('200 ms')
  expect(await summary('chart-latency', 1)).toBe('900 ms')
  expect(await summary('chart-uptime')).toMatch(/^(50\.0|49\.9)%$/)

  // The last 24 hours: the two recent records only.
  await page.getByTestId('provider-range').selectOption('24h')
  await expect.poll(() => summary('chart-earnings')).toBe('0.0015 AI')
  expect(await summary('chart-requests', 0)).toBe('1')

  const csv = await download(page, 'export-served-csv')
  expect(csv).toBe(servedCsv(served.slice(2)))
  expect(csv).toContain(`,"'=HYPERLINK(""http://x"")",`)
  expect(errors).toEqual([])
  await page.close()
})

test('Spending view: per day, per node and every receipt with its verification state; Export CSV', async () => {
  const now = Date.now()
  const paid: PaidRecord[] = [
    {
      at: now - 3 * 24 * HOUR_MS,
      node: '12D3KooWNodeA',
      model: 'modelex-demo-30m',
      tokensIn: 5,
      tokensOut: 20,
      cost: AI / 100n,
      receiptHash: hash(1),
      verification: 'verified',
    },
    {
      at: now - 2 * HOUR_MS,
      node: '12D3KooWNodeB',
      model: 'modelex-demo-30m',
      tokensIn: 5,
      tokensOut: 20,
      cost: (3n * AI) / 100n,
      receiptHash: hash(2),
      verification: 'unanchored',
    },
    {
      at: now - HOUR_MS,
      node: '12D3KooWNodeA',
      model: 'modelex-demo-30m',
      tokensIn: 5,
      tokensOut: 20,
      cost: AI / 100n,
      receiptHash: hash(3),
      verification: 'failed',
    },
    {
      at: now - MINUTE,
      node: '12D3KooWNodeA',
      model: 'modelex-demo-30m',
      tokensIn: 5,
      tokensOut: 20,
      cost: AI / 100n,
      receiptHash: hash(4),
      verification: 'signed',
    },
  ]
  const { page, errors } = await openWatchedPage(browser, new URL('#/overview', inject('appUrl')).href)
  await seed(page, { paid: paid.map((r) => ({ ...r, cost: r.cost.toString() })) })
  await page.goto(new URL('#/spending', inject('appUrl')).href)

  await expect
    .poll(() => page.locator('[data-testid="chart-spending"] canvas').count(), { timeout: 30_000 })
    .toBeGreaterThan(0)
  expect(await seriesOf(page, 'chart-spending')).toBe(2)
  expect(await page.getByTestId('chart-spending-summary-0').textContent()).toBe('0.06 AI')
  expect(await page.getByTestId('chart-paid-requests-summary-0').textContent()).toBe('4')
  expect(await page.getByTestId('spending-total').textContent()).toBe('0.06 AI')
  expect(await page.getByTestId('spending-count').textContent()).toBe('4')
  const nodes = page.locator('[data-testid="spending-nodes"] tbody tr')
  // Largest spending first: B (0.03, one request) ties A (0.03, three); the tie goes to the most recent, A.
  expect(await nodes.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-node')))).toEqual([
    '12D3KooWNodeA',
    '12D3KooWNodeB',
  ])
  expect(await page.locator('[data-node="12D3KooWNodeA"] [data-testid="node-spent"]').textContent()).toBe('0.03 AI')
  expect(await page.locator('[data-node="12D3KooWNodeA"]').textContent()).toMatch(/1 of 3, 1 failed/)
  const states = await page
    .locator('[data-testid="spending-receipts"] tbody tr')
    .evaluateAll((rows) =>
      rows.map((r) => [r.getAttribute('data-receipt'), r.querySelector('[data-testid="receipt-state"]')?.textContent]),
    )
  expect(states).toEqual([
    [hash(4), 'signed (not checked on-chain yet)'],
    [hash(3), 'proof failed'],
    [hash(2), 'not anchored yet'],
    [hash(1), 'verified on-chain'],
  ])
  const csv = await download(page, 'export-spending-csv')
  expect(csv).toBe(paidCsv(paid))
  expect(errors).toEqual([])
  await page.close()
})

test('with no history the charts say so, draw nothing and log no errors', async () => {
  const { page, errors } = await openWatchedPage(browser, new URL('#/node', inject('appUrl')).href)
  await expect
    .poll(() => page.getByTestId('chart-earnings-empty').textContent(), { timeout: 30_000 })
    .toBe('No requests served in this range yet.')
  expect(await page.getByTestId('chart-uptime-empty').textContent()).toBe('No uptime recorded in this range yet.')
  expect(await page.locator('[data-testid="provider-charts"] canvas').count()).toBe(0)
  const csv = await download(page, 'export-served-csv')
  expect(csv).toBe('time,kind,model,tokens_in,tokens_out,earnings_wei,earnings_ai,latency_ms\r\n')

  await page.goto(new URL('#/spending', inject('appUrl')).href)
  await expect
    .poll(() => page.getByTestId('chart-spending-empty').textContent(), { timeout: 30_000 })
    .toMatch(/^Nothing paid in this range yet/)
  expect(await page.getByTestId('spending-total').textContent()).toBe('0 AI')
  expect(await page.locator('canvas').count()).toBe(0)
  expect(errors).toEqual([])
  await page.close()
})
