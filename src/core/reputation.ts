/**
 * Reputation: what verified attestations say about one node serving one model, as a pure function. Per suite, each
 * evaluator's latest attestation counts once, weighted by its (stake-based) weight, the age of its window
 * (exponential decay) and its sample size; no evaluator holds more than `maxShare` of a suite's weight. The suite's
 * score is the weighted median, and it is known only when at least `minEvaluators` independent evaluators agree with
 * it (within `tolerance`): one evaluator alone can neither make a node known nor move a consensus of others.
 * Suites combine into an overall 0..100 score. A node without enough evidence is `unknown`, which is not bad.
 *
 * @example
 * const rep = reputationOf(verified, { now: Date.now() / 1000, evaluatorWeight: (e) => stakes.get(e) ?? 0 })
 * if (rep.status === 'known') show(rep.score, rep.confidence)
 */
import type { Hex } from 'viem'
import { ATTESTATION_SUITES, PPM, SUITE_UNITS, type Attestation, type AttestationSuite } from './attestation.ts'
import type { Address } from './deployment.ts'

export type SuiteReputation = {
  /** The suite's score in its unit (`SUITE_UNITS`), or null when not enough independent evaluators agree. */
  score: number | null
  /** 0..1: grows with the agreeing evaluators and their (decayed) sample sizes; 0 when the score is null. */
  confidence: number
  /** Evaluators whose latest attestation counted (positive weight). */
  evaluators: number
  /** Of those, how many agree with the score (within the tolerance). */
  agreeing: number
  /** Total sample size of the attestations that counted. */
  samples: number
}

export type Reputation = {
  status: 'unknown' | 'known'
  /** 0..100, or null when unknown. */
  score: number | null
  /** 0..1. */
  confidence: number
  suites: Record<AttestationSuite, SuiteReputation>
}

export type ReputationOptions = {
  /** Unix seconds. */
  now: number
  /** An evaluator's weight (e.g. its stake in whole AI; see `stakeWeight`); 0 or less, or not finite: it does not count. */
  evaluatorWeight(evaluator: Address): number
  /** Only these (node, model) are considered; others in the input are skipped. */
  subject?: { node: Address; modelHash: Hex } | undefined
  /** Only these evaluators count (a consumer that trusts a fixed set); all by default. */
  evaluators?: ReadonlySet<Address> | undefined
  /** The weight of an attestation halves every `halfLifeS` after its window ended. */
  halfLifeS?: number
  /** Attestations decayed below this fraction of their weight no longer count (default: after 5 half-lives). */
  minDecay?: number
  /** Independent agreeing evaluators needed before a suite is known. */
  minEvaluators?: number
  /** The largest share of a suite's weight one evaluator may hold (below 1/2, so one cannot outvote the rest). */
  maxShare?: number
  /** An attestation weighs fully from this many samples; fewer samples weigh proportionally less. */
  fullWeightSamples?: number
  /** Samples counted per evaluator for confidence, at most (a claimed huge sample cannot buy certainty). */
  maxSamplesPerEvaluator?: number
  /** The sample count at which the sample part of confidence is 1/2. */
  halfConfidenceSamples?: number
  tolerance?: Partial<AgreementTolerance>
}

/** How far two scores may differ and still agree: absolute for ppm; for latency, the larger of an absolute and a relative margin. */
export type AgreementTolerance = { ppm: number; ms: number; msRelative: number }

export const REPUTATION_DEFAULTS = {
  halfLifeS: 7 * 24 * 3600,
  minDecay: 1 / 32,
  minEvaluators: 2,
  maxShare: 1 / 3,
  fullWeightSamples: 20,
  maxSamplesPerEvaluator: 1_000,
  halfConfidenceSamples: 50,
  tolerance: { ppm: 100_000, ms: 250, msRelative: 0.25 } satisfies AgreementTolerance,
} as const

/** How the overall score weighs suite groups; groups without a known suite are left out and the rest renormalised. */
export const OVERALL_WEIGHTS = { accuracy: 0.4, spotCheck: 0.3, uptime: 0.2, latency: 0.1 } as const
/** Latency at which the latency quality is 1/2 (quality = ref / (ref + ms)). */
export const LATENCY_REFERENCE_MS: Readonly<Record<'latency-p50' | 'latency-p95', number>> = {
  'latency-p50': 1_000,
  'latency-p95': 3_000,
}

type Counted = { evaluator: Address; score: number; weight: number; samples: number; decay: number }

export function reputationOf(
  attestations: readonly { attestation: Attestation }[],
  options: ReputationOptions,
): Reputation {
  const latest = latestPerEvaluator(attestations, options)
  const suites = {} as Record<AttestationSuite, SuiteReputation>
  for (const suite of ATTESTATION_SUITES) suites[suite] = suiteReputation(suite, latest.get(suite) ?? [], options)
  return { ...overall(suites), suites }
}

/** Per suite, each evaluator's attestation with the highest nonce (its latest word), self-attestations left out. */
function latestPerEvaluator(
  attestations: readonly { attestation: Attestation }[],
  { subject, evaluators }: ReputationOptions,
): Map<AttestationSuite, Attestation[]> {
  const byKey = new Map<string, Attestation>()
  for (const { attestation: a } of attestations) {
    if (
      subject &&
      (a.node.toLowerCase() !== subject.node.toLowerCase() ||
        a.modelHash.toLowerCase() !== subject.modelHash.toLowerCase())
    )
      continue
    if (a.evaluator.toLowerCase() === a.node.toLowerCase()) continue
    if (evaluators && !evaluators.has(a.evaluator)) continue
    const key = `${a.suite}\n${a.evaluator.toLowerCase()}`
    const seen = byKey.get(key)
    if (!seen || a.nonce > seen.nonce || (a.nonce === seen.nonce && a.windowEnd > seen.windowEnd)) byKey.set(key, a)
  }
  const bySuite = new Map<AttestationSuite, Attestation[]>()
  for (const a of byKey.values()) bySuite.set(a.suite, [...(bySuite.get(a.suite) ?? []), a])
  return bySuite
}

function suiteReputation(
  suite: AttestationSuite,
  latest: readonly Attestation[],
  options: ReputationOptions,
): SuiteReputation {
  const halfLifeS = options.halfLifeS ?? REPUTATION_DEFAULTS.halfLifeS
  const minDecay = options.minDecay ?? REPUTATION_DEFAULTS.minDecay
  const fullWeightSamples = options.fullWeightSamples ?? REPUTATION_DEFAULTS.fullWeightSamples
  const counted: Counted[] = []
  for (const a of latest) {
    const raw = options.evaluatorWeight(a.evaluator)
    if (!Number.isFinite(raw) || raw <= 0) continue
    const decay = Math.pow(0.5, Math.max(0, options.now - a.windowEnd) / halfLifeS)
    if (decay < minDecay) continue
    const range = SUITE_UNITS[suite]
    const score = Math.min(range.max, Math.max(range.min, a.score))
    counted.push({
      evaluator: a.evaluator,
      score,
      samples: a.sampleSize,
      decay,
      weight: raw * decay * Math.min(1, a.sampleSize / fullWeightSamples),
    })
  }
  const samples = counted.reduce((sum, c) => sum + c.samples, 0)
  const none: SuiteReputation = { score: null, confidence: 0, evaluators: counted.length, agreeing: 0, samples }
  const minEvaluators = Math.max(2, options.minEvaluators ?? REPUTATION_DEFAULTS.minEvaluators)
  if (counted.length < minEvaluators) return none
  const shares = cappedShares(
    counted.map((c) => c.weight),
    options.maxShare ?? REPUTATION_DEFAULTS.maxShare,
  )
  const score = weightedMedian(counted.map((c, i) => ({ value: c.score, weight: shares[i] as number })))
  const tolerance = { ...REPUTATION_DEFAULTS.tolerance, ...options.tolerance }
  const agreeing = counted.filter((c) => agrees(suite, c.score, score, tolerance))
  if (agreeing.length < minEvaluators) return { ...none, agreeing: agreeing.length }
  const maxSamples = options.maxSamplesPerEvaluator ?? REPUTATION_DEFAULTS.maxSamplesPerEvaluator
  const effectiveSamples = agreeing.reduce((sum, c) => sum + Math.min(c.samples, maxSamples) * c.decay, 0)
  const halfSamples = options.halfConfidenceSamples ?? REPUTATION_DEFAULTS.halfConfidenceSamples
  // Two agreeing evaluators: 1/2; each more halves what is left.
  const evaluatorConfidence = 1 - Math.pow(0.5, agreeing.length - 1)
  const confidence = (effectiveSamples / (effectiveSamples + halfSamples)) * evaluatorConfidence
  return { score: Math.round(score), confidence, evaluators: counted.length, agreeing: agreeing.length, samples }
}

/** Whether two scores of a suite agree. */
export function agrees(
  suite: AttestationSuite,
  a: number,
  b: number,
  tolerance: AgreementTolerance = REPUTATION_DEFAULTS.tolerance,
): boolean {
  const difference = Math.abs(a - b)
  if (SUITE_UNITS[suite].unit === 'ppm') return difference <= tolerance.ppm
  return difference <= Math.max(tolerance.ms, tolerance.msRelative * Math.max(a, b))
}

/**
 * Shares proportional to `weights`, except that none exceeds `maxShare`: the excess of the largest is spread over
 * the others in proportion (water-filling). With too few weights to honour the cap (n * maxShare <= 1), all get 1/n.
 */
export function cappedShares(weights: readonly number[], maxShare: number): number[] {
  const n = weights.length
  if (n === 0) return []
  if (n * maxShare <= 1) return weights.map(() => 1 / n)
  const total = weights.reduce((sum, w) => sum + w, 0)
  let high = Math.max(...weights)
  if (high <= maxShare * total) return weights.map((w) => w / total)
  // The level c where c = maxShare * sum(min(w, c)): g(c) = maxShare * sum(min(w, c)) - c is concave with g(0) = 0
  // and a positive slope at 0 (n * maxShare > 1), so it has one positive root; bisection is exact enough and never
  // trips over rounding the way a closed form does when n * maxShare is close to 1.
  let low = 0
  for (let i = 0; i < 200 && high - low > high * 1e-15; i++) {
    const mid = (low + high) / 2
    const g = maxShare * weights.reduce((sum, w) => sum + Math.min(w, mid), 0) - mid
    if (g > 0) low = mid
    else high = mid
  }
  const level = low
  // n * maxShare so close to 1 that the root is lost in rounding: the cap can only just be met, by equal shares.
  if (!(level > 0)) return weights.map(() => 1 / n)
  const clipped = weights.map((w) => Math.min(w, level))
  const clippedTotal = clipped.reduce((sum, w) => sum + w, 0)
  return clipped.map((w) => w / clippedTotal)
}

/** The midpoint of the lower and upper weighted medians (so two equal weights give their mean, not either one). */
export function weightedMedian(points: readonly { value: number; weight: number }[]): number {
  const sorted = points.filter((p) => p.weight > 0).sort((a, b) => a.value - b.value)
  const total = sorted.reduce((sum, p) => sum + p.weight, 0)
  const half = total / 2
  // A relative epsilon: shares that sum to exactly one half must count as reaching it despite rounding.
  const epsilon = total * 1e-12
  let cumulative = 0
  let lower = sorted[sorted.length - 1]?.value ?? 0
  for (const p of sorted) {
    cumulative += p.weight
    if (cumulative >= half - epsilon) {
      lower = p.value
      break
    }
  }
  cumulative = 0
  let upper = sorted[0]?.value ?? 0
  for (let i = sorted.length - 1; i >= 0; i--) {
    const p = sorted[i] as { value: number; weight: number }
    cumulative += p.weight
    if (cumulative >= half - epsilon) {
      upper = p.value
      break
    }
  }
  return (lower + upper) / 2
}

/** A suite's score as a quality in 0..1: ppm as a fraction, latency as ref / (ref + ms). */
export function suiteQuality(suite: AttestationSuite, score: number): number {
  if (suite === 'latency-p50' || suite === 'latency-p95')
    return LATENCY_REFERENCE_MS[suite] / (LATENCY_REFERENCE_MS[suite] + Math.max(0, score))
  return Math.min(1, Math.max(0, score / PPM))
}

const GROUPS: readonly { weight: number; suites: readonly AttestationSuite[] }[] = [
  { weight: OVERALL_WEIGHTS.accuracy, suites: ['fim-exact', 'fim-pass1', 'sentiment'] },
  { weight: OVERALL_WEIGHTS.spotCheck, suites: ['spot-check'] },
  { weight: OVERALL_WEIGHTS.uptime, suites: ['uptime'] },
  { weight: OVERALL_WEIGHTS.latency, suites: ['latency-p50', 'latency-p95'] },
]

function overall(
  suites: Record<AttestationSuite, SuiteReputation>,
): Pick<Reputation, 'status' | 'score' | 'confidence'> {
  let weight = 0
  let quality = 0
  let confidence = 0
  for (const group of GROUPS) {
    const known = group.suites.filter((s) => suites[s].score !== null)
    if (known.length === 0) continue
    weight += group.weight
    quality +=
      (group.weight * known.reduce((sum, s) => sum + suiteQuality(s, suites[s].score as number), 0)) / known.length
    confidence += (group.weight * known.reduce((sum, s) => sum + suites[s].confidence, 0)) / known.length
  }
  if (weight === 0) return { status: 'unknown', score: null, confidence: 0 }
  // Confidence also counts what is missing: groups with nothing known add nothing.
  return { status: 'known', score: Math.round((100 * quality) / weight), confidence }
}

/** An evaluator weight from registry facts: whole AI staked, or at least `whitelistWeight` for a whitelisted node; 0 when not active. */
export function stakeWeight(
  { active, stake, whitelisted }: { active: boolean; stake: bigint; whitelisted: boolean },
  { decimals = 18, whitelistWeight = 1 }: { decimals?: number; whitelistWeight?: number } = {},
): number {
  if (!active) return 0
  const whole = Number(stake / 10n ** BigInt(decimals)) + Number(stake % 10n ** BigInt(decimals)) / 10 ** decimals
  return whitelisted ? Math.max(whole, whitelistWeight) : whole
}
