/**
 * The evaluator's suite runner: challenge suites against one node, asked through the consumer SDK and paid like any
 * consumer's requests, so a node cannot tell an evaluation from ordinary traffic. Known-answer code infilling
 * (HumanEval single-line: exact match, and pass@1 through an injected Python runner), sentiment accuracy over a set of
 * labelled headlines, latency (time to first token over the run's requests, p50 and p95) and uptime (a bounded series
 * of quote-only probes, which run nothing and cost nothing). The run returns its scores and the unsigned attestations
 * in the units of `src/core/attestation.ts`; the caller signs them with its node signer and publishes them.
 * The same code runs in the browser (the Evaluate view, Python in a Pyodide worker) and in Node.
 *
 * @example
 * const run = await runEvaluation({ client, target: { entry, model: 'modelex-demo-tiny' }, evaluator: operator, suites: ['fim', 'latency', 'uptime'], limit: 5, problems, runPython })
 * for (const attestation of run.attestations) await book.publish(await signAttestation(signer, attestation, domain))
 */
import type { Address, Hex } from 'viem'
import { PPM, type Attestation, type AttestationSuite } from '../core/attestation.ts'
import type { DirectoryEntry } from '../core/directory.ts'
import type { ChatMessage } from '../core/inference.ts'
import { EvaluationAbortedError, EvaluationSetupError } from '../core/errors/evaluator.ts'
import { buildProgram, completionFromOutput, exactMatch, percentile, type EvalProblem } from '../core/eval.ts'
import { applyStopRule } from '../core/stop-rules.ts'
import { EVALUATOR_DEFAULTS } from './constants.ts'
import { isNodeFailure, type EvaluatorClient, type RunPython, type SentimentTask } from './types.ts'

export type EvaluationSuite = 'fim' | 'sentiment' | 'latency' | 'uptime'
export const EVALUATION_SUITES: readonly EvaluationSuite[] = ['fim', 'sentiment', 'latency', 'uptime']

export type EvaluationTarget = {
  /** The node, as the directory lists it (its announcement names operator, signer and models). */
  entry: DirectoryEntry
  /** The model id the node announces; its content hash comes from the announcement. */
  model: string
}

export type EvaluationProgress = { suite: EvaluationSuite; done: number; total: number; detail?: string }

export type RunEvaluationParameters = {
  client: EvaluatorClient
  target: EvaluationTarget
  /** The evaluator's operator address (what the attestations name as evaluator). */
  evaluator: Address
  suites: readonly EvaluationSuite[]
  /** At most this many problems, headlines or probes per suite. */
  limit?: number
  /** HumanEval single-line problems (for `fim`). */
  problems?: readonly EvalProblem[]
  /** Runs a completed program with its tests; without it `fim` scores exact match only (no pass@1 attestation). */
  runPython?: RunPython
  /** Labelled items and how to ask and read them (for `sentiment`). */
  sentiment?: SentimentTask
  /** Uptime probes: how many (capped by `limit`) and the pause between them. */
  uptime?: { probes?: number; intervalMs?: number }
  /** First attestation nonce; each attestation of the run takes the next one. Default: the clock in ms. */
  nonce?: number
  onProgress?: (progress: EvaluationProgress) => void
  signal?: AbortSignal
  /** Monotonic milliseconds for latencies (default `performance.now`). */
  clock?: () => number
  /** Wall clock in ms for the window and nonce (default `Date.now`). */
  now?: () => number
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
}

export type FimResult = {
  task_id: string
  completion: string
  exact: boolean
  passed: boolean | null
  error?: string
  firstTokenMs: number | null
}
export type SentimentResult = {
  text: string
  expected: string
  answer: string | null
  correct: boolean
  error?: string
  firstTokenMs: number | null
}
export type UptimeResult = { up: boolean; error?: string }

/** Scores in the attestation units: accuracies and rates in parts per million, latencies in ms; null when not run. */
export type EvaluationScores = {
  fimExact: number | null
  fimPass1: number | null
  sentiment: number | null
  latencyP50: number | null
  latencyP95: number | null
  uptime: number | null
}

export type EvaluationRun = {
  node: Address
  modelHash: Hex
  model: string
  windowStart: number
  windowEnd: number
  scores: EvaluationScores
  attestations: Attestation[]
  fim: FimResult[]
  sentiment: SentimentResult[]
  uptime: UptimeResult[]
  /** Time to first token of every answered request (ms). */
  firstTokenMs: number[]
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })

/** `successes / total` in parts per million, rounded. */
export function ppm(successes: number, total: number): number {
  return total === 0 ? 0 : Math.round((successes * PPM) / total)
}

/** Runs the chosen suites one after the other against the target and builds the run's unsigned attestations. */
export async function runEvaluation(p: RunEvaluationParameters): Promise<EvaluationRun> {
  const clock = p.clock ?? (() => performance.now())
  const now = p.now ?? Date.now
  const sleep = p.sleep ?? defaultSleep
  const limit = Math.max(1, Math.floor(p.limit ?? EVALUATOR_DEFAULTS.limit))
  const suites = EVALUATION_SUITES.filter((s) => p.suites.includes(s))
  if (suites.length === 0) throw new EvaluationSetupError('Choose at least one suite to run.')
  const announced = p.target.entry.announcement.models.find((m) => m.id === p.target.model)
  if (!announced)
    throw new EvaluationSetupError(`The node does not announce ${p.target.model}.`, {
      details: `it announces ${p.target.entry.announcement.models.map((m) => m.id).join(', ') || 'nothing'}`,
    })
  const problems = (p.problems ?? []).slice(0, limit)
  const items = (p.sentiment?.items ?? []).slice(0, limit)
  if (suites.includes('fim') && problems.length === 0)
    throw new EvaluationSetupError('The code infilling suite needs problems (HumanEval single-line).')
  if (suites.includes('sentiment') && (!p.sentiment || items.length === 0))
    throw new EvaluationSetupError('The sentiment suite needs labelled headlines.')
  const probes = Math.min(limit, Math.max(1, p.uptime?.probes ?? EVALUATOR_DEFAULTS.uptimeProbes))
  const intervalMs = p.uptime?.intervalMs ?? EVALUATOR_DEFAULTS.uptimeIntervalMs
  // Latency alone makes small requests of its own; with other suites it measures theirs.
  const ownLatency = suites.includes('latency') && !suites.includes('fim') && !suites.includes('sentiment')
  const steps: Record<EvaluationSuite, number> = {
    fim: suites.includes('fim') ? problems.length : 0,
    sentiment: suites.includes('sentiment') ? items.length : 0,
    latency: ownLatency ? limit : 0,
    uptime: suites.includes('uptime') ? probes : 0,
  }
  const total = steps.fim + steps.sentiment + steps.latency + steps.uptime
  let done = 0
  const progress = (suite: EvaluationSuite, detail?: string) =>
    p.onProgress?.({ suite, done, total, ...(detail === undefined ? {} : { detail }) })
  const checkAbort = () => {
    if (p.signal?.aborted) throw new EvaluationAbortedError({ done, total, cause: p.signal.reason })
  }

  const entry = p.target.entry
  const model = p.target.model
  const startedAt = now()
  const firstTokens: number[] = []
  const fim: FimResult[] = []
  const sentiment: SentimentResult[] = []
  const uptime: UptimeResult[] = []

  /** One paid streamed request; `enough` ends it early (the node bills what it had sent). */
  const ask = async (
    request: { prompt: string; suffix?: string; max_tokens: number } | { messages: ChatMessage[]; max_tokens: number },
    enough?: (text: string) => boolean,
  ) => {
    const controller = new AbortController()
    const onAbort = () => controller.abort(p.signal?.reason)
    p.signal?.addEventListener('abort', onAbort, { once: true })
    const started = clock()
    let first: number | null = null
    let text = ''
    const common = { model, node: entry, stream: true as const, temperature: 0, seed: 0, signal: controller.signal }
    try {
      const stream =
        'messages' in request
          ? await p.client.chat.completions.create({ ...common, ...request })
          : await p.client.completions.create({ ...common, ...request })
      for await (const chunk of stream) {
        const piece =
          chunk.choices[0] && ('text' in chunk.choices[0] ? chunk.choices[0].text : chunk.choices[0].delta.content)
        if (!piece) continue
        first ??= clock() - started
        text += piece
        if (enough?.(text)) {
          controller.abort()
          break
        }
      }
      // After an early end this rejects with the partial text once the node settled what it sent.
      await stream.result
    } catch (error) {
      // Ours to end: what arrived is the answer (the node settles the tokens it sent).
      if (!(
        controller.signal.aborted &&
        !p.signal?.aborted &&
        (error as { name?: string }).name === 'PaidRequestInterruptedError'
      ))
        throw error
    } finally {
      p.signal?.removeEventListener('abort', onAbort)
    }
    if (first !== null) firstTokens.push(first)
    return { text, firstTokenMs: first }
  }

  /** A node's failure scores against it; anything else (our wallet, our chain RPC, a cancel) ends the run. */
  const nodeFailure = (error: unknown): string => {
    checkAbort()
    if (!isNodeFailure(error)) throw error
    return error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error)
  }

  for (const suite of suites) {
    checkAbort()
    progress(suite)
    if (suite === 'fim') {
      for (const problem of problems) {
        checkAbort()
        let result: FimResult
        try {
          const { text, firstTokenMs } = await ask(
            { prompt: problem.prompt, suffix: problem.suffix ?? '', max_tokens: EVALUATOR_DEFAULTS.fimMaxTokens },
            (out) => applyStopRule(out, { rule: 'line', prefix: problem.prompt, suffix: problem.suffix ?? '' }).done,
          )
          const completion = completionFromOutput('single-line', problem, text)
          result = {
            task_id: problem.task_id,
            completion,
            exact: exactMatch(completion, problem.canonical_solution),
            passed: null,
            firstTokenMs,
          }
          if (p.runPython) {
            checkAbort()
            const outcome = await p.runPython(buildProgram(problem, completion))
            result.passed = outcome.passed
            if (!outcome.passed && outcome.error) result.error = outcome.error
          }
        } catch (error) {
          result = {
            task_id: problem.task_id,
            completion: '',
            exact: false,
            passed: p.runPython ? false : null,
            error: nodeFailure(error),
            firstTokenMs: null,
          }
        }
        fim.push(result)
        done++
        progress(suite, problem.task_id)
      }
    } else if (suite === 'sentiment') {
      const task = p.sentiment as SentimentTask
      for (const item of items) {
        checkAbort()
        let result: SentimentResult
        try {
          const { text, firstTokenMs } = await ask(task.request(item.text))
          const answer = task.parse(text)
          result = {
            text: item.text,
            expected: item.label,
            answer,
            correct: answer !== null && answer === item.label,
            firstTokenMs,
          }
        } catch (error) {
          result = {
            text: item.text,
            expected: item.label,
            answer: null,
            correct: false,
            error: nodeFailure(error),
            firstTokenMs: null,
          }
        }
        sentiment.push(result)
        done++
        progress(suite)
      }
    } else if (suite === 'latency') {
      for (let i = 0; i < steps.latency; i++) {
        checkAbort()
        try {
          await ask({ prompt: EVALUATOR_DEFAULTS.latencyPrompt, max_tokens: EVALUATOR_DEFAULTS.latencyMaxTokens })
        } catch (error) {
          nodeFailure(error)
        }
        done++
        progress(suite)
      }
    } else {
      for (let i = 0; i < probes; i++) {
        checkAbort()
        if (i > 0) await sleep(intervalMs, p.signal)
        checkAbort()
        let result: UptimeResult
        try {
          await p.client.quote({ model, node: entry, prompt: EVALUATOR_DEFAULTS.latencyPrompt, max_tokens: 1 })
          result = { up: true }
        } catch (error) {
          // A busy node is up; any other refusal or a node that cannot be reached is down.
          const busy =
            (error as { name?: string; code?: string }).name === 'InferRequestError' &&
            (error as { code?: string }).code === 'BUSY'
          result = busy ? { up: true } : { up: false, error: nodeFailure(error) }
        }
        uptime.push(result)
        done++
        progress(suite)
      }
    }
  }
  checkAbort()

  const scores: EvaluationScores = {
    fimExact: suites.includes('fim') ? ppm(fim.filter((r) => r.exact).length, fim.length) : null,
    fimPass1:
      suites.includes('fim') && p.runPython ? ppm(fim.filter((r) => r.passed === true).length, fim.length) : null,
    sentiment: suites.includes('sentiment') ? ppm(sentiment.filter((r) => r.correct).length, sentiment.length) : null,
    latencyP50: suites.includes('latency') && firstTokens.length > 0 ? Math.round(percentile(firstTokens, 50)) : null,
    latencyP95: suites.includes('latency') && firstTokens.length > 0 ? Math.round(percentile(firstTokens, 95)) : null,
    uptime: suites.includes('uptime') ? ppm(uptime.filter((r) => r.up).length, uptime.length) : null,
  }
  const windowStart = Math.floor(startedAt / 1000)
  // A window is never empty (the rules refuse windowStart >= windowEnd), even for a run shorter than a second.
  const windowEnd = Math.max(windowStart + 1, Math.ceil(now() / 1000))
  const samples: Record<AttestationSuite, number> = {
    'fim-exact': fim.length,
    'fim-pass1': fim.length,
    sentiment: sentiment.length,
    'latency-p50': firstTokens.length,
    'latency-p95': firstTokens.length,
    uptime: uptime.length,
    'spot-check': 0,
  }
  const bySuite: [AttestationSuite, number | null][] = [
    ['fim-exact', scores.fimExact],
    ['fim-pass1', scores.fimPass1],
    ['sentiment', scores.sentiment],
    ['latency-p50', scores.latencyP50],
    ['latency-p95', scores.latencyP95],
    ['uptime', scores.uptime],
  ]
  let nonce = p.nonce ?? startedAt
  const attestations: Attestation[] = bySuite.flatMap(([suite, score]) =>
    score === null || samples[suite] === 0
      ? []
      : [
          {
            evaluator: p.evaluator,
            node: entry.announcement.operator,
            modelHash: announced.contentHash.toLowerCase() as Hex,
            suite,
            score,
            sampleSize: samples[suite],
            windowStart,
            windowEnd,
            nonce: nonce++,
          },
        ],
  )
  return {
    node: entry.announcement.operator,
    modelHash: announced.contentHash.toLowerCase() as Hex,
    model,
    windowStart,
    windowEnd,
    scores,
    attestations,
    fim,
    sentiment,
    uptime,
    firstTokenMs: firstTokens,
  }
}
