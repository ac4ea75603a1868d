/**
 * How the app shows a node's reputation for a model (`Reputation` from `src/core/reputation.ts`): the overall score
 * with its confidence, or "unknown" — not bad, only not evaluated enough — and one short figure per kind of evidence:
 * accuracy (pass@1, else exact match, else sentiment), latency (first token p50), uptime and the spot-check record.
 */
import type { Reputation } from '../../core/reputation.ts'

export type ReputationSummary = {
  status: 'unknown' | 'known'
  /** "82/100 (confidence 40%)" or "unknown". */
  overall: string
  /** Per kind: "62% (conf 40%)", "340 ms", or "unknown". */
  accuracy: string
  latency: string
  uptime: string
  spotCheck: string
  /** One line with all of it, for pickers. */
  line: string
}

const percent = (x: number) => `${Math.round(x * 100)}%`
const ppmPercent = (ppm: number) => `${(ppm / 10_000).toFixed(ppm % 10_000 === 0 ? 0 : 1)}%`

export function summarizeReputation(reputation: Reputation | null | undefined): ReputationSummary {
  const suite = (name: keyof Reputation['suites']) => reputation?.suites[name]
  const figure = (names: (keyof Reputation['suites'])[], format: (score: number) => string): string => {
    for (const name of names) {
      const s = suite(name)
      if (s && s.score !== null) return `${format(s.score)} (conf ${percent(s.confidence)})`
    }
    return 'unknown'
  }
  const accuracy = figure(['fim-pass1', 'fim-exact', 'sentiment'], ppmPercent)
  const latency = figure(['latency-p50'], (ms) => `${Math.round(ms)} ms`)
  const uptime = figure(['uptime'], ppmPercent)
  const spotCheck = figure(['spot-check'], ppmPercent)
  const known = reputation?.status === 'known' && reputation.score !== null
  const overall = known
    ? `${Math.round(reputation.score as number)}/100 (confidence ${percent(reputation.confidence)})`
    : 'unknown'
  const line = known
    ? `reputation ${overall}; accuracy ${accuracy}, latency ${latency}, uptime ${uptime}, spot checks ${spotCheck}`
    : 'reputation unknown'
  return { status: known ? 'known' : 'unknown', overall, accuracy, latency, uptime, spotCheck, line }
}

export type ReputationFloor = 'any' | 'known' | '50' | '70' | '90'

/** The SDK's requirement for a floor: 'known' needs enough evidence; a number skips known nodes below it. */
export function reputationRequirement(floor: ReputationFloor): { minReputation?: number; requireKnown: boolean } {
  if (floor === 'any') return { requireKnown: false }
  if (floor === 'known') return { requireKnown: true }
  return { minReputation: Number(floor), requireKnown: false }
}
