/** Defaults of the P2P layer, in one place; every service takes overrides through its options. */
import type { TopicScoreParams } from '@libp2p/gossipsub/score'

/** Redial a lost relay after 250 ms, doubling to at most 2 s, so a restarted relay is back within ~5 s. */
export const RECONNECT_DEFAULTS = { initialDelayMs: 250, maxDelayMs: 2_000, factor: 2 } as const

export const ANNOUNCE_DEFAULTS = {
  intervalMs: 30_000,
  /** Announcements "on change" are spaced by at least this much. */
  minSpacingMs: 1_000,
} as const

export const DIRECTORY_DEFAULTS = {
  /** Nodes are dropped after missing this many announcement intervals. */
  missedAnnouncements: 3,
  pingIntervalMs: 10_000,
  /** At most this many nodes are pinged per round (the best ones first). */
  maxPinged: 16,
  expireCheckMs: 1_000,
} as const

export const INFER_SERVER_DEFAULTS = {
  /** Streams one peer may have open with us at once. */
  maxStreamsPerPeer: 4,
  /** Set deliberately: libp2p resets streams beyond this before our handler runs (its default is 32). */
  maxInboundStreams: 256,
  /** Requests per peer: a burst, then a steady rate. */
  ratePerSecond: 5,
  rateBurst: 10,
  /**
   * Quote-only requests cost the node a token count and earn nothing, so they get their own small budget: per peer,
   * and at once over all peers (fresh peer ids cannot multiply it).
   */
  quoteRatePerSecond: 2,
  quoteBurst: 4,
  maxConcurrentQuotes: 2,
  /** Time for the request frame to arrive once the stream is open. */
  requestTimeoutMs: 10_000,
  /** A stream with no bytes either way for this long is closed. */
  idleTimeoutMs: 30_000,
  /** Longest wait for a free slot before answering TIMEOUT. */
  queueTimeoutMs: 30_000,
  /** Generations run at once, and requests allowed to wait for one. */
  capacity: 2,
  maxQueue: 8,
  maxTokens: 4096,
  busyRetryAfterMs: 1_000,
} as const

export const INFER_CLIENT_DEFAULTS = {
  /** Give up when the node sends nothing for this long (queueing included). */
  idleTimeoutMs: 60_000,
  dialTimeoutMs: 10_000,
  /** How long a cancelled request waits for the node's `done` (with the receipt of what was sent). */
  cancelGraceMs: 2_000,
} as const

/**
 * Circuit-relay limits, stated explicitly: the library default (128 KiB, 2 minutes per relayed connection) is too
 * small for answers streamed over the relay between Node peers; browsers move to WebRTC anyway.
 */
export const RELAY_DEFAULTS = {
  maxReservations: 1024,
  reservationTtlMs: 2 * 60 * 60 * 1000,
  durationLimitMs: 30 * 60 * 1000,
  dataLimitBytes: 64n * 1024n * 1024n,
  maxInboundHopStreams: 256,
  /**
   * The relay is the hub of a star (browser peers have no other gossip peer), so its mesh must hold every peer
   * of a topic: with gossipsub's usual 6-12, the others would only hear messages through lazy IHAVE gossip (seconds,
   * and lossy). Beyond ~256 peers per topic, add relays.
   */
  mesh: { D: 128, Dlo: 96, Dhi: 256, Dlazy: 32, Dout: 2 },
  /** Announcement topics the relay joins on its peers' behalf, at most. */
  maxTopics: 4096,
  metricsIntervalMs: 60_000,
} as const

/**
 * Gossipsub scores for announcement topics. Announcements are sparse (one per node per 30 s), so missing mesh
 * deliveries is normal and not penalised; an invalid message (bad schema or signature: proof of a bad sender,
 * since every honest forwarder validates first) costs enough at once to fall below the graylist threshold (-80).
 */
export const ANNOUNCEMENT_TOPIC_SCORE: Partial<TopicScoreParams> = {
  topicWeight: 1,
  timeInMeshWeight: 0.01,
  timeInMeshQuantum: 1_000,
  timeInMeshCap: 300,
  firstMessageDeliveriesWeight: 1,
  firstMessageDeliveriesDecay: 0.9,
  firstMessageDeliveriesCap: 10,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  invalidMessageDeliveriesWeight: -100,
  invalidMessageDeliveriesDecay: 0.99,
}

export const JOBS_TOPIC = 'modelex/1/jobs'
export const ATTESTATIONS_TOPIC = 'modelex/1/attestations'

/**
 * Attestations are sparse too (a few per evaluation run), so the announcement scores fit: no penalty for quiet
 * meshes, and a forged one (bad schema or signature, which every forwarder checks the same way) costs at once.
 */
export const ATTESTATION_TOPIC_SCORE: Partial<TopicScoreParams> = ANNOUNCEMENT_TOPIC_SCORE

export const ATTESTATION_BOOK_DEFAULTS = {
  /** Attestations kept (the latest per evaluator, node, model and suite; the least recently updated go first). */
  maxStored: 10_000,
  /** How long a registry answer (signer binding, node registered, evaluator stake) is reused. */
  registryCacheMs: 60_000,
  /** Own attestations waiting to be anchored, at most (the oldest are dropped beyond it). */
  maxPending: 10_000,
  /** Own batches remembered (for their proofs), at most: the oldest anchored ones are forgotten beyond it. */
  maxBatches: 1_000,
  /** The key prefix of the book's records in its `KeyValueStore`. */
  storePrefix: 'attestation-book-v1',
  /** How often a book that anchors by itself looks whether a batch is due. */
  anchorCheckMs: 5_000,
  /** After a failed anchoring, the next attempt waits this long, doubling up to `anchorMaxRetryMs`. */
  anchorRetryMs: 1_000,
  anchorMaxRetryMs: 60_000,
} as const

/** The protocol a consumer uses to ask a node for a receipt's Merkle proof once its batch is anchored. */
export const PROOF_PROTOCOL = '/modelex/receipt-proof/1.0.0'
export const MAX_PROOF_FRAME_BYTES = 16 * 1024

/** The protocol a consumer uses to hand a node its final voucher (for the settled total) when it is done. */
export const FINAL_VOUCHER_PROTOCOL = '/modelex/final-voucher/1.0.0'
export const MAX_FINAL_VOUCHER_FRAME_BYTES = 4 * 1024

/** Async jobs: claims, acceptances and fetches, one frame each way (`src/p2p/jobs.ts`). */
export const JOBS_PROTOCOL = '/modelex/jobs/1.0.0'

/** Jobs are sparse (a consumer posts a few), so the attestation scores fit: quiet meshes are normal, forgeries cost at once. */
export const JOBS_TOPIC_SCORE: Partial<TopicScoreParams> = ANNOUNCEMENT_TOPIC_SCORE

export const JOBS_DEFAULTS = {
  /** Jobs each consumer may post: a burst, then a steady rate (each validator counts on its own; excess is ignored). */
  ratePerSecond: 0.5,
  rateBurst: 10,
  /** Consumers whose rate is tracked, at most. */
  maxTrackedConsumers: 10_000,
  /** A job's publication is retried this often until a peer of the topic (the relay) takes it, for at most `publishTimeoutMs`. */
  publishRetryMs: 250,
  publishTimeoutMs: 15_000,
  /** One protocol exchange, at most. */
  requestTimeoutMs: 10_000,
  /** Streams of the jobs protocol one node takes at once. */
  maxInboundStreams: 64,
} as const
