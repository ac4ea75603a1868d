import { readFileSync } from 'node:fs'
import { keccak256 } from 'viem'
import { describe, expect, it } from 'vitest'
import { DATASET_LIMITS, datasetHash, datasetTime, encodeDataset, parseDataset, selectWindow } from './datasets.ts'

const DAY = 86_400
const enc = (lines: string[]) => new TextEncoder().encode(lines.join('\n'))

describe('data sets', () => {
  it('parses the project headlines and names them by the keccak256 of their bytes', () => {
    const bytes = readFileSync(new URL('../../data/financial-headlines.jsonl', import.meta.url))
    const items = parseDataset(bytes)
    expect(items).toHaveLength(90)
    expect(items[0]).toMatchObject({
      id: 'fh-001',
      date: '2026-01-05',
      time: Date.UTC(2026, 0, 5) / 1000,
      asset: 'ACME',
      label: 'positive',
    })
    expect(datasetHash(bytes)).toBe(keccak256(bytes))
  })

  it('reads ISO days as 00:00 UTC and UTC instants, and refuses dates that do not exist', () => {
    expect(datasetTime('1970-01-02')).toBe(DAY)
    expect(datasetTime('2026-01-05T14:30:00Z')).toBe(Date.UTC(2026, 0, 5, 14, 30) / 1000)
    for (const bad of [
      '2026-02-30',
      '2026-1-05',
      '2026-01-05T24:00:00Z',
      '2026-01-05T10:00:00+01:00',
      '1969-12-31',
      '',
    ])
      expect(datasetTime(bad)).toBeNull()
  })

  it('refuses a file that breaks the format, naming the line', () => {
    const good = '{"id":"a","date":"2026-01-05","asset":"ACME","headline":"Up"}'
    const cases: [string[], number, RegExp][] = [
      [[good, 'nope'], 2, /not JSON/],
      [[good, good], 2, /used twice/],
      [['{"id":"a","date":"2026-01-05","asset":"acme","headline":"Up"}'], 1, /ticker/],
      [['{"id":"a","date":"2026-01-05","asset":"ACME","headline":"Up","extra":1}'], 1, /unknown field/],
      [['{"id":"a","date":"yesterday","asset":"ACME","headline":"Up"}'], 1, /ISO day/],
      [['{"id":"a","date":"2026-01-05","asset":"ACME","headline":" "}'], 1, /headline/],
      [['[1]'], 1, /object/],
    ]
    for (const [lines, line, reason] of cases)
      expect(() => parseDataset(enc(lines))).toThrow(
        expect.objectContaining({ name: 'InvalidDatasetError', line, reason: expect.stringMatching(reason) }),
      )
    expect(() => parseDataset(new Uint8Array([0xff, 0xfe]))).toThrow(
      expect.objectContaining({ name: 'InvalidDatasetError', line: 0 }),
    )
    expect(() => parseDataset(new Uint8Array(DATASET_LIMITS.maxBytes + 1))).toThrow(
      expect.objectContaining({ name: 'InvalidDatasetError', line: 0 }),
    )
  })

  it('a window holds the asset items dated in [start, end), ordered by time then id', () => {
    const items = parseDataset(
      encodeDataset([
        { id: 'b', date: '2026-01-03', asset: 'ACME', headline: 'b' },
        { id: 'a', date: '2026-01-03', asset: 'ACME', headline: 'a' },
        { id: 'c', date: '2026-01-01', asset: 'ACME', headline: 'c' },
        { id: 'd', date: '2026-01-05', asset: 'ACME', headline: 'd (at the end: excluded)' },
        { id: 'e', date: '2026-01-02', asset: 'GLOBEX', headline: 'other asset' },
        { id: 'f', date: '2025-12-31', asset: 'ACME', headline: 'before the window' },
      ]),
    )
    const end = BigInt(Date.UTC(2026, 0, 5) / 1000)
    expect(
      selectWindow(items, { asset: 'ACME', windowStart: end - 4n * BigInt(DAY), windowEnd: end }).map((i) => i.id),
    ).toEqual(['c', 'a', 'b'])
    expect(selectWindow(items, { asset: 'HOOLI', windowStart: 0n, windowEnd: end })).toEqual([])
  })

  it('encodeDataset round-trips through parseDataset', () => {
    const items = [{ id: 'x', date: '2026-03-01T00:00:01Z', asset: 'ACME', headline: 'h "quoted"', label: 'neutral' }]
    expect(parseDataset(encodeDataset(items)).map(({ time: _time, ...rest }) => rest)).toEqual(items)
  })
})
