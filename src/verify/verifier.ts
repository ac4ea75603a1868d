/**
 * The verifier service: any peer (a consumer checking its own answers, an evaluator, a watchdog) offers it the
 * answers it received; it draws which to check after they arrived (see `checkProbability`), re-runs each chosen one
 * on its own engine with the same content-hashed model, request and seed, compares token by token under the policy
 * for the two engines (`src/core/spot-check.ts`), and keeps each node's record and the evidence of every
 * disagreement (the request, both outputs and the node's signed receipt). Re-runs go one at a time; the queue is
 * bounded, and an answer offered to a full queue is not checked (it cannot be told apart from one not drawn).
 */
import type { Address, Hex } from 'viem'
import type { Attestation } from '../core/attestation.ts'
import type { InferenceEngine, InferenceRequest } from '../core/inference.ts'
import { runInference } from '../core/inference.ts'
import { outputHash, requestHash, type SignedReceipt } from '../core/payment.ts'
import {
  agreementScore,
  announcedEngine,
  checkProbability,
  compareOutputs,
  EMPTY_RECORD,
  policyFor,
  recordOutcome,
  type Comparison,
  type EngineBuild,
  type NodeAnswer,
  type SpotCheckEvidence,
  type SpotCheckPolicy,
  type SpotCheckRecord,
} from '../core/spot-check.ts'

export type CheckInput = {
  node: { operator: Address; peer: string; engine: EngineBuild }
  modelHash: Hex
  /** Exactly as sent (with its seed). */
  request: InferenceRequest
  answer: NodeAnswer
  receipt?: SignedReceipt
}

export type CheckResult = {
  input: CheckInput
  comparison: Comparison
  record: SpotCheckRecord
  evidence: SpotCheckEvidence | null
}

export type VerifierComponents = {
  /** Loaded with the model to check (its content hash must be the answers' model hash). */
  engine: InferenceEngine
}

export type VerifierInit = {
  /** The verifier engine's build, e.g. `{ kind: 'wasm', build: 'wllama-3.8.1' }`. */
  build: EngineBuild
  rate?: number
  warmup?: number
  maxQueue?: number
  /** Uniform in [0, 1): the secret draw. Default: crypto randomness. */
  random?: () => number
  now?: () => number
  onResult?: (result: CheckResult) => void
}

export type Verifier = {
  /** Offers an answer; returns whether it was drawn for a check (callers must not tell the node). */
  offer(input: CheckInput): boolean
  /** Checks an answer now, drawn or not. */
  check(input: CheckInput): Promise<CheckResult>
  record(operator: Address, modelHash: Hex): SpotCheckRecord
  records(): { operator: Address; modelHash: Hex; record: SpotCheckRecord }[]
  evidence(): SpotCheckEvidence[]
  /** The spot-check attestation's score for a node and model: agreement (ppm) over conclusive checks. */
  score(operator: Address, modelHash: Hex): { score: number; sampleSize: number } | null
  /**
   * The `spot-check` attestations this verifier can sign now: one per node and model with conclusive checks, over
   * the window from its first to its last check. `nonce` defaults to the window's end (unix seconds), which grows
   * between publications.
   */
  attestations(parameters: { evaluator: Address; nonce?: number }): Attestation[]
  /** Resolves once every drawn check has finished. */
  idle(): Promise<void>
}

export const VERIFIER_DEFAULTS = { maxQueue: 32, maxEvidence: 256 } as const

function cryptoRandom(): number {
  const word = new Uint32Array(1)
  crypto.getRandomValues(word)
  return (word[0] as number) / 2 ** 32
}

export function createVerifier({ engine }: VerifierComponents, init: VerifierInit): Verifier {
  const random = init.random ?? cryptoRandom
  const now = init.now ?? Date.now
  const maxQueue = init.maxQueue ?? VERIFIER_DEFAULTS.maxQueue
  const records = new Map<
    string,
    { operator: Address; modelHash: Hex; record: SpotCheckRecord; firstAt: number; lastAt: number }
  >()
  const evidence: SpotCheckEvidence[] = []
  let queued = 0
  let tail: Promise<unknown> = Promise.resolve()
  const keyOf = (operator: string, modelHash: string) => `${operator.toLowerCase()}:${modelHash.toLowerCase()}`
  const recordOf = (operator: Address, modelHash: Hex) =>
    records.get(keyOf(operator, modelHash))?.record ?? EMPTY_RECORD

  async function rerun(input: CheckInput): Promise<{ comparison: Comparison; text: string; policy: SpotCheckPolicy }> {
    const loaded = await engine.current()
    // A verifier whose own model runs on a GPU is not bit-reproducible either: it compares under the tolerant rule.
    const own = loaded && loaded.deterministic === false ? { ...init.build, kind: announcedEngine(loaded) } : init.build
    const policy = policyFor(input.node.engine, own)
    const inconclusive = (reason: string) => ({
      comparison: {
        outcome: 'inconclusive',
        reason,
        agreedTokens: 0,
        comparedTokens: 0,
        firstDifference: null,
      } satisfies Comparison,
      text: '',
      policy,
    })
    if (input.receipt) {
      const r = input.receipt.receipt
      if (
        r.requestHash !== requestHash(input.request) ||
        r.outputHash !== outputHash(input.answer.text) ||
        r.modelHash.toLowerCase() !== input.modelHash.toLowerCase()
      ) {
        return inconclusive('the receipt is not for this request, answer and model')
      }
    }
    if (!loaded || loaded.contentHash.toLowerCase() !== input.modelHash.toLowerCase())
      return inconclusive('the verifier has not loaded this model')
    const pieces: string[] = []
    try {
      const result = await runInference(
        engine,
        { ...input.request, model: loaded.id },
        { onDelta: (d) => pieces.push(d.text) },
      )
      return {
        comparison: compareOutputs(
          input.request,
          input.answer,
          { pieces, finish_reason: result.finish_reason },
          policy,
        ),
        text: pieces.join(''),
        policy,
      }
    } catch (error) {
      return inconclusive(`the verifier's engine failed: ${(error as Error).message.split('\n')[0]}`)
    }
  }

  async function check(input: CheckInput): Promise<CheckResult> {
    const { comparison, text, policy } = await rerun(input)
    const key = keyOf(input.node.operator, input.modelHash)
    const record = recordOutcome(recordOf(input.node.operator, input.modelHash), comparison.outcome, policy)
    const at = now()
    records.set(key, {
      operator: input.node.operator,
      modelHash: input.modelHash,
      record,
      firstAt: records.get(key)?.firstAt ?? at,
      lastAt: at,
    })
    let kept: SpotCheckEvidence | null = null
    if (comparison.outcome === 'disagree') {
      kept = {
        modelHash: input.modelHash,
        request: input.request,
        node: {
          operator: input.node.operator,
          peer: input.node.peer,
          engine: input.node.engine,
          answer: input.answer,
          receipt: input.receipt ?? null,
        },
        verifier: { engine: init.build, text, tokens: comparison.comparedTokens },
        comparison,
        at: now(),
      }
      evidence.push(kept)
      if (evidence.length > VERIFIER_DEFAULTS.maxEvidence) evidence.shift()
    }
    const result = { input, comparison, record, evidence: kept }
    init.onResult?.(result)
    return result
  }

  return {
    offer(input) {
      const p = checkProbability(recordOf(input.node.operator, input.modelHash), {
        ...(init.rate === undefined ? {} : { rate: init.rate }),
        ...(init.warmup === undefined ? {} : { warmup: init.warmup }),
      })
      if (random() >= p || queued >= maxQueue) return false
      queued++
      tail = tail
        .then(() => check(input))
        .catch(() => null)
        .finally(() => queued--)
      return true
    },
    check(input) {
      const run = tail.then(() => check(input))
      tail = run.catch(() => null)
      return run
    },
    record: recordOf,
    records: () => [...records.values()].map(({ operator, modelHash, record }) => ({ operator, modelHash, record })),
    evidence: () => [...evidence],
    score: (operator, modelHash) => agreementScore(recordOf(operator, modelHash)),
    attestations({ evaluator, nonce }) {
      const out: Attestation[] = []
      for (const { operator, modelHash, record, firstAt, lastAt } of records.values()) {
        const agreement = agreementScore(record)
        if (!agreement) continue
        const windowStart = Math.floor(firstAt / 1000)
        const windowEnd = Math.max(windowStart + 1, Math.ceil(lastAt / 1000))
        out.push({
          evaluator,
          node: operator,
          modelHash: modelHash.toLowerCase() as Hex,
          suite: 'spot-check',
          score: agreement.score,
          sampleSize: agreement.sampleSize,
          windowStart,
          windowEnd,
          nonce: nonce ?? windowEnd,
        })
      }
      return out
    },
    async idle() {
      while (queued > 0) await tail
    },
  }
}
