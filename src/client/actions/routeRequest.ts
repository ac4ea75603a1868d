/**
 * Which nodes to try for one request, best first: the registered nodes announcing the model that meet the consumer's
 * reputation requirement (`findNodes`), ranked by the pure routing rule (`src/core/routing.ts`) on this request's
 * size — exact price at each node's announced prices, expected queue wait from its capacity and queue depth, measured
 * round trip, tokens/s and reputation — leaving out flagged nodes (proven equivocators, spot-check liars) and nodes in
 * back-off (a BUSY's retry-after, a node that could not be reached).
 */
import type { Hex } from 'viem'
import { inputTokenBound } from '../../core/bounds.ts'
import type { DirectoryEntry } from '../../core/directory.ts'
import { NoNodeAvailableError } from '../../core/errors/payments.ts'
import type { InferenceRequest } from '../../core/inference.ts'
import { routeRequest as rank, type Exclusion, type RankedNode, type RouteCandidate } from '../../core/routing.ts'
import type { ClientContext } from '../context.ts'
import { findNodes } from './findNodes.ts'

export type RouteRequestParameters = {
  model: string
  contentHash: Hex
  request: InferenceRequest & { max_tokens: number }
  seed?: number
}
export type RoutedNode = RankedNode<RouteCandidate & { entry: DirectoryEntry }>

/** The candidate routing sees for a directory entry, with its reputation and flag. */
export async function routeCandidateOf(
  context: ClientContext,
  entry: DirectoryEntry,
  contentHash: Hex,
): Promise<RouteCandidate & { entry: DirectoryEntry }> {
  const served = entry.announcement.models.find((m) => m.contentHash.toLowerCase() === contentHash.toLowerCase())
  const reputation = await Promise.resolve(
    context.reputation?.(entry.announcement.operator, contentHash.toLowerCase() as Hex),
  ).catch(() => null)
  return {
    entry,
    peerId: entry.peerId,
    prices: {
      pricePerMillionInput: BigInt(entry.announcement.pricePerMillionInput),
      pricePerMillionOutput: BigInt(entry.announcement.pricePerMillionOutput),
    },
    capacity: entry.announcement.capacity,
    queueDepth: entry.announcement.queueDepth,
    tokensPerSecond: served?.tokensPerSecond ?? 0,
    rttMs: entry.rttMs,
    reputation: reputation?.status === 'known' ? reputation.score : null,
    flagged: context.isFlagged?.(entry, contentHash) ?? false,
  }
}

/** The nodes to try, best first, and those left out now (with why). Throws `NoNodeAvailableError` when none is left. */
export async function routeRequest(
  context: ClientContext,
  { model, contentHash, request, seed = randomSeed() }: RouteRequestParameters,
): Promise<{ ranked: RoutedNode[]; excluded: Exclusion[] }> {
  const all = await findNodes(context, { model, contentHash })
  const candidates = await Promise.all(all.map((e) => routeCandidateOf(context, e, contentHash)))
  const now = Date.now()
  const result = rank(
    candidates,
    { inputTokens: inputTokenBound(request), maxTokens: request.max_tokens },
    { now, seed, latencyBarMs: context.latencyBarMs, backoffUntil: (peer) => context.backoff.until(peer, now) },
  )
  if (result.ranked.length === 0) {
    const details =
      result.excluded.length > 0
        ? `every node is left out for now: ${result.excluded.map((e) => `${e.peerId} (${e.reason === 'backoff' ? `busy or unreachable for ${Math.max(0, (context.backoff.until(e.peerId, now) ?? now) - now)} ms more` : e.reason})`).join(', ')}`
        : undefined
    throw new NoNodeAvailableError({ model, ...(details ? { details } : {}) })
  }
  return result
}

function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!
}
