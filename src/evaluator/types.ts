/**
 * What the suite runner is given: the consumer SDK's surface it asks through (the real `ModelexClient` fits; unit
 * tests inject their own), the Python runner that checks a completed program (a Pyodide worker in the browser, the
 * sandboxed process in Node), and a sentiment task (items with their labels, and how to ask and read them).
 */
import type { ProgramOutcome } from '../core/eval.ts'
import type { ChatMessage } from '../core/inference.ts'
import type { ModelexClient } from '../client/client.ts'

export type EvaluatorClient = Pick<ModelexClient, 'completions' | 'chat' | 'quote'>

/** The outcome of one program with its tests: passed, or failed with the (shortened) Python error or timeout. */
export type PythonOutcome = { passed: boolean; error?: string }
export type RunPython = (program: string) => Promise<PythonOutcome>

export type SentimentItem = { text: string; label: string }
export type SentimentTask = {
  items: readonly SentimentItem[]
  /** The chat request that asks a model for one item's label. */
  request(text: string): { messages: ChatMessage[]; max_tokens: number }
  /** The label an answer gives, or null when it gives none. */
  parse(output: string): string | null
}

/**
 * Errors that say something about the node (it refused, broke the stream, quoted or signed wrongly, or could not be
 * reached) and so count against its score. Anything else — the evaluator's wallet, limits, chain RPC — ends the run.
 */
const NODE_FAILURES = new Set([
  'InferRequestError',
  'InferStreamError',
  'PaidRequestInterruptedError',
  'InvalidReceiptError',
  'InvalidQuoteError',
  'StreamLimitError',
  'NoNodeAvailableError',
])

export function isNodeFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && NODE_FAILURES.has((error as { name?: string }).name ?? '')
}

/** A runner of the Node harness's shape (`createPythonRunner` in src/server/evals/python.ts: the sandboxed child). */
export type ProgramRunner = { run(code: string, timeoutMs: number): Promise<ProgramOutcome> }

/** `runPython` over such a runner: pass, or fail with its Python error or the time limit it ran past. */
export function runPythonWith(runner: ProgramRunner, timeoutMs: number): RunPython {
  return async (program) => {
    const outcome = await runner.run(program, timeoutMs)
    if (outcome.status === 'passed') return { passed: true }
    return {
      passed: false,
      error: outcome.status === 'failed' ? outcome.error : `no result within ${outcome.limitMs} ms`,
    }
  }
}
