import { describe, expect, it } from 'vitest'
import { MetricFormatError } from './errors/operations.ts'
import {
  emptyHistogram,
  escapeLabelValue,
  exponentialBuckets,
  formatPrometheus,
  formatValue,
  Histogram,
  histogramQuantile,
  observe,
} from './metrics.ts'

describe('Prometheus text format', () => {
  it('writes counters, gauges and histograms as the exposition format says', () => {
    const latency = new Histogram([0.1, 1])
    for (const v of [0.05, 0.1, 0.5, 3]) latency.observe(v)
    const text = formatPrometheus([
      {
        name: 'modelex_requests_total',
        help: 'Requests.\nBy outcome.',
        type: 'counter',
        samples: [
          { labels: { outcome: 'served' }, value: 3 },
          { labels: { outcome: 'say "hi"\\' }, value: 0 },
        ],
      },
      { name: 'modelex_queue', help: 'Queued.', type: 'gauge', samples: [{ value: 2 }] },
      {
        name: 'modelex_latency_seconds',
        help: 'Latency.',
        type: 'histogram',
        series: [{ labels: { kind: 'chat' }, histogram: latency.snapshot() }],
      },
    ])
    expect(text).toBe(
      [
        '# HELP modelex_requests_total Requests.\\nBy outcome.',
        '# TYPE modelex_requests_total counter',
        'modelex_requests_total{outcome="served"} 3',
        'modelex_requests_total{outcome="say \\"hi\\"\\\\"} 0',
        '# HELP modelex_queue Queued.',
        '# TYPE modelex_queue gauge',
        'modelex_queue 2',
        '# HELP modelex_latency_seconds Latency.',
        '# TYPE modelex_latency_seconds histogram',
        'modelex_latency_seconds_bucket{kind="chat",le="0.1"} 2',
        'modelex_latency_seconds_bucket{kind="chat",le="1"} 3',
        'modelex_latency_seconds_bucket{kind="chat",le="+Inf"} 4',
        'modelex_latency_seconds_sum{kind="chat"} 3.65',
        'modelex_latency_seconds_count{kind="chat"} 4',
        '',
      ].join('\n'),
    )
  })

  it('refuses names the format cannot carry, reserved labels, repeated families and bad buckets', () => {
    const bad = [
      () => formatPrometheus([{ name: '1abc', help: '', type: 'gauge', samples: [] }]),
      () =>
        formatPrometheus([
          { name: 'a', help: '', type: 'gauge', samples: [{ labels: { 'bad-name': 'x' }, value: 1 }] },
        ]),
      () => formatPrometheus([{ name: 'a', help: '', type: 'gauge', samples: [{ labels: { __x: 'x' }, value: 1 }] }]),
      () => formatPrometheus([{ name: 'a', help: '', type: 'gauge', samples: [{ labels: { le: '1' }, value: 1 }] }]),
      () =>
        formatPrometheus([
          { name: 'a', help: '', type: 'gauge', samples: [] },
          { name: 'a', help: '', type: 'gauge', samples: [] },
        ]),
      () => emptyHistogram([1, 1]),
      () => emptyHistogram([1, Infinity]),
      () => exponentialBuckets(0, 2, 3),
      () =>
        formatPrometheus([
          {
            name: 'h',
            help: '',
            type: 'histogram',
            series: [{ histogram: { buckets: [1], counts: [0], sum: 0, count: 0 } }],
          },
        ]),
    ]
    for (const call of bad) expect(call).toThrow(MetricFormatError)
  })

  it('writes special values and escapes label values', () => {
    expect([NaN, Infinity, -Infinity, -0, 1e21, 0.25].map(formatValue)).toEqual([
      'NaN',
      '+Inf',
      '-Inf',
      '0',
      '1e+21',
      '0.25',
    ])
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd')
    expect(formatPrometheus([])).toBe('')
  })
})

describe('histograms', () => {
  it("put a value on a bound in that bound's bucket, above the last in +Inf, and skip NaN", () => {
    let h = emptyHistogram([1, 2])
    for (const v of [1, 1.5, 2, 2.0001, NaN]) h = observe(h, v)
    expect(h.counts).toEqual([1, 2, 1])
    expect(h.count).toBe(4)
  })

  it('estimate quantiles like histogram_quantile', () => {
    let h = emptyHistogram([1, 2, 4])
    expect(histogramQuantile(0.5, h)).toBeNull()
    for (const v of [0.5, 1.5, 1.5, 3]) h = observe(h, v)
    // Rank 2 of 4 falls in (1, 2], which holds ranks 2..3: halfway.
    expect(histogramQuantile(0.5, h)).toBe(1.5)
    expect(histogramQuantile(1, h)).toBe(4)
    h = observe(observe(h, 100), 100)
    expect(histogramQuantile(0.99, h)).toBe(4)
  })

  it('exponential buckets multiply', () => {
    expect(exponentialBuckets(1, 2, 4)).toEqual([1, 2, 4, 8])
  })
})
