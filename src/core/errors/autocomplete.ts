/** Errors of code completion: the editor's completion sources and the evaluation harness. */
import { BaseError, registerErrorClass } from './base.ts'

/** The loaded model has no fill-in-the-middle format, so it cannot complete code at a cursor. */
export class FimUnsupportedError extends BaseError {
  override name = 'FimUnsupportedError' as const
  constructor({ model }: { model: string }) {
    super(
      `${model} has no fill-in-the-middle format. Load a coder model (Qwen2.5-Coder, or a Modelex demo model) for completions.`,
      { data: { model } },
    )
  }
  get model(): string {
    return this.data?.['model'] as string
  }
}
registerErrorClass('FimUnsupportedError', FimUnsupportedError)

/** Nothing can complete code: no local model is loaded and no network node was chosen. */
export class NoCompletionSourceError extends BaseError {
  override name = 'NoCompletionSourceError' as const
  constructor(details?: string) {
    super('No completion source: load a coder model in this tab, or choose a network node.', { details })
  }
}
registerErrorClass('NoCompletionSourceError', NoCompletionSourceError)

/** The evaluation harness cannot run as asked (unknown set or target, missing data, unreadable key file). */
export class EvalSetupError extends BaseError {
  override name = 'EvalSetupError' as const
}
registerErrorClass('EvalSetupError', EvalSetupError)
