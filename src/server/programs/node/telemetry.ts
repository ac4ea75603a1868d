/**
 * What the server node measures and how it shows it: the engine wrapped so each inference is timed (latency, time
 * to first token, decode speed), each signed receipt counted and kept as a history record (`src/core/history.ts`),
 * and a snapshot of the node's state turned into Prometheus metric families. The figures come from three places:
 * the engine (every inference, oracle work included), the receipts (what was paid for: requests, tokens billed,
 * earnings) and the provider service and infer server (queue, settlement, refusals).
 */
import { formatEther } from 'viem'
import type { ServedKind, ServedRecord } from '../../../core/history.ts'
import type {
  ChatCompletionRequest,
  CompletionRequest,
  GenerateOptions,
  InferenceEngine,
  InferenceResult,
} from '../../../core/inference.ts'
import { Histogram, LATENCY_BUCKETS_S, TOKENS_PER_SECOND_BUCKETS, type MetricFamily } from '../../../core/metrics.ts'
import type { SignedReceipt } from '../../../core/payment.ts'
import type { InferServerStats } from '../../../p2p/infer-server.ts'
import type { ProviderMetrics } from '../../../node/provider.ts'

type Run = { kind: 'chat' | 'completion'; wallMs: number }

/** Everything a scrape or a status query reads, taken at one moment. */
export type NodeSnapshot = {
  now: number
  startedAt: number
  draining: boolean
  provider: ProviderMetrics
  server: InferServerStats
  peers: number
  directoryNodes: number
  /** When the oldest receipt not yet anchored was signed, or null. */
  oldestPendingAt: number | null
}

export class NodeTelemetry {
  readonly latency = { chat: new Histogram(LATENCY_BUCKETS_S), completion: new Histogram(LATENCY_BUCKETS_S) }
  readonly firstToken = new Histogram(LATENCY_BUCKETS_S)
  readonly decodeSpeed = new Histogram(TOKENS_PER_SECOND_BUCKETS)
  readonly inferences = { stop: 0, length: 0, abort: 0, error: 0 }
  /** Paid since this process started: receipts, tokens billed, AI wei. */
  readonly paid = { receipts: 0, tokensIn: 0, tokensOut: 0, earnings: 0n }
  /** Runs by their result's `timings` object, which a cancel's settlement keeps (it copies the result, not the timings). */
  readonly #runs = new WeakMap<object, Run>()
  readonly #now: () => number

  constructor(now: () => number = () => performance.now()) {
    this.#now = now
  }

  /** The engine, with every chat and completion timed. */
  instrument(engine: InferenceEngine): InferenceEngine {
    const timed = async (
      kind: Run['kind'],
      run: (options: GenerateOptions) => Promise<InferenceResult>,
      options: GenerateOptions = {},
    ) => {
      const started = this.#now()
      let first: number | null = null
      try {
        const result = await run({
          ...options,
          onDelta: (delta) => {
            first ??= this.#now()
            options.onDelta?.(delta)
          },
        })
        const wallMs = this.#now() - started
        this.inferences[result.finish_reason]++
        this.latency[kind].observe(wallMs / 1000)
        if (first !== null) this.firstToken.observe((first - started) / 1000)
        if (result.timings.decode_ms > 0 && result.usage.completion_tokens > 0)
          this.decodeSpeed.observe((result.usage.completion_tokens * 1000) / result.timings.decode_ms)
        this.#runs.set(result.timings, { kind, wallMs })
        return result
      } catch (error) {
        this.inferences.error++
        throw error
      }
    }
    return {
      get kind() {
        return engine.kind
      },
      load: (model, options) => engine.load(model, options),
      current: () => engine.current(),
      chat: (request: ChatCompletionRequest, options?: GenerateOptions) =>
        timed('chat', (o) => engine.chat(request, o), options),
      complete: (request: CompletionRequest, options?: GenerateOptions) =>
        timed('completion', (o) => engine.complete(request, o), options),
      countTokens: (text) => engine.countTokens(text),
      benchmark: (options) => engine.benchmark(options),
      unload: () => engine.unload(),
    }
  }

  /** A receipt was signed for `result`: counts it and returns its history record. */
  receipt(signed: SignedReceipt, result: InferenceResult, model: string, at: number): ServedRecord {
    const run = this.#runs.get(result.timings)
    const { receipt } = signed
    this.paid.receipts++
    this.paid.tokensIn += Number(receipt.promptTokens)
    this.paid.tokensOut += Number(receipt.completionTokens)
    this.paid.earnings += receipt.cost
    const kind: ServedKind = run?.kind ?? 'job'
    return {
      at,
      model,
      kind,
      tokensIn: Number(receipt.promptTokens),
      tokensOut: Number(receipt.completionTokens),
      earnings: receipt.cost,
      latencyMs: run ? Math.round(run.wallMs) : null,
    }
  }

  families(s: NodeSnapshot): MetricFamily[] {
    const ai = (wei: bigint) => Number(formatEther(wei))
    const refused = Object.entries(s.server.refused).map(([code, value]) => ({
      labels: { outcome: 'refused', code },
      value,
    }))
    return [
      {
        name: 'modelex_node_up',
        help: 'Whether the node serves (0 while it drains).',
        type: 'gauge',
        samples: [{ value: s.draining ? 0 : 1 }],
      },
      {
        name: 'modelex_node_start_time_seconds',
        help: 'When this process started, Unix seconds.',
        type: 'gauge',
        samples: [{ value: Math.floor(s.startedAt / 1000) }],
      },
      {
        name: 'modelex_node_uptime_seconds',
        help: 'Seconds since this process started.',
        type: 'gauge',
        samples: [{ value: Math.max(0, (s.now - s.startedAt) / 1000) }],
      },
      {
        name: 'modelex_node_requests_total',
        help: 'Requests over the infer protocol by outcome (served, cancelled, quoted, refused with its code).',
        type: 'counter',
        samples: [
          { labels: { outcome: 'served', code: '' }, value: s.server.served },
          { labels: { outcome: 'cancelled', code: '' }, value: s.server.cancelled },
          { labels: { outcome: 'quoted', code: '' }, value: s.server.quoted },
          ...refused,
        ],
      },
      {
        name: 'modelex_node_paid_requests_total',
        help: 'Receipts signed since this process started (live requests and jobs).',
        type: 'counter',
        samples: [{ value: this.paid.receipts }],
      },
      {
        name: 'modelex_node_receipts_signed',
        help: 'Receipts signed over the life of the node (its books).',
        type: 'gauge',
        samples: [{ value: s.provider.jobsServed }],
      },
      {
        name: 'modelex_node_tokens_in_total',
        help: 'Input tokens billed since this process started.',
        type: 'counter',
        samples: [{ value: this.paid.tokensIn }],
      },
      {
        name: 'modelex_node_tokens_out_total',
        help: 'Output tokens billed since this process started.',
        type: 'counter',
        samples: [{ value: this.paid.tokensOut }],
      },
      {
        name: 'modelex_node_inferences_total',
        help: 'Engine runs by how they ended (oracle work included).',
        type: 'counter',
        samples: Object.entries(this.inferences).map(([finish, value]) => ({ labels: { finish }, value })),
      },
      {
        name: 'modelex_node_active_requests',
        help: 'Requests the engine is answering.',
        type: 'gauge',
        samples: [{ value: s.server.active }],
      },
      {
        name: 'modelex_node_queue_depth',
        help: 'Requests waiting for a free slot.',
        type: 'gauge',
        samples: [{ value: s.server.queued }],
      },
      {
        name: 'modelex_node_capacity',
        help: 'Requests served at once.',
        type: 'gauge',
        samples: [{ value: s.server.capacity }],
      },
      {
        name: 'modelex_node_request_duration_seconds',
        help: 'Engine time per request, from its start to its last token.',
        type: 'histogram',
        series: (['chat', 'completion'] as const).map((kind) => ({
          labels: { kind },
          histogram: this.latency[kind].snapshot(),
        })),
      },
      {
        name: 'modelex_node_time_to_first_token_seconds',
        help: 'From the start of a request to its first token.',
        type: 'histogram',
        series: [{ histogram: this.firstToken.snapshot() }],
      },
      {
        name: 'modelex_node_decode_tokens_per_second',
        help: 'Decode speed per request.',
        type: 'histogram',
        series: [{ histogram: this.decodeSpeed.snapshot() }],
      },
      {
        name: 'modelex_node_earned_ai_total',
        help: 'AI billed by receipts since this process started.',
        type: 'counter',
        samples: [{ value: ai(this.paid.earnings) }],
      },
      {
        name: 'modelex_node_earnings_ai',
        help: 'Earnings in AI: settled by receipts, pending (what held vouchers would pay now), redeemed on-chain.',
        type: 'gauge',
        samples: [
          { labels: { state: 'settled' }, value: ai(s.provider.earningsSettled) },
          { labels: { state: 'pending' }, value: ai(s.provider.earningsPending) },
          { labels: { state: 'redeemed' }, value: ai(s.provider.earningsRedeemed) },
        ],
      },
      {
        name: 'modelex_node_receipts_pending',
        help: 'Signed receipts not anchored yet.',
        type: 'gauge',
        samples: [{ value: s.provider.receiptsPending }],
      },
      {
        name: 'modelex_node_batches_anchored',
        help: 'Receipt batches anchored on-chain.',
        type: 'gauge',
        samples: [{ value: s.provider.batchesAnchored }],
      },
      {
        name: 'modelex_node_anchoring_lag_seconds',
        help: 'Age of the oldest receipt not anchored yet (0 when all are).',
        type: 'gauge',
        samples: [{ value: s.oldestPendingAt === null ? 0 : Math.max(0, (s.now - s.oldestPendingAt) / 1000) }],
      },
      {
        name: 'modelex_node_closing_channels',
        help: 'Channels in their challenge window.',
        type: 'gauge',
        samples: [{ value: s.provider.closingChannels }],
      },
      {
        name: 'modelex_node_settlement_failing',
        help: 'Whether the last anchoring or redemption attempt failed (it retries).',
        type: 'gauge',
        samples: [{ value: s.provider.lastError === null ? 0 : 1 }],
      },
      { name: 'modelex_node_peers', help: 'Peers connected.', type: 'gauge', samples: [{ value: s.peers }] },
      {
        name: 'modelex_node_directory_nodes',
        help: 'Nodes this node sees announcing.',
        type: 'gauge',
        samples: [{ value: s.directoryNodes }],
      },
    ]
  }
}
