/** Errors of the evaluator (`src/evaluator/`): a suite run that cannot start, and one that was cancelled. */
import { BaseError, registerErrorClass } from './base.ts'

/**
 * A suite run cannot start as asked: no suite chosen, a suite without its data (problems, headlines), pass@1 without
 * a Python runner, or a model the node does not announce. Nothing was paid.
 */
export class EvaluationSetupError extends BaseError {
  override name = 'EvaluationSetupError' as const
}
registerErrorClass('EvaluationSetupError', EvaluationSetupError)

/** The caller cancelled a suite run (its AbortSignal). What was paid before is kept; no attestation is built. */
export class EvaluationAbortedError extends BaseError {
  override name = 'EvaluationAbortedError' as const
  constructor({ done, total, cause }: { done: number; total: number; cause?: unknown }) {
    super(`The evaluation was cancelled after ${done} of ${total} steps; no attestation was built.`, {
      cause,
      data: { done, total },
    })
  }
  get done(): number {
    return this.data?.['done'] as number
  }
}
registerErrorClass('EvaluationAbortedError', EvaluationAbortedError)
