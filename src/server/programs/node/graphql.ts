/**
 * The server node's GraphQL endpoint (the reference `graphql` package): its status, the requests and jobs it served,
 * its earnings over a time range, and its history cut into hour or day buckets (`providerBuckets` of
 * `src/core/history.ts`, the same the app's Node view draws). Times are Unix milliseconds (Float: GraphQL's Int is
 * 32-bit); amounts are AI wei as decimal strings, exact. The schema has no recursion, so every query is bounded.
 */
import { buildSchema, graphql, type ExecutionResult, type GraphQLSchema } from 'graphql'
import { providerBuckets, type BucketSize, type ServedRecord, type UptimeSample } from '../../../core/history.ts'
import { histogramQuantile, type HistogramData } from '../../../core/metrics.ts'
import type { JobServiceStats } from '../../../node/jobs.ts'
import type { NodeSnapshot } from './telemetry.ts'

export const NODE_SCHEMA_SDL = /* GraphQL */ `
  "Hour or day buckets, aligned in the time zone given by offsetMs."
  enum BucketSize {
    HOUR
    DAY
  }

  type Query {
    "What the node is and how it is doing now."
    status: NodeStatus!
    "Requests and jobs: counters, and the most recent served ones (newest first)."
    jobs(limit: Int = 20): Jobs!
    "Earnings within [from, to) (Unix ms), from the receipts in the history, and the totals now."
    earnings(from: Float!, to: Float!): Earnings!
    "The history within [from, to) cut into buckets."
    history(from: Float!, to: Float!, bucket: BucketSize = HOUR, offsetMs: Float = 0): [HistoryBucket!]!
  }

  type Model {
    id: String!
    contentHash: String!
    engine: String!
    contextLength: Int!
  }

  type NodeStatus {
    peerId: String!
    operator: String!
    signer: String!
    chainId: Int!
    model: Model
    "AI wei per million tokens."
    priceInput: String!
    priceOutput: String!
    draining: Boolean!
    startedAt: Float!
    uptimeSeconds: Float!
    peers: Int!
    directoryNodes: Int!
    active: Int!
    queued: Int!
    capacity: Int!
    receiptsPending: Int!
    batchesAnchored: Int!
    "Age of the oldest receipt not anchored yet, seconds (0 when all are)."
    anchoringLagSeconds: Float!
    closingChannels: Int!
    lastError: String
    "Engine time per request since this process started, estimated from the histogram (null without requests)."
    latencyP50Seconds: Float
    latencyP95Seconds: Float
  }

  type Requests {
    served: Int!
    cancelled: Int!
    quoted: Int!
    refused: Int!
  }

  type AsyncJobs {
    claimed: Int!
    accepted: Int!
    waiting: Int!
    done: Int!
    expired: Int!
    failed: Int!
  }

  type ServedRequest {
    at: Float!
    model: String!
    "chat, completion or job"
    kind: String!
    tokensIn: Int!
    tokensOut: Int!
    earnings: String!
    latencyMs: Float
  }

  type Jobs {
    "Receipts signed over the life of the node."
    receiptsSigned: Int!
    tokensGenerated: Float!
    requests: Requests!
    active: Int!
    queued: Int!
    "The async job service, when the node takes jobs."
    async: AsyncJobs
    recent: [ServedRequest!]!
  }

  type Earnings {
    from: Float!
    to: Float!
    "Billed by the receipts signed within the range."
    earned: String!
    requests: Int!
    tokensIn: Float!
    tokensOut: Float!
    "Totals now: settled by receipts, pending in held vouchers, redeemed on-chain."
    settled: String!
    pending: String!
    redeemed: String!
  }

  type HistoryBucket {
    start: Float!
    end: Float!
    requests: Int!
    jobs: Int!
    tokensIn: Float!
    tokensOut: Float!
    earnings: String!
    tokensPerSecond: Float
    latencyP50: Float
    latencyP95: Float
    uptime: Float
  }
`

/** What the resolvers read; each call reads the node as it is now. */
export type NodeGraphSource = {
  snapshot(): NodeSnapshot
  identity(): Promise<{
    peerId: string
    operator: string
    signer: string
    chainId: number
    model: { id: string; contentHash: string; engine: string; contextLength: number } | null
    prices: { pricePerMillionInput: bigint; pricePerMillionOutput: bigint }
  }>
  latency(): HistogramData[]
  served(): readonly ServedRecord[]
  uptime(): readonly UptimeSample[]
  jobs(): JobServiceStats | null
}

const MAX_RECENT = 1_000

export function nodeSchema(): GraphQLSchema {
  return buildSchema(NODE_SCHEMA_SDL)
}

export function nodeResolvers(source: NodeGraphSource) {
  return {
    async status() {
      const s = source.snapshot()
      const id = await source.identity()
      const merged = mergeHistograms(source.latency())
      return {
        ...id,
        priceInput: id.prices.pricePerMillionInput.toString(),
        priceOutput: id.prices.pricePerMillionOutput.toString(),
        draining: s.draining,
        startedAt: s.startedAt,
        uptimeSeconds: (s.now - s.startedAt) / 1000,
        peers: s.peers,
        directoryNodes: s.directoryNodes,
        active: s.server.active,
        queued: s.server.queued,
        capacity: s.server.capacity,
        receiptsPending: s.provider.receiptsPending,
        batchesAnchored: s.provider.batchesAnchored,
        anchoringLagSeconds: s.oldestPendingAt === null ? 0 : Math.max(0, (s.now - s.oldestPendingAt) / 1000),
        closingChannels: s.provider.closingChannels,
        lastError: s.provider.lastError,
        latencyP50Seconds: merged ? histogramQuantile(0.5, merged) : null,
        latencyP95Seconds: merged ? histogramQuantile(0.95, merged) : null,
      }
    },
    jobs({ limit }: { limit: number }) {
      const s = source.snapshot()
      const served = source.served()
      const take = Math.max(0, Math.min(limit, MAX_RECENT))
      const async = source.jobs()
      return {
        receiptsSigned: s.provider.jobsServed,
        tokensGenerated: s.provider.tokensGenerated,
        requests: {
          served: s.server.served,
          cancelled: s.server.cancelled,
          quoted: s.server.quoted,
          refused: Object.values(s.server.refused).reduce((a, b) => a + b, 0),
        },
        active: s.server.active,
        queued: s.server.queued,
        async: async
          ? {
              claimed: async.claimed,
              accepted: async.accepted,
              waiting: async.waiting,
              done: async.done,
              expired: async.expired,
              failed: async.failed,
            }
          : null,
        recent: served
          .slice(Math.max(0, served.length - take))
          .reverse()
          .map(wire),
      }
    },
    earnings({ from, to }: { from: number; to: number }) {
      const s = source.snapshot()
      let earned = 0n
      let requests = 0
      let tokensIn = 0
      let tokensOut = 0
      for (const r of source.served()) {
        if (r.at < from || r.at >= to) continue
        earned += r.earnings
        requests++
        tokensIn += r.tokensIn
        tokensOut += r.tokensOut
      }
      return {
        from,
        to,
        earned: earned.toString(),
        requests,
        tokensIn,
        tokensOut,
        settled: s.provider.earningsSettled.toString(),
        pending: s.provider.earningsPending.toString(),
        redeemed: s.provider.earningsRedeemed.toString(),
      }
    },
    history({ from, to, bucket, offsetMs }: { from: number; to: number; bucket: 'HOUR' | 'DAY'; offsetMs: number }) {
      const size: BucketSize = bucket === 'DAY' ? 'day' : 'hour'
      const now = source.snapshot().now
      return providerBuckets(source.served(), source.uptime(), { from, to }, { size, offsetMs, now }).map((b) => ({
        ...b,
        earnings: b.earnings.toString(),
      }))
    },
  }
}

const wire = (r: ServedRecord) => ({ ...r, earnings: r.earnings.toString() })

function mergeHistograms(list: HistogramData[]): HistogramData | null {
  const [first, ...rest] = list
  if (!first) return null
  let counts = [...first.counts]
  let sum = first.sum
  let count = first.count
  for (const h of rest) {
    counts = counts.map((c, i) => c + (h.counts[i] ?? 0))
    sum += h.sum
    count += h.count
  }
  return { buckets: first.buckets, counts, sum, count }
}

/** Runs one GraphQL request against the node. */
export function runNodeQuery(
  schema: GraphQLSchema,
  source: NodeGraphSource,
  request: { query: string; variables?: Record<string, unknown> | null; operationName?: string | null },
): Promise<ExecutionResult> {
  return graphql({
    schema,
    source: request.query,
    rootValue: nodeResolvers(source),
    variableValues: request.variables ?? null,
    operationName: request.operationName ?? null,
  })
}
