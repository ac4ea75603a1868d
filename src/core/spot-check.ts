/**
 * Spot checks: a verifier re-runs some of a node's answers on its own engine, with the same content-hashed model,
 * request and sampling seed, and compares what it gets token by token. These are the rules: which answers to check
 * (decided after the answer arrived, from the verifier's own randomness, so a node cannot tell a checked request
 * from any other), how two outputs compare for a pair of engines, and when a node counts as flagged.
 *
 * What holds between engines (the policy table below):
 * - The same WebAssembly build (wllama/llama.cpp on the CPU, one thread count) is bitwise reproducible: greedy and
 *   seeded sampling give the same tokens. Any difference is a disagreement; one is enough to flag.
 * - Another build or backend (native llama.cpp, a different wllama release, WebGPU) computes the same model with
 *   another reduction order: greedy output agrees until the first near-tie of two logits, then may drift. A
 *   different model or a coarser quantization diverges within the first few tokens almost always, so there the rule
 *   is tolerant: agreeing for `minAgreedTokens` tokens is an agreement, diverging earlier is a disagreement, and a
 *   node is flagged only when disagreements are repeated and in the majority. Seeded sampling is not comparable
 *   across builds (a tiny logit change moves the sample), so only greedy requests are checked there.
 * - web-llm on WebGPU is not reproducible even with itself (kernel scheduling): its answers are inconclusive unless
 *   greedy, and then only under the tolerant rule.
 * These tolerant thresholds are set from how the demo models behave, not calibrated on GPU hardware.
 */
import type { Hex } from 'viem'
import type { FinishReason, InferenceRequest } from './inference.ts'

export type SpotCheckOutcome = 'agree' | 'disagree' | 'inconclusive'

/** An engine as a verifier compares it: its kind and, where known, its build (e.g. `wllama-3.8.1`). */
export type EngineBuild = { kind: string; build?: string | undefined }

export type SpotCheckPolicy =
  /** Outputs must be identical, token counts too. */
  | { mode: 'exact'; sampled: boolean }
  /** Greedy only: agreeing `minAgreedTokens` tokens (or the whole answer) agrees; diverging earlier disagrees. */
  | { mode: 'tolerant'; minAgreedTokens: number }
  | { mode: 'none'; reason: string }

export const SPOT_CHECK_DEFAULTS = {
  /** Share of answers checked once a node has a clean record. */
  rate: 0.1,
  /** Answers of a node checked before the base rate applies. */
  warmup: 10,
  /** Tolerant rule: tokens that must agree before a divergence counts as a near-tie. */
  minAgreedTokens: 4,
  /** Tolerant rule: disagreements, and their share of conclusive checks, that flag a node. */
  tolerantFlagCount: 3,
  tolerantFlagShare: 0.5,
} as const

/**
 * The engine a node announces for a model, and a verifier uses for itself: its kind, marked `+gpu` when the loaded
 * model is not bit-reproducible although its kind usually is (a GGUF with layers on llama.cpp's WebGPU backend), so
 * the exact rule is never applied to GPU output.
 */
export function announcedEngine(loaded: { engine: string; deterministic?: boolean }): string {
  return loaded.deterministic === false && loaded.engine !== 'webgpu' ? `${loaded.engine}+gpu` : loaded.engine
}

/** How answers from `node` can be checked on `verifier`. */
export function policyFor(node: EngineBuild, verifier: EngineBuild): SpotCheckPolicy {
  if (node.kind === 'webgpu' || verifier.kind === 'webgpu')
    return { mode: 'tolerant', minAgreedTokens: SPOT_CHECK_DEFAULTS.minAgreedTokens }
  const sameBuild =
    node.kind === verifier.kind &&
    (node.build === undefined || verifier.build === undefined || node.build === verifier.build)
  if (sameBuild && (node.kind === 'wasm' || node.kind === 'memory')) return { mode: 'exact', sampled: true }
  if (node.kind === 'memory' || verifier.kind === 'memory')
    return { mode: 'none', reason: 'the in-memory test engine is only comparable with itself' }
  return { mode: 'tolerant', minAgreedTokens: SPOT_CHECK_DEFAULTS.minAgreedTokens }
}

/** What the node answered: its text and the token count its receipt billed. */
export type NodeAnswer = { text: string; completionTokens: number; finish_reason: FinishReason }

/** What the verifier's engine produced: one entry per token, in order. */
export type VerifierRun = { pieces: readonly string[]; finish_reason: FinishReason }

export type Comparison = {
  outcome: SpotCheckOutcome
  /** Why, in words a person can act on. */
  reason: string
  /** Leading verifier tokens whose text the node's answer also starts with. */
  agreedTokens: number
  /** Tokens the verifier produced. */
  comparedTokens: number
  /** First character where the texts differ, or null when they are equal. */
  firstDifference: number | null
}

/** Whether a request can be re-run to the same output at all: greedy, or sampled with a seed. */
export function reproducible(request: Pick<InferenceRequest, 'temperature' | 'seed'>): {
  greedy: boolean
  ok: boolean
} {
  const greedy = request.temperature === 0
  return { greedy, ok: greedy || request.seed !== undefined }
}

/** Compares a node's answer with the verifier's re-run under `policy`. */
export function compareOutputs(
  request: Pick<InferenceRequest, 'temperature' | 'seed'>,
  node: NodeAnswer,
  run: VerifierRun,
  asked: SpotCheckPolicy,
): Comparison {
  // A request without a seed does not ask to be reproducible, and a node may serve it from its KV cache of the same
  // consumer's previous prompt (`src/core/prefix-cache.ts`), whose logits differ from a fresh run's in the last bits:
  // its answer is held to the tolerant rule, as between two builds.
  const policy: SpotCheckPolicy =
    asked.mode === 'exact' && request.seed === undefined
      ? { mode: 'tolerant', minAgreedTokens: SPOT_CHECK_DEFAULTS.minAgreedTokens }
      : asked
  const verifierText = run.pieces.join('')
  const firstDifference = firstDifferenceOf(node.text, verifierText)
  const agreedTokens = agreedPrefixTokens(node.text, run.pieces)
  const base = { agreedTokens, comparedTokens: run.pieces.length, firstDifference }
  const { greedy, ok } = reproducible(request)
  if (!ok)
    return {
      ...base,
      outcome: 'inconclusive',
      reason: 'the request had neither temperature 0 nor a seed: its output is not reproducible',
    }
  if (node.finish_reason === 'abort')
    return { ...base, outcome: 'inconclusive', reason: 'the answer was cut short by a cancel' }
  if (run.finish_reason === 'abort')
    return { ...base, outcome: 'inconclusive', reason: "the verifier's run did not finish" }
  if (policy.mode === 'none') return { ...base, outcome: 'inconclusive', reason: policy.reason }
  if (policy.mode === 'exact') {
    if (!greedy && !policy.sampled)
      return { ...base, outcome: 'inconclusive', reason: 'sampled output is not comparable between these engines' }
    if (firstDifference !== null)
      return {
        ...base,
        outcome: 'disagree',
        reason: `the outputs differ from character ${firstDifference} (token ${agreedTokens + 1})`,
      }
    if (node.completionTokens !== run.pieces.length)
      return {
        ...base,
        outcome: 'disagree',
        reason: `same text, but the receipt bills ${node.completionTokens} tokens where the model makes ${run.pieces.length}`,
      }
    return { ...base, outcome: 'agree', reason: 'identical output' }
  }
  if (!greedy)
    return {
      ...base,
      outcome: 'inconclusive',
      reason: 'sampled output is not comparable between different engine builds',
    }
  if (firstDifference === null) return { ...base, outcome: 'agree', reason: 'identical output' }
  const whole = Math.min(run.pieces.length, node.completionTokens)
  if (agreedTokens >= Math.min(policy.minAgreedTokens, whole))
    return {
      ...base,
      outcome: 'agree',
      reason: `agrees for ${agreedTokens} tokens, then drifts (a near-tie between builds)`,
    }
  return {
    ...base,
    outcome: 'disagree',
    reason: `diverges at token ${agreedTokens + 1}, before the ${policy.minAgreedTokens} tokens two builds of one model share`,
  }
}

function firstDifferenceOf(a: string, b: string): number | null {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i
  return a.length === b.length ? null : n
}

/** How many of the verifier's tokens, in order, the node's text starts with. */
export function agreedPrefixTokens(text: string, pieces: readonly string[]): number {
  let at = 0
  let count = 0
  for (const piece of pieces) {
    if (!text.startsWith(piece, at)) break
    at += piece.length
    count++
  }
  return count
}

/** A node's spot-check record for one model. */
export type SpotCheckRecord = {
  agree: number
  disagree: number
  inconclusive: number
  /** Conclusive checks before the first disagreement (null: none yet). */
  checksToFirstDisagreement: number | null
  flagged: boolean
}

export const EMPTY_RECORD: SpotCheckRecord = {
  agree: 0,
  disagree: 0,
  inconclusive: 0,
  checksToFirstDisagreement: null,
  flagged: false,
}

export function recordOutcome(
  record: SpotCheckRecord,
  outcome: SpotCheckOutcome,
  policy: SpotCheckPolicy,
): SpotCheckRecord {
  const next = { ...record, [outcome]: record[outcome] + 1 }
  if (outcome === 'disagree' && record.checksToFirstDisagreement === null)
    next.checksToFirstDisagreement = record.agree + record.disagree + 1
  next.flagged = record.flagged || flags(next, policy)
  return next
}

function flags(record: SpotCheckRecord, policy: SpotCheckPolicy): boolean {
  if (record.disagree === 0) return false
  if (policy.mode === 'exact') return true
  const conclusive = record.agree + record.disagree
  return (
    record.disagree >= SPOT_CHECK_DEFAULTS.tolerantFlagCount &&
    record.disagree / conclusive > SPOT_CHECK_DEFAULTS.tolerantFlagShare
  )
}

/**
 * The chance that the next answer of a node is checked: every answer while its record is young or after a
 * disagreement, the base rate otherwise. The draw happens after the answer arrived, so the node cannot adapt.
 */
export function checkProbability(record: SpotCheckRecord, options: { rate?: number; warmup?: number } = {}): number {
  const warmup = options.warmup ?? SPOT_CHECK_DEFAULTS.warmup
  if (record.disagree > 0 || record.agree + record.disagree < warmup) return 1
  return options.rate ?? SPOT_CHECK_DEFAULTS.rate
}

/** The spot-check attestation's score: agreement in parts per million over conclusive checks (null: none yet). */
export function agreementScore(record: SpotCheckRecord): { score: number; sampleSize: number } | null {
  const conclusive = record.agree + record.disagree
  if (conclusive === 0) return null
  return { score: Math.round((record.agree / conclusive) * 1_000_000), sampleSize: conclusive }
}

/** What a disagreement keeps, so anyone can re-run it: the request, both outputs and the node's signed receipt. */
export type SpotCheckEvidence = {
  modelHash: Hex
  request: InferenceRequest
  node: { operator: string; peer: string; engine: EngineBuild; answer: NodeAnswer; receipt: unknown }
  verifier: { engine: EngineBuild; text: string; tokens: number }
  comparison: Comparison
  at: number
}
