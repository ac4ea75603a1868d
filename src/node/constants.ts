/** Defaults of the provider service. */
export const PROVIDER_DEFAULTS = {
  /** Anchor when this many receipts wait... */
  batchMaxReceipts: 16,
  /** ...or when the oldest has waited this long. */
  batchMaxAgeMs: 5 * 60_000,
  /** Redeem a channel's voucher automatically once it would pay at least this much (AI wei). */
  redeemThreshold: 10n ** 18n,
  /** How often the anchoring and redemption loop looks at its work. */
  tickMs: 1_000,
  /** How often it looks for channel closes: far within any challenge period, and not an RPC round trip a second. */
  closeWatchMs: 10_000,
  /** After a failed anchoring or redemption (RPC down), wait this long, doubling up to `maxRetryMs`. */
  retryMs: 1_000,
  maxRetryMs: 30_000,
  /** max_tokens applied to requests that name none (the quote must bound the output). */
  defaultMaxTokens: 256,
  /** An open channel read longer ago than this is read again behind the request (which goes on at once). */
  statusMaxAgeMs: 5_000,
  /** Read longer ago than this (the chain was out of reach meanwhile), the request waits for the read. */
  statusWaitMs: 60_000,
  /** Requests served at once and waiting in the queue before BUSY. */
  capacity: 2,
  maxQueue: 8,
} as const
