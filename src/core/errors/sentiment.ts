/** Errors of the sentiment suite's data: a labelled file that does not parse, and the Financial PhraseBank not found. */
import { BaseError, registerErrorClass } from './base.ts'

/** A line of a labelled sentiment file breaks its format; `line` is 1-based, `source` names the file. */
export class MalformedSentimentDataError extends BaseError {
  override name = 'MalformedSentimentDataError' as const
  constructor({ source, line, reason }: { source: string; line: number; reason: string }) {
    super(`Line ${line} of ${source} is not a labelled item: ${reason}. Fix or remove the line.`, {
      data: { source, line, reason },
    })
  }
  get source(): string {
    return this.data?.['source'] as string
  }
  get line(): number {
    return this.data?.['line'] as number
  }
  get reason(): string {
    return this.data?.['reason'] as string
  }
}
registerErrorClass('MalformedSentimentDataError', MalformedSentimentDataError)

/**
 * The Financial PhraseBank is not in the folder given. It is licensed CC BY-NC-SA 3.0, so the repo does not ship
 * it: the message says where to get it and which flag points at it.
 */
export class PhraseBankNotFoundError extends BaseError {
  override name = 'PhraseBankNotFoundError' as const
  constructor({ dataDir, looked }: { dataDir: string; looked: readonly string[] }) {
    super(
      `The Financial PhraseBank is not in ${dataDir}. It is not shipped with Modelex (licence CC BY-NC-SA 3.0): download FinancialPhraseBank-v1.0 (Malo et al. 2014, https://huggingface.co/datasets/takala/financial_phrasebank or the authors' ResearchGate page), unzip it, and pass its folder with --data-dir <folder>.`,
      { details: `Looked for ${looked.join(', ')}.`, data: { dataDir, looked: [...looked] } },
    )
  }
  get dataDir(): string {
    return this.data?.['dataDir'] as string
  }
}
registerErrorClass('PhraseBankNotFoundError', PhraseBankNotFoundError)
