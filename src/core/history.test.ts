import { describe, expect, test } from 'vitest'
import { HistoryRangeError, InvalidHistoryRecordError } from './errors/history.ts'
import {
  bucketStarts,
  csvField,
  DAY_MS,
  HOUR_MS,
  onlineMs,
  paidCsv,
  parsePaidRecord,
  parseServedRecord,
  percentile,
  providerBuckets,
  rangeOf,
  servedCsv,
  spendingBuckets,
  spendingByNode,
  toCsv,
  UPTIME_MAX_GAP_MS,
  type PaidRecord,
  type ServedRecord,
} from './history.ts'

const T0 = Date.UTC(2025, 0, 1)
const served = (at: number, extra: Partial<ServedRecord> = {}): ServedRecord => ({
  at,
  model: 'm',
  kind: 'chat',
  tokensIn: 10,
  tokensOut: 20,
  earnings: 100n,
  latencyMs: 1000,
  ...extra,
})
const paid = (at: number, extra: Partial<PaidRecord> = {}): PaidRecord => ({
  at,
  node: 'A',
  model: 'm',
  tokensIn: 1,
  tokensOut: 2,
  cost: 5n,
  receiptHash: `0x${'ab'.repeat(32)}`,
  verification: 'signed',
  ...extra,
})

describe('buckets', () => {
  test('align to whole hours and days, in the given zone', () => {
    expect(bucketStarts({ from: T0 + 90 * 60_000, to: T0 + 3 * HOUR_MS + 1 }, { size: 'hour' })).toEqual([
      T0 + HOUR_MS,
      T0 + 2 * HOUR_MS,
      T0 + 3 * HOUR_MS,
    ])
    // UTC+2: local midnight is 22:00 UTC the day before.
    expect(bucketStarts({ from: T0, to: T0 + DAY_MS }, { size: 'day', offsetMs: 2 * HOUR_MS })).toEqual([
      T0 - 2 * HOUR_MS,
      T0 + DAY_MS - 2 * HOUR_MS,
    ])
    expect(bucketStarts({ from: T0, to: T0 }, { size: 'day' })).toEqual([])
  })

  test('refuse reversed, fractional and too long ranges', () => {
    expect(() => bucketStarts({ from: T0, to: T0 - 1 }, { size: 'hour' })).toThrow(HistoryRangeError)
    expect(() => bucketStarts({ from: 0.5, to: 1 }, { size: 'hour' })).toThrow(HistoryRangeError)
    expect(() => bucketStarts({ from: 0, to: 20_000 * HOUR_MS }, { size: 'hour' })).toThrow(/more than 10000/)
    expect(bucketStarts({ from: 0, to: 20_000 * HOUR_MS }, { size: 'day' })).toHaveLength(834)
  })

  test('provider buckets: counts by kind, sums, tokens/s and latency percentiles', () => {
    const records = [
      served(T0 + 1, { latencyMs: 100 }),
      served(T0 + 2, { kind: 'completion', latencyMs: 300 }),
      served(T0 + 3, { kind: 'job', latencyMs: null, tokensOut: 1000 }),
      served(T0 + HOUR_MS + 5, { latencyMs: 2000, earnings: 7n }),
      served(T0 + 5 * HOUR_MS), // outside the range
    ]
    const [first, second] = providerBuckets(records, [], { from: T0, to: T0 + 2 * HOUR_MS }, { size: 'hour' })
    expect(first).toMatchObject({
      requests: 2,
      jobs: 1,
      tokensIn: 30,
      tokensOut: 1040,
      earnings: 300n,
      latencyP50: 100,
      latencyP95: 300,
    })
    // Only requests with a latency count for speed: 40 tokens in 0.4 s.
    expect(first?.tokensPerSecond).toBeCloseTo(100)
    expect(second).toMatchObject({
      requests: 1,
      jobs: 0,
      earnings: 7n,
      latencyP50: 2000,
      latencyP95: 2000,
      tokensPerSecond: 10,
    })
    const empty = providerBuckets([], [], { from: T0, to: T0 + HOUR_MS }, { size: 'hour' })[0]
    expect(empty).toMatchObject({ requests: 0, tokensPerSecond: null, latencyP50: null, uptime: 0 })
  })

  test('uptime: online samples count until the next one or the gap limit; the future is not counted', () => {
    const samples = [
      { at: T0, online: true },
      { at: T0 + 60_000, online: true },
      { at: T0 + 30 * 60_000, online: false },
      { at: T0 + 45 * 60_000, online: true }, // then silence: counts for the gap limit only
    ]
    expect(onlineMs(samples, T0, T0 + HOUR_MS)).toBe(60_000 + UPTIME_MAX_GAP_MS + UPTIME_MAX_GAP_MS)
    const [bucket, future] = providerBuckets(
      [],
      samples,
      { from: T0, to: T0 + 2 * HOUR_MS },
      { size: 'hour', now: T0 + HOUR_MS / 2 },
    )
    expect(bucket?.uptime).toBeCloseTo((60_000 + UPTIME_MAX_GAP_MS) / (HOUR_MS / 2))
    expect(future?.uptime).toBeNull()
  })

  test('percentile by nearest rank', () => {
    expect(percentile([], 50)).toBeNull()
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3)
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        95,
      ),
    ).toBe(95)
    expect(percentile([7], 95)).toBe(7)
  })
})

describe('spending', () => {
  test('per node, largest first, with receipts by state', () => {
    const rows = spendingByNode([
      paid(T0, { node: 'A', cost: 5n }),
      paid(T0 + 1, { node: 'B', cost: 9n, verification: 'verified' }),
      paid(T0 + 2, { node: 'A', cost: 5n, verification: 'failed' }),
    ])
    expect(rows.map((r) => [r.node, r.cost, r.requests])).toEqual([
      ['A', 10n, 2],
      ['B', 9n, 1],
    ])
    expect(rows[0]?.receipts).toEqual({ signed: 1, unanchored: 0, verified: 0, failed: 1 })
  })

  test('per day', () => {
    const days = spendingBuckets([paid(T0 + 1), paid(T0 + 2, { node: 'B' }), paid(T0 + DAY_MS + 3)], {
      from: T0,
      to: T0 + 2 * DAY_MS,
    })
    expect(days.map((d) => [d.start, d.requests, d.cost, d.nodes])).toEqual([
      [T0, 2, 10n, 2],
      [T0 + DAY_MS, 1, 5n, 1],
    ])
    expect(rangeOf([{ at: 5 }, { at: 2 }])).toEqual({ from: 2, to: 6 })
    expect(rangeOf([])).toBeNull()
  })
})

describe('CSV', () => {
  test('quotes what needs quoting and neutralises formulas', () => {
    expect(csvField('plain')).toBe('plain')
    expect(csvField('a,b')).toBe('"a,b"')
    expect(csvField('say "hi"')).toBe('"say ""hi"""')
    expect(csvField('two\nlines')).toBe('"two\nlines"')
    for (const start of ['=', '+', '-', '@'])
      expect(csvField(`${start}HYPERLINK("x")`)).toBe(`"'${start}HYPERLINK(""x"")"`)
    expect(csvField('=1+1')).toBe("'=1+1")
    expect(csvField(12n)).toBe('12')
    expect(csvField(null)).toBe('')
    expect(csvField(Number.NaN)).toBe('')
    expect(toCsv(['a', 'b'], [[1, 'x']])).toBe('a,b\r\n1,x\r\n')
  })

  test('exports served and paid records', () => {
    expect(servedCsv([served(T0, { earnings: 1_500_000_000_000_000n, latencyMs: null, kind: 'job' })])).toBe(
      'time,kind,model,tokens_in,tokens_out,earnings_wei,earnings_ai,latency_ms\r\n2025-01-01T00:00:00.000Z,job,m,10,20,1500000000000000,0.0015,\r\n',
    )
    const csv = paidCsv([paid(T0, { node: '=cmd|calc', verification: 'verified' })])
    expect(csv.split('\r\n')[1]).toBe(
      `2025-01-01T00:00:00.000Z,'=cmd|calc,m,1,2,5,0.000000000000000005,0x${'ab'.repeat(32)},verified`,
    )
  })
})

describe('record checks', () => {
  test('accept good records and name the bad field', () => {
    expect(parseServedRecord(served(T0))).toEqual(served(T0))
    expect(parsePaidRecord(paid(T0))).toEqual(paid(T0))
    expect(() => parseServedRecord({ ...served(T0), earnings: '5' })).toThrow(InvalidHistoryRecordError)
    expect(() => parseServedRecord({ ...served(T0), kind: 'other' })).toThrow(/kind/)
    expect(() => parsePaidRecord({ ...paid(T0), receiptHash: '0x12' })).toThrow(/receiptHash/)
    expect(() => parsePaidRecord(null)).toThrow(InvalidHistoryRecordError)
  })
})
