/**
 * A hedged request, for latency-sensitive completions (code suggestions): the two best nodes (of different operators,
 * so their channels do not wait on each other) are asked at once; the first to produce a token wins and the other is
 * cancelled at that moment. The cancelled node is paid only for the tokens it had sent when it saw the cancel —
 * nothing when it had sent none — and its receipt must match the text received from it; a node that ignores the
 * cancel and streams on is reset after the grace period and can later settle at most the price of what arrived (see
 * `payForRequest`). Each side fails over on its own (a BUSY or dead node before its first token is replaced by the
 * next candidate neither side has asked); when both sides fail, `AllNodesFailedError` lists every node tried. With fewer than two candidates
 * it is an ordinary request.
 */
import type { DirectoryEntry } from '../../core/directory.ts'
import { AllNodesFailedError, type RouteAttempt } from '../../core/errors/routing.ts'
import type { ClientContext } from '../context.ts'
import {
  payForRequest,
  payWithFailover,
  queueOf,
  type PaidResult,
  type PayForRequestParameters,
} from './payForRequest.ts'
import { routeRequest } from './routeRequest.ts'

export async function payHedged(context: ClientContext, p: PayForRequestParameters): Promise<PaidResult> {
  if (p.node) return payForRequest(context, p)
  const { ranked } = await routeRequest(context, { model: p.model, contentHash: p.contentHash, request: p.request })
  const entries = ranked.map((r) => r.candidate.entry)
  const [first] = entries
  const second = entries.find(
    (e) => e.announcement.operator.toLowerCase() !== first?.announcement.operator.toLowerCase(),
  )
  if (!first || !second) return payWithFailover(context, p, entries)
  // After its first node, a side that fails over takes the next node neither side has asked yet.
  const shared = queueOf(entries.filter((e) => e !== first && e !== second))
  const sides: DirectoryEntry[] = [first, second]
  const asked: (DirectoryEntry | undefined)[] = [undefined, undefined]
  const queueFor = (i: 0 | 1) => () => {
    const entry = asked[i] === undefined ? sides[i] : shared()
    asked[i] = entry
    return entry
  }

  const controllers = [new AbortController(), new AbortController()] as const
  const onCallerAbort = () => {
    for (const c of controllers) c.abort()
  }
  p.signal?.addEventListener('abort', onCallerAbort, { once: true })
  if (p.signal?.aborted) onCallerAbort()
  let winner: 0 | 1 | null = null
  const side = (i: 0 | 1) =>
    payWithFailover(
      context,
      {
        ...p,
        signal: controllers[i].signal,
        onDelta: (delta) => {
          if (winner === null) {
            winner = i
            controllers[i === 0 ? 1 : 0].abort()
          }
          if (winner === i) p.onDelta?.(delta)
        },
      },
      queueFor(i),
    )
  try {
    const outcomes = await Promise.allSettled([side(0), side(1)])
    const won = winner ?? (outcomes[0].status === 'fulfilled' ? 0 : outcomes[1].status === 'fulfilled' ? 1 : null)
    if (won !== null) {
      const outcome = outcomes[won]
      if (outcome.status === 'rejected') throw outcome.reason
      const other = asked[won === 0 ? 1 : 0] ?? sides[won === 0 ? 1 : 0]!
      return {
        ...outcome.value,
        hedge: { peer: other.peerId, operator: other.announcement.operator, signer: other.announcement.signer },
      }
    }
    // Neither side got a token.
    const reasons = outcomes.map((o) => (o.status === 'rejected' ? o.reason : null))
    if (p.signal?.aborted) throw reasons[0]
    const attempts: RouteAttempt[] = reasons.flatMap((r) => (r instanceof AllNodesFailedError ? r.attempts : []))
    if (attempts.length === 0) throw reasons[0]
    throw new AllNodesFailedError({ model: p.model, attempts, cause: reasons[0] })
  } finally {
    p.signal?.removeEventListener('abort', onCallerAbort)
  }
}
