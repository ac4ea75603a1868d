import { describe, expect, it } from 'vitest'
import { UPTIME_MAX_GAP_MS, type ServedRecord } from '../../../core/history.ts'
import type { InferenceEngine } from '../../../core/inference.ts'
import { formatPrometheus } from '../../../core/metrics.ts'
import { createMemoryEngine } from '../../../engine/memory/memory-engine.ts'
import { TEST_MODEL } from '../../../p2p/testing.ts'
import { nodeSchema, runNodeQuery, type NodeGraphSource } from './graphql.ts'
import { NodeTelemetry, type NodeSnapshot } from './telemetry.ts'

const HOUR = 3_600_000
const base = Date.UTC(2026, 0, 1)
const served: ServedRecord[] = [
  { at: base + 10, model: 'm', kind: 'chat', tokensIn: 5, tokensOut: 10, earnings: 7n, latencyMs: 100 },
  {
    at: base + HOUR + 10,
    model: 'm',
    kind: 'completion',
    tokensIn: 3,
    tokensOut: 4,
    earnings: 2n ** 70n,
    latencyMs: 300,
  },
  { at: base + 2 * HOUR, model: 'm', kind: 'job', tokensIn: 1, tokensOut: 1, earnings: 1n, latencyMs: null },
]

function snapshot(telemetry: NodeTelemetry): NodeSnapshot {
  void telemetry
  return {
    now: base + 3 * HOUR,
    startedAt: base,
    draining: false,
    provider: {
      jobsServed: 3,
      tokensGenerated: 15,
      tokensPerSecond: 0,
      earningsRedeemed: 0n,
      earningsPending: 5n,
      earningsSettled: 2n ** 70n + 8n,
      receiptsPending: 1,
      batchesAnchored: 2,
      closingChannels: 0,
      active: 0,
      queued: 0,
      busyRefusals: 0,
      paymentRefusals: 1,
      lastError: null,
    },
    server: {
      capacity: 2,
      active: 1,
      queued: 1,
      served: 2,
      quoted: 4,
      cancelled: 0,
      refused: { BAD_REQUEST: 0, UNSUPPORTED_MODEL: 0, BUSY: 1, PAYMENT_REQUIRED: 1, TIMEOUT: 0, INTERNAL: 0 },
    },
    peers: 3,
    directoryNodes: 1,
    oldestPendingAt: base + 2 * HOUR,
  }
}

function source(telemetry: NodeTelemetry): NodeGraphSource {
  return {
    snapshot: () => snapshot(telemetry),
    identity: async () => ({
      peerId: 'peer',
      operator: '0xop',
      signer: '0xsig',
      chainId: 31337,
      model: { id: 'm', contentHash: '0x11', engine: 'memory', contextLength: 8 },
      prices: { pricePerMillionInput: 1n, pricePerMillionOutput: 2n },
    }),
    latency: () => [telemetry.latency.chat.snapshot(), telemetry.latency.completion.snapshot()],
    served: () => served,
    uptime: () => [{ at: base, online: true }],
    jobs: () => null,
  }
}

describe('the server node GraphQL endpoint', () => {
  const schema = nodeSchema()

  it('answers status, jobs, earnings over a range and history buckets, amounts exact in wei', async () => {
    const telemetry = new NodeTelemetry()
    telemetry.latency.chat.observe(0.2)
    const result = await runNodeQuery(schema, source(telemetry), {
      query: `query ($from: Float!, $to: Float!) {
        status { peerId queued active capacity anchoringLagSeconds latencyP50Seconds priceOutput uptimeSeconds }
        jobs(limit: 2) { receiptsSigned requests { served refused quoted } async { done } recent { kind earnings } }
        earnings(from: $from, to: $to) { earned requests tokensIn settled }
        history(from: $from, to: $to, bucket: HOUR) { start requests jobs earnings latencyP50 uptime }
      }`,
      variables: { from: base, to: base + 3 * HOUR },
    })
    expect(result.errors).toBeUndefined()
    const data = result.data as Record<string, Record<string, unknown> & Record<string, unknown>[]>
    expect(data['status']).toMatchObject({
      peerId: 'peer',
      queued: 1,
      active: 1,
      capacity: 2,
      anchoringLagSeconds: 3600,
      priceOutput: '2',
      uptimeSeconds: 3 * 3600,
    })
    expect(data['status']?.['latencyP50Seconds']).toBeGreaterThan(0.1)
    expect(data['jobs']).toEqual({
      receiptsSigned: 3,
      requests: { served: 2, refused: 2, quoted: 4 },
      async: null,
      recent: [
        { kind: 'job', earnings: '1' },
        { kind: 'completion', earnings: (2n ** 70n).toString() },
      ],
    })
    expect(data['earnings']).toEqual({
      earned: (2n ** 70n + 8n).toString(),
      requests: 3,
      tokensIn: 9,
      settled: (2n ** 70n + 8n).toString(),
    })
    expect(data['history']).toEqual([
      // One online sample at the start counts for UPTIME_MAX_GAP_MS of the first hour.
      { start: base, requests: 1, jobs: 0, earnings: '7', latencyP50: 100, uptime: UPTIME_MAX_GAP_MS / HOUR },
      { start: base + HOUR, requests: 1, jobs: 0, earnings: (2n ** 70n).toString(), latencyP50: 300, uptime: 0 },
      { start: base + 2 * HOUR, requests: 0, jobs: 1, earnings: '1', latencyP50: null, uptime: 0 },
    ])
  })

  it('a bad range or query is a GraphQL error, not a throw', async () => {
    const telemetry = new NodeTelemetry()
    const bad = await runNodeQuery(schema, source(telemetry), { query: '{ history(from: 10, to: 5) { start } }' })
    expect(bad.errors?.[0]?.message).toMatch(/time range/)
    const unknown = await runNodeQuery(schema, source(telemetry), { query: '{ nope }' })
    expect(unknown.errors?.[0]?.message).toMatch(/nope/)
  })
})

describe('server node telemetry', () => {
  it('times every inference, counts receipts, and writes families Prometheus accepts', async () => {
    let clock = 0
    const telemetry = new NodeTelemetry(() => (clock += 10))
    const engine: InferenceEngine = telemetry.instrument(createMemoryEngine())
    await engine.load(TEST_MODEL)
    const result = await engine.chat({
      model: TEST_MODEL.id,
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 3,
    })
    expect(telemetry.latency.chat.snapshot().count).toBe(1)
    expect(telemetry.firstToken.snapshot().count).toBe(1)
    const receipt = { promptTokens: 4n, completionTokens: 3n, cost: 99n } as never
    const record = telemetry.receipt({ receipt } as never, { ...result, text: 'cut copy' }, TEST_MODEL.id, 123)
    // A cancel's settlement copies the result but keeps its timings: the run is still found.
    expect(record).toMatchObject({ at: 123, kind: 'chat', tokensIn: 4, tokensOut: 3, earnings: 99n })
    expect(record.latencyMs).toBeGreaterThan(0)
    const text = formatPrometheus(telemetry.families(snapshot(telemetry)))
    expect(text).toContain('modelex_node_paid_requests_total 1\n')
    expect(text).toContain('modelex_node_tokens_out_total 3\n')
    expect(text).toContain('modelex_node_queue_depth 1\n')
    expect(text).toContain('modelex_node_requests_total{outcome="refused",code="BUSY"} 1\n')
    expect(text).toContain('modelex_node_anchoring_lag_seconds 3600\n')
    expect(text).toContain('modelex_node_request_duration_seconds_count{kind="chat"} 1\n')
  })
})
