/**
 * A relay's bounds, in one place (the relay takes overrides through its options): what one relay holds at most, and
 * what one peer may make it do. Measured on a 2-core machine by `src/server/bench/relay-capacity.ts`; see
 * docs/ARCHITECTURE.md ("Relay capacity") for the figures behind `maxConnections`.
 */
export const RELAY_LIMITS = {
  /**
   * Peer connections held at once; beyond it, new ones are refused (peer relays excepted). Measured on 2 cores shared
   * with other work, gossip on: 1,000 held in every run with every announcement delivered (p95 85–257 ms); at 1,500 one
   * run delivered all (p95 1.9 s), another 88% within 5 s; at 2,000 handshakes time out. So 1,200, with margin.
   */
  maxConnections: 1_200,
  /** Announcement topics joined at once. */
  maxTopics: 4_096,
  /** Topics one peer may make the relay join (a consumer follows a few models; the app's catalog is ~40). */
  maxTopicsPerPeer: 64,
  /** Topic subscriptions one peer may hold with the relay; beyond it, it is flooding and is cut off. */
  maxSubscriptionsPerPeer: 256,
  /** How long a peer cut off for flooding is refused. */
  floodBanMs: 60_000,
  /**
   * Announcements one peer may send the relay: a burst (a provider announces on every model it serves at once, at
   * most 32 in the registry), then a steady rate; the rest are ignored (not forwarded, not cached).
   */
  announcementsPerSecond: 4,
  announcementBurst: 64,
  /** A model asked about over the directory protocol stays wanted this long after the last ask. */
  directoryInterestMs: 10 * 60_000,
  /** How often joined and wanted topics are looked at again (registry verdicts, subscribers gone). */
  sweepMs: 2_000,
  /** Peer relays are redialled every this many gossipsub heartbeats (1 s each) while disconnected. */
  directConnectTicks: 5,
  /** Topic subscriptions and messages in one gossipsub RPC, at most. */
  maxSubscriptionsPerRpc: 512,
  maxMessagesPerRpc: 512,
} as const

export type RelayLimits = { -readonly [K in keyof typeof RELAY_LIMITS]: number }
