/** Defaults of the consumer SDK. */
export const CLIENT_DEFAULTS = {
  /** What a new channel is opened with, and the least a top-up adds (AI wei). */
  channelDeposit: 10n * 10n ** 18n,
  /** Automatic node choice: the cheapest node whose measured round trip is below this (any, when none is measured). */
  latencyBarMs: 1_000,
  /**
   * How long `nodes()` and automatic choice wait for a first registered announcement. The relay hands a joining
   * directory the announcements it holds at once; this is the fallback for a relay that has none yet (a provider
   * that just came online): longer than the announcement interval (30 s).
   */
  discoveryTimeoutMs: 40_000,
  /** max_tokens when the caller names none (the quote must bound the output). */
  maxTokens: 256,
  /**
   * Automatic choice tries at most this many nodes for one request: a node that answers BUSY (left alone until its
   * retry-after) or fails before its first token is followed by the next best.
   */
  maxAttempts: 3,
  /** A node that got no request for this long is handed a final voucher (so an honest node redeems no credit). */
  finishAfterIdleMs: 60_000,
  /**
   * A node that answered is kept warm (p2p/warm.ts: connected, with a negotiated stream waiting) for this long after
   * its last answer, so the next request to it goes out without a negotiation round trip first, as HTTP keep-alive
   * spares a new connection. It costs the node one stream opened every 5 s while warm.
   */
  keepWarmMs: 30_000,
  /** At most this many nodes are kept warm at once (the least recently used stops first). */
  maxWarmNodes: 4,
  /** Receipts handed over by verifiers (`reportReceipt`) that are kept, newest first, to catch a later contradiction. */
  maxReportedReceipts: 256,
  /** The consumer's own receipts looked through for contradictions when the client starts (the newest). */
  maxWatchedReceipts: 10_000,
  /** A node's registered prices are read again after this long. */
  registryCacheMs: 30_000,
  /**
   * A channel read from the chain this recently is not read again before the next voucher (two calls to the RPC
   * node, before the request could go out). Only the consumer can close its channel or change its deposit (top-ups
   * only add), so the read stands; a node that refuses the voucher anyway makes the SDK read it again and pay once more.
   */
  channelReadMs: 30_000,
  /**
   * What any node may take unless the caller says otherwise (AI wei): 1 AI per request, 10 AI per channel, and
   * prices up to 10 AI per million tokens either way. A node asking more is refused with `SpendLimitError`.
   */
  limits: {
    maxSpendPerRequest: 10n ** 18n,
    maxDeposit: 10n * 10n ** 18n,
    maxPricePerMillionInput: 10n * 10n ** 18n,
    maxPricePerMillionOutput: 10n * 10n ** 18n,
  },
} as const
