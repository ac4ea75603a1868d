/**
 * The dated data set `bench:oracle`'s subscription rounds read, built from labelled headlines that have no usable
 * dates (the Financial PhraseBank has none; the project's own set is dated in 2026, not around a fresh anvil's clock).
 * Deterministic: the same headlines, assets and round times give the same bytes.
 *
 * - sample: `perAsset × assets.length` headlines taken at an even stride through the list, dealt round-robin to the
 *   assets (so each asset gets a similar mix of labels and no two assets share a headline);
 * - dates: for each asset, its first `perAsset - 1` items spread evenly over the `SAMPLE_WINDOW_DAYS` days before its
 *   round 0 opens, the last one half a day after (inside round 1's window only, so round 1 has one new item).
 */
import type { DatasetItem } from '../../core/datasets.ts'
import { DATASET_LIMITS } from '../../core/datasets.ts'
import type { SentimentItem } from '../../core/sentiment.ts'

export const SAMPLE_WINDOW_DAYS = 90
const DAY = 86_400

export type DatedSampleParameters = {
  perAsset: number
  /** Made-up tickers (`^[A-Z][A-Z0-9.]{0,9}$`), each with the unix time its round 0 opens. */
  assets: readonly { asset: string; start: bigint }[]
}
export type DatedSample = { items: Omit<DatasetItem, 'time'>[]; stride: number }

const iso = (t: number) => new Date(t * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')

export function datedSample(
  headlines: readonly SentimentItem[],
  { perAsset, assets }: DatedSampleParameters,
): DatedSample {
  const total = perAsset * assets.length
  if (!Number.isInteger(perAsset) || perAsset < 2)
    throw new RangeError(`--items must be an integer of at least 2, not ${perAsset}`)
  if (total > headlines.length)
    throw new RangeError(`${total} headlines asked for, the data set has ${headlines.length}`)
  const stride = headlines.length / total
  const items: Omit<DatasetItem, 'time'>[] = []
  for (const [a, { asset, start }] of assets.entries()) {
    for (let i = 0; i < perAsset; i++) {
      const source = headlines[Math.floor((i * assets.length + a) * stride)] as SentimentItem
      const t =
        i < perAsset - 1
          ? Number(start) -
            SAMPLE_WINDOW_DAYS * DAY +
            Math.floor(((i + 0.5) * SAMPLE_WINDOW_DAYS * DAY) / (perAsset - 1))
          : Number(start) + DAY / 2
      items.push({
        id: `${asset.toLowerCase()}-${String(i).padStart(4, '0')}`,
        date: iso(t),
        asset,
        headline: source.text.slice(0, DATASET_LIMITS.maxHeadlineLength),
        label: source.label,
      })
    }
  }
  return { items, stride }
}
