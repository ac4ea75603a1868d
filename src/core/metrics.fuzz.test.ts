/**
 * Properties of the metrics formatter and histograms: what `/metrics` writes parses back to the same samples
 * (whatever the label values hold), bucket lines never decrease and end at the count, quantiles stay within the
 * bounds that hold them.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  cumulativeCounts,
  emptyHistogram,
  formatPrometheus,
  histogramQuantile,
  observe,
  type MetricFamily,
} from './metrics.ts'

/** A parser for the sample lines of the text format (the subset `formatPrometheus` writes). */
function parseSamples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    const body = match[2] ?? ''
    const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/y
    let at = 0
    while (at < body.length) {
      pair.lastIndex = at
      const m = pair.exec(body)
      if (!m) throw new Error(`bad labels: ${body}`)
      labels[m[1] as string] = (m[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
      at = pair.lastIndex
    }
    const raw = match[3] as string
    out.push({
      name: match[1] as string,
      labels,
      value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw),
    })
  }
  return out
}

const labelValue = fc.string({ unit: fc.constantFrom('a', 'Z', '"', '\\', '\n', ' ', '{', '}', ',', '=', 'é', '1') })
const bounds = fc
  .uniqueArray(fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }), {
    minLength: 1,
    maxLength: 12,
  })
  .map((b) => [...b].sort((x, y) => x - y).filter((v, i, a) => i === 0 || v > (a[i - 1] as number)))

describe('metrics properties', () => {
  it('samples parse back to what was written', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ v: labelValue, value: fc.double() }), { maxLength: 8 }), (samples) => {
        const family: MetricFamily = {
          name: 'm_total',
          help: 'h\n\\',
          type: 'counter',
          samples: samples.map((s) => ({ labels: { tag: s.v }, value: s.value })),
        }
        const parsed = parseSamples(formatPrometheus([family]))
        expect(parsed.map((p) => p.labels['tag'])).toEqual(samples.map((s) => s.v))
        parsed.forEach((p, i) =>
          expect(
            Object.is(p.value, samples[i]?.value === 0 ? 0 : samples[i]?.value) ||
              (Number.isNaN(p.value) && Number.isNaN(samples[i]?.value)),
          ).toBe(true),
        )
      }),
    )
  })

  it('histogram bucket lines never decrease, +Inf is the count, and the sum is the sum of what was observed', () => {
    fc.assert(
      fc.property(
        bounds,
        fc.array(fc.double({ min: -2e6, max: 2e6, noNaN: true }), { maxLength: 60 }),
        (buckets, values) => {
          let h = emptyHistogram(buckets)
          for (const v of values) h = observe(h, v)
          const lines = parseSamples(
            formatPrometheus([{ name: 'x', help: '', type: 'histogram', series: [{ histogram: h }] }]),
          )
          const bucketLines = lines.filter((l) => l.name === 'x_bucket')
          expect(bucketLines).toHaveLength(buckets.length + 1)
          for (let i = 1; i < bucketLines.length; i++)
            expect((bucketLines[i]?.value ?? 0) >= (bucketLines[i - 1]?.value ?? 0)).toBe(true)
          expect(bucketLines.at(-1)?.value).toBe(values.length)
          buckets.forEach((b, i) => expect(bucketLines[i]?.value).toBe(values.filter((v) => v <= b).length))
          expect(cumulativeCounts(h).at(-1)).toBe(values.length)
          expect(h.sum).toBeCloseTo(
            values.reduce((s, v) => s + v, 0),
            3,
          )
        },
      ),
    )
  })

  it('a quantile lies between 0 (or the bound below) and the bound of the bucket that holds it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 200, noNaN: true }), { minLength: 1, maxLength: 60 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, q) => {
          const buckets = [1, 5, 10, 50, 100]
          let h = emptyHistogram(buckets)
          for (const v of values) h = observe(h, v)
          const estimate = histogramQuantile(q, h) as number
          expect(estimate >= 0 && estimate <= 100).toBe(true)
          const sorted = [...values].sort((a, b) => a - b)
          const exact = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number
          // The estimate is in the same bucket as the exact order statistic (or at the last bound above it).
          const bucketOf = (v: number) => buckets.findIndex((b) => v <= b)
          if (exact <= 100 && q > 0) expect(bucketOf(estimate)).toBe(bucketOf(exact))
        },
      ),
    )
  })
})
