/**
 * The data side of `TimeChart.svelte`: what a chart is given (bucket times and named series) and how it becomes
 * uPlot's aligned data and options. Plain functions, so they are tested in Node; the component only mounts uPlot.
 */
import type uPlot from 'uplot'

/** The app's colour variables a series may be drawn in (app.css), so charts follow the theme. */
export type ChartColor = 'accent' | 'ok' | 'warn' | 'bad' | 'muted' | 'text'

export type ChartSeries = {
  label: string
  /** One value per time; null is a gap (no data in that bucket). */
  values: readonly (number | null)[]
  color?: ChartColor
  /** Bars (amounts and counts per bucket) instead of a line. */
  bars?: boolean
  /** Formats a value for the axis and legend. */
  format?: (value: number) => string
  /** The figure shown under the chart for this series (a total, an average). */
  summary?: string
}

export type ChartPalette = Record<ChartColor | 'line' | 'panel', string>

/** Axis and legend text for counts: whole numbers only (a tick at 0.5 requests says nothing). */
export const formatCount = (value: number): string => (Number.isInteger(value) ? String(value) : '')

/** Axis and legend text for small amounts: four significant digits, so 0.0005 and 0.001 stay apart. */
export const formatAmount = (value: number): string => String(Number(value.toPrecision(4)))

/** True when there is something to draw: at least one time and one value that is not null. */
export function hasChartData(times: readonly number[], series: readonly ChartSeries[]): boolean {
  return times.length > 0 && series.some((s) => s.values.some((v) => v !== null && Number.isFinite(v)))
}

/** uPlot's aligned data: times in seconds, then each series, as long as the times. */
export function chartData(times: readonly number[], series: readonly ChartSeries[]): uPlot.AlignedData {
  return [
    times.map((t) => t / 1000),
    ...series.map((s) =>
      times.map((_, i) => {
        const v = s.values[i]
        return v === undefined || v === null || !Number.isFinite(v) ? null : v
      }),
    ),
  ]
}

/** Reads the palette from the CSS variables in effect at `element` (the theme), with the dark defaults. */
export function readPalette(element: Element): ChartPalette {
  const style = getComputedStyle(element)
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback
  return {
    accent: read('--accent', '#7dd3fc'),
    ok: read('--ok', '#4ade80'),
    warn: read('--warn', '#fbbf24'),
    bad: read('--bad', '#f87171'),
    muted: read('--muted', '#9aa3b5'),
    text: read('--text', '#e6e8ee'),
    line: read('--line', '#262b36'),
    panel: read('--panel', '#171a21'),
  }
}

export function chartOptions(
  series: readonly ChartSeries[],
  palette: ChartPalette,
  { width, height, bars }: { width: number; height: number; bars?: uPlot.Series.PathBuilder | undefined },
): uPlot.Options {
  const axis = (format?: (value: number) => string): uPlot.Axis => ({
    stroke: palette.muted,
    size: 64,
    grid: { stroke: palette.line, width: 1 },
    ticks: { stroke: palette.line, width: 1 },
    ...(format ? { values: (_u: uPlot, splits: number[]) => splits.map((v) => format(v)) } : {}),
  })
  return {
    width,
    height,
    scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
    axes: [axis(), axis(series[0]?.format)],
    legend: { show: true, live: true },
    cursor: { drag: { x: false, y: false } },
    series: [
      {},
      ...series.map((s): uPlot.Series => {
        const color = palette[s.color ?? 'accent']
        return {
          label: s.label,
          stroke: color,
          width: 2,
          spanGaps: false,
          // A value between two gaps draws no line: such series show their points; others let uPlot decide.
          ...(s.bars && bars
            ? { paths: bars, fill: /^#[0-9a-f]{6}$/i.test(color) ? `${color}99` : color, points: { show: false } }
            : s.values.includes(null)
              ? { points: { show: true, size: 5 } }
              : {}),
          ...(s.format
            ? {
                value: (_u: uPlot, v: number | null) => (v === null ? '–' : (s.format as (value: number) => string)(v)),
              }
            : {}),
        }
      }),
    ],
  }
}
