/**
 * The history's arithmetic and its CSV as properties: bucketing loses and invents nothing (bucket sums equal the
 * totals of the records in range), uptime stays a fraction, spending per node and per day add up to the same
 * total, and every CSV document reads back, through an independent RFC 4180 parser, as the cells written.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  DAY_MS,
  HOUR_MS,
  PAID_CSV_HEADER,
  paidCsv,
  providerBuckets,
  RECEIPT_VERIFICATIONS,
  SERVED_KINDS,
  servedCsv,
  spendingBuckets,
  spendingByNode,
  toCsv,
  type PaidRecord,
  type ServedRecord,
} from './history.ts'

/** A small RFC 4180 reader, written apart from the writer: quoted fields, doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let i = 0
  let quoted = false
  while (i < text.length) {
    const c = text[i] as string
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"'
        i += 2
      } else if (c === '"') {
        quoted = false
        i++
      } else {
        cell += c
        i++
      }
    } else if (c === '"' && cell === '') {
      quoted = true
      i++
    } else if (c === ',') {
      row.push(cell)
      cell = ''
      i++
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
      i += 2
    } else {
      if (c === '"' || c === '\r' || c === '\n') throw new Error(`bare ${JSON.stringify(c)} at ${i}`)
      cell += c
      i++
    }
  }
  if (quoted) throw new Error('unterminated quote')
  if (cell !== '' || row.length > 0) throw new Error('the last record has no CRLF')
  return rows
}

const T0 = Date.UTC(2025, 0, 1)
const SPAN = 3 * DAY_MS
const at = fc.integer({ min: T0 - DAY_MS, max: T0 + SPAN + DAY_MS })
const servedRecord: fc.Arbitrary<ServedRecord> = fc.record({
  at,
  model: fc.string({ minLength: 1, maxLength: 20 }),
  kind: fc.constantFrom(...SERVED_KINDS),
  tokensIn: fc.nat({ max: 100_000 }),
  tokensOut: fc.nat({ max: 100_000 }),
  earnings: fc.bigInt({ min: 0n, max: 10n ** 21n }),
  latencyMs: fc.option(fc.integer({ min: 0, max: 600_000 }), { nil: null }),
})
const paidRecord: fc.Arbitrary<PaidRecord> = fc.record({
  at,
  node: fc.constantFrom('A', 'B', 'C', '=evil'),
  model: fc.string({ minLength: 1, maxLength: 20 }),
  tokensIn: fc.nat({ max: 100_000 }),
  tokensOut: fc.nat({ max: 100_000 }),
  cost: fc.bigInt({ min: 0n, max: 10n ** 21n }),
  receiptHash: fc
    .uint8Array({ minLength: 32, maxLength: 32 })
    .map((b) => `0x${Buffer.from(b).toString('hex')}` as const),
  verification: fc.constantFrom(...RECEIPT_VERIFICATIONS),
})
const range = fc
  .tuple(fc.integer({ min: T0, max: T0 + SPAN }), fc.integer({ min: 0, max: SPAN }))
  .map(([from, length]) => ({ from, to: from + length }))
const size = fc.constantFrom('hour' as const, 'day' as const)
const offsetMs = fc.integer({ min: -14, max: 14 }).map((h) => h * HOUR_MS)

describe('history properties', () => {
  it('provider bucket sums equal the totals of the records in range; uptime is a fraction', () => {
    fc.assert(
      fc.property(
        fc.array(servedRecord, { maxLength: 60 }),
        fc.array(fc.record({ at, online: fc.boolean() }), { maxLength: 30 }),
        range,
        size,
        offsetMs,
        (records, samples, r, s, offset) => {
          const buckets = providerBuckets(records, samples, r, { size: s, offsetMs: offset })
          const inRange = records.filter((x) => x.at >= r.from && x.at < r.to)
          expect(buckets.reduce((n, b) => n + b.requests + b.jobs, 0)).toBe(inRange.length)
          expect(buckets.reduce((n, b) => n + b.jobs, 0)).toBe(inRange.filter((x) => x.kind === 'job').length)
          expect(buckets.reduce((n, b) => n + b.earnings, 0n)).toBe(inRange.reduce((n, x) => n + x.earnings, 0n))
          expect(buckets.reduce((n, b) => n + b.tokensOut, 0)).toBe(inRange.reduce((n, x) => n + x.tokensOut, 0))
          for (const [i, b] of buckets.entries()) {
            expect(b.end - b.start).toBe(s === 'hour' ? HOUR_MS : DAY_MS)
            if (i > 0) expect(b.start).toBe(buckets[i - 1]?.end)
            if (b.uptime !== null) expect(b.uptime).toBeGreaterThanOrEqual(0)
            if (b.uptime !== null) expect(b.uptime).toBeLessThanOrEqual(1 + 1e-9)
            if (b.latencyP50 !== null && b.latencyP95 !== null) expect(b.latencyP50).toBeLessThanOrEqual(b.latencyP95)
          }
          if (buckets.length > 0) {
            expect(buckets[0]?.start).toBeLessThanOrEqual(r.from)
            expect(buckets.at(-1)?.end).toBeGreaterThanOrEqual(r.to)
          }
        },
      ),
    )
  })

  it('spending per node and per day add up to the same total', () => {
    fc.assert(
      fc.property(fc.array(paidRecord, { maxLength: 60 }), (records) => {
        const total = records.reduce((n, x) => n + x.cost, 0n)
        const nodes = spendingByNode(records)
        expect(nodes.reduce((n, x) => n + x.cost, 0n)).toBe(total)
        expect(nodes.reduce((n, x) => n + Object.values(x.receipts).reduce((a, b) => a + b, 0), 0)).toBe(records.length)
        for (let i = 1; i < nodes.length; i++)
          expect((nodes[i - 1] as { cost: bigint }).cost >= (nodes[i] as { cost: bigint }).cost).toBe(true)
        const days = spendingBuckets(records, { from: T0 - DAY_MS, to: T0 + SPAN + DAY_MS + 1 })
        expect(days.reduce((n, x) => n + x.cost, 0n)).toBe(total)
      }),
    )
  })

  it('CSV reads back as written; text cells that a spreadsheet would run start with an apostrophe', () => {
    const cell = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.string({ unit: fc.constantFrom('=', '+', '-', '@', ',', '"', '\r', '\n', 'a', ' '), maxLength: 8 }),
      fc.integer(),
      fc.bigInt(),
    )
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 3, maxLength: 3 }), { maxLength: 10 }), (rows) => {
        const read = parseCsv(toCsv(['a', 'b', 'c'], rows))
        expect(read[0]).toEqual(['a', 'b', 'c'])
        expect(read.slice(1)).toHaveLength(rows.length)
        rows.forEach((row, i) =>
          row.forEach((value, j) => {
            const back = read[i + 1]?.[j] as string
            if (typeof value !== 'string') expect(back).toBe(String(value))
            else if (/^[=+\-@\t\r]/.test(value)) expect(back).toBe(`'${value}`)
            else expect(back).toBe(value)
            expect(back).not.toMatch(/^[=+@]/)
            if (typeof value === 'string') expect(back).not.toMatch(/^-/)
          }),
        )
      }),
    )
  })

  it('exports have one row per record, with the header, and never a formula cell', () => {
    fc.assert(
      fc.property(
        fc.array(paidRecord, { maxLength: 20 }),
        fc.array(servedRecord, { maxLength: 20 }),
        (paid, served) => {
          const p = parseCsv(paidCsv(paid))
          expect(p[0]).toEqual([...PAID_CSV_HEADER])
          expect(p).toHaveLength(paid.length + 1)
          p.slice(1).forEach((row, i) => {
            expect(row[5]).toBe((paid[i] as PaidRecord).cost.toString())
            expect(row[7]).toBe((paid[i] as PaidRecord).receiptHash)
          })
          const s = parseCsv(servedCsv(served))
          expect(s).toHaveLength(served.length + 1)
          for (const row of [...p, ...s]) for (const c of row) expect(c).not.toMatch(/^[=+\-@\t\r]/)
        },
      ),
    )
  })
})
