/** Defaults of the consumer SDK. */
export const CLIENT_DEFAULTS = {
  /** What a new channel is opened with, and the least a top-up adds (AI wei). */
  channelDeposit: 10n * 10n ** 18n,
  /** Automatic node choice: the cheapest node whose measured round trip is below this (any, when none is measured). */
  latencyBarMs: 1_000,
  /**
   * How long `nodes()` and automatic choice wait for a first registered announcement: longer than the announcement
   * interval (30 s), since a provider behind the relay does not always see a new consumer join its topic.
   */
  discoveryTimeoutMs: 40_000,
  /** max_tokens when the caller names none (the quote must bound the output). */
  maxTokens: 256,
} as const
