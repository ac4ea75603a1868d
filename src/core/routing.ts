/**
 * Routing: which nodes to try for one request, best first, as a pure function of what the consumer knows — each
 * node's signed announcement (prices, capacity, queue depth, tokens/s), the round trip it measured, the node's
 * reputation and spot-check record, and the nodes it must leave alone for now (a BUSY's retry-after, a dead node).
 *
 * The rule. A node is left out when it is in back-off, flagged (a proven equivocator or spot-check liar), or below
 * the reputation asked for; an unknown reputation is neutral, not bad. The rest are split by whether their first
 * token is expected within the latency bar (round trip + queue wait): those are ranked by the exact price of this
 * request (`tokenCost` of its input bound and max_tokens), then reputation, then expected total time; the slower ones
 * follow, ranked by expected total time, then price and reputation. Equal nodes are ordered by a seeded hash of their
 * peer id, so ties are deterministic for a seed and spread over nodes across seeds (load balancing).
 *
 * Capacity and queue: a node running `capacity` generations at once with `queueDepth` requests waiting makes a new one
 * wait about `queueDepth / capacity` generations. A browser node serves one request at a time per model (web-llm
 * cannot batch): capacity 1, a one-slot queue whose expected wait is `queueDepth × expected duration`.
 *
 * @example
 * const ranked = rankNodes(candidates, { inputTokens: 120, maxTokens: 64 }, { now: Date.now(), seed: 7, backoff })
 * const first = ranked[0] // try it, then ranked[1] on BUSY or a dead node
 */
import type { Prices } from './quote.ts'
import { tokenCost } from './quote.ts'

/** What routing needs of one node (built from a directory entry, the reputation book and the spot-check record). */
export type RouteCandidate = {
  peerId: string
  prices: Prices
  /** Generations the node runs at once (≥ 1; 0 or less is read as 1). */
  capacity: number
  /** Requests waiting for a slot, as last announced. */
  queueDepth: number
  /** Announced decode speed of the model, tokens per second (0 or unknown: `ROUTING_DEFAULTS.unknownTokensPerSecond`). */
  tokensPerSecond: number
  /** Measured round trip; null when not measured (counted as `ROUTING_DEFAULTS.unmeasuredRttMs`, never as fast). */
  rttMs: number | null
  /** 0..100 when known; null when unknown (neutral). */
  reputation: number | null
  /** A proven equivocator or spot-check liar: never routed to. */
  flagged: boolean
}

/** The request's size: the consumer's bound on its input tokens, and max_tokens. */
export type RouteRequest = { inputTokens: number; maxTokens: number }

export type RoutingOptions = {
  now: number
  /** Orders equal nodes; the same seed gives the same order. */
  seed: number
  /** Until when (same clock as `now`) each node is left alone; absent or past: usable. */
  backoffUntil?: (peerId: string) => number | undefined
  /** A node whose first token is expected within this many ms is "fast" and ranked by price first. */
  latencyBarMs?: number
  /** Known nodes scoring below this are left out. */
  minReputation?: number | undefined
  /** Leave out nodes whose reputation is unknown. */
  requireKnown?: boolean | undefined
}

export type RankedNode<C extends RouteCandidate = RouteCandidate> = {
  candidate: C
  /** The exact price of this request at the node's prices (AI wei). */
  maxCost: bigint
  /** Expected wait for a slot, first token (round trip + wait) and whole answer, in ms. */
  waitMs: number
  firstTokenMs: number
  totalMs: number
  fast: boolean
}

export type Exclusion = { peerId: string; reason: 'backoff' | 'flagged' | 'reputation' }

export const ROUTING_DEFAULTS = {
  latencyBarMs: 1_000,
  /** A round trip not measured yet counts as this (and the node is never "fast" on it). */
  unmeasuredRttMs: 1_000,
  /** Decode speed assumed for a node announcing none. */
  unknownTokensPerSecond: 10,
  /** Prefill is counted this many times faster than decode. */
  prefillSpeedup: 8,
  /** Reputation assumed for an unknown node when ranking (neutral: the middle of 0..100). */
  neutralReputation: 50,
} as const

/** The expected duration of one request on a node, in ms: prefill of the input plus decode of max_tokens. */
export function expectedDurationMs(candidate: Pick<RouteCandidate, 'tokensPerSecond'>, request: RouteRequest): number {
  const tps =
    candidate.tokensPerSecond > 0 && Number.isFinite(candidate.tokensPerSecond)
      ? candidate.tokensPerSecond
      : ROUTING_DEFAULTS.unknownTokensPerSecond
  return ((request.inputTokens / ROUTING_DEFAULTS.prefillSpeedup + request.maxTokens) / tps) * 1000
}

/** The expected wait for a slot: `queueDepth / capacity` generations (capacity 1: queueDepth × duration). */
export function expectedWaitMs(
  candidate: Pick<RouteCandidate, 'capacity' | 'queueDepth' | 'tokensPerSecond'>,
  request: RouteRequest,
): number {
  const capacity = candidate.capacity >= 1 ? Math.floor(candidate.capacity) : 1
  const depth = candidate.queueDepth > 0 && Number.isFinite(candidate.queueDepth) ? candidate.queueDepth : 0
  return (depth / capacity) * expectedDurationMs(candidate, request)
}

/** Why a candidate is not routed to now, or null when it may be. */
export function exclusionOf(candidate: RouteCandidate, options: RoutingOptions): Exclusion['reason'] | null {
  if (candidate.flagged) return 'flagged'
  const until = options.backoffUntil?.(candidate.peerId)
  if (until !== undefined && until > options.now) return 'backoff'
  if (candidate.reputation === null) return options.requireKnown ? 'reputation' : null
  if (options.minReputation !== undefined && candidate.reputation < options.minReputation) return 'reputation'
  return null
}

/** The candidates that may serve `request` now, best first, and those left out (with why). */
export function routeRequest<C extends RouteCandidate>(
  candidates: readonly C[],
  request: RouteRequest,
  options: RoutingOptions,
): { ranked: RankedNode<C>[]; excluded: Exclusion[] } {
  const bar = options.latencyBarMs ?? ROUTING_DEFAULTS.latencyBarMs
  const excluded: Exclusion[] = []
  const ranked: (RankedNode<C> & { reputation: number; tie: number })[] = []
  const seen = new Set<string>()
  for (const candidate of candidates) {
    if (seen.has(candidate.peerId)) continue
    seen.add(candidate.peerId)
    const reason = exclusionOf(candidate, options)
    if (reason) {
      excluded.push({ peerId: candidate.peerId, reason })
      continue
    }
    const waitMs = expectedWaitMs(candidate, request)
    const rtt = candidate.rttMs ?? ROUTING_DEFAULTS.unmeasuredRttMs
    const firstTokenMs = rtt + waitMs
    const totalMs = firstTokenMs + expectedDurationMs(candidate, request)
    ranked.push({
      candidate,
      maxCost: tokenCost(request.inputTokens, request.maxTokens, candidate.prices),
      waitMs,
      firstTokenMs,
      totalMs,
      fast: candidate.rttMs !== null && firstTokenMs <= bar,
      reputation: candidate.reputation ?? ROUTING_DEFAULTS.neutralReputation,
      tie: seededHash(options.seed, candidate.peerId),
    })
  }
  ranked.sort((a, b) => {
    if (a.fast !== b.fast) return a.fast ? -1 : 1
    const byCost = compareBig(a.maxCost, b.maxCost)
    const byReputation = b.reputation - a.reputation
    const byTime = a.totalMs - b.totalMs
    const keys = a.fast ? [byCost, byReputation, byTime] : [byTime, byCost, byReputation]
    for (const key of keys) if (key !== 0) return key
    return (
      a.tie - b.tie || (a.candidate.peerId < b.candidate.peerId ? -1 : a.candidate.peerId > b.candidate.peerId ? 1 : 0)
    )
  })
  return { ranked: ranked.map(({ reputation: _r, tie: _t, ...rest }) => rest), excluded }
}

/** `routeRequest`'s ranking alone. */
export function rankNodes<C extends RouteCandidate>(
  candidates: readonly C[],
  request: RouteRequest,
  options: RoutingOptions,
): RankedNode<C>[] {
  return routeRequest(candidates, request, options).ranked
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** FNV-1a (32 bits) of the seed and the peer id: a stable, seed-dependent order for equal nodes. */
export function seededHash(seed: number, peerId: string): number {
  let hash = 0x811c9dc5 ^ (seed >>> 0)
  hash = Math.imul(hash, 0x01000193) >>> 0
  for (let i = 0; i < peerId.length; i++) {
    hash ^= peerId.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}

export type BackoffOptions = {
  /** Wait after a BUSY that named no retry-after. */
  busyMs?: number
  /** Wait after a node could not be reached or failed before its first token; doubles per consecutive failure. */
  failureMs?: number
  maxFailureMs?: number
  /** Longest retry-after honoured (a node cannot exile itself for longer by asking). */
  maxRetryAfterMs?: number
  /** Nodes remembered at most (the oldest back-off is forgotten first). */
  maxEntries?: number
}

export const BACKOFF_DEFAULTS = {
  busyMs: 1_000,
  failureMs: 5_000,
  maxFailureMs: 60_000,
  maxRetryAfterMs: 60_000,
  maxEntries: 1_024,
} as const

/**
 * Per-node back-off, clock-injected: a BUSY keeps the node out until its retry-after has passed; a node that could
 * not be reached (or failed before its first token) is kept out for a while, doubling while it keeps failing; a
 * served request clears it.
 */
export class NodeBackoff {
  readonly #options: Required<BackoffOptions>
  readonly #entries = new Map<string, { until: number; failures: number }>()

  constructor(options: BackoffOptions = {}) {
    this.#options = { ...BACKOFF_DEFAULTS, ...options }
  }

  get size(): number {
    return this.#entries.size
  }

  /** Until when the node is left alone (undefined: it is not). */
  until(peerId: string, now: number): number | undefined {
    const entry = this.#entries.get(peerId)
    if (!entry) return undefined
    return entry.until > now ? entry.until : undefined
  }

  /** The node answered BUSY: left alone until `now + retryAfterMs` (bounded). */
  busy(peerId: string, now: number, retryAfterMs?: number): number {
    const wait =
      retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs < 0
        ? this.#options.busyMs
        : Math.min(retryAfterMs, this.#options.maxRetryAfterMs)
    const known = this.#entries.get(peerId)
    return this.#set(peerId, { until: Math.max(known?.until ?? 0, now + wait), failures: known?.failures ?? 0 })
  }

  /** The node could not be reached, or failed before its first token. */
  failed(peerId: string, now: number): number {
    const failures = (this.#entries.get(peerId)?.failures ?? 0) + 1
    const wait = Math.min(this.#options.failureMs * 2 ** Math.min(failures - 1, 30), this.#options.maxFailureMs)
    return this.#set(peerId, { until: now + wait, failures })
  }

  /** The node served a request: nothing held against it any more. */
  succeeded(peerId: string): void {
    this.#entries.delete(peerId)
  }

  #set(peerId: string, entry: { until: number; failures: number }): number {
    this.#entries.delete(peerId)
    this.#entries.set(peerId, entry)
    while (this.#entries.size > this.#options.maxEntries) {
      const oldest = this.#entries.keys().next().value as string
      this.#entries.delete(oldest)
    }
    return entry.until
  }
}
