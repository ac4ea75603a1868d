/**
 * Errors of routing a request over several nodes: every node tried refused or failed before its first token.
 */
import { BaseError, registerErrorClass } from './base.ts'

/** One node tried: its peer id, the error's name, the node's error code when it answered one, and the message. */
export type RouteAttempt = { peerId: string; error: string; code: string | null; message: string }

/**
 * Every node tried for a request refused it (BUSY, a refusal) or failed before its first token (could not be
 * dialled, went away); `attempts` lists them in order. Nothing was streamed; credit signed to them stays credit.
 */
export class AllNodesFailedError extends BaseError {
  override name = 'AllNodesFailedError' as const
  constructor({ model, attempts, cause }: { model: string; attempts: readonly RouteAttempt[]; cause?: unknown }) {
    super(
      `No node served ${model}: ${attempts.length} tried, each refused or failed before its first token; try again shortly (busy nodes named a retry-after), or name a node.`,
      {
        details: attempts
          .map((a) => `${a.peerId}: ${a.code ?? a.error}${a.message ? ` (${a.message.split('\n')[0]})` : ''}`)
          .join('; '),
        data: { model, attempts: attempts.map((a) => ({ ...a })) },
        cause,
      },
    )
  }
  get attempts(): RouteAttempt[] {
    return this.data?.['attempts'] as RouteAttempt[]
  }
}
registerErrorClass('AllNodesFailedError', AllNodesFailedError)
