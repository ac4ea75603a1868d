/**
 * The gateway's network route routes, hedges and fails over like the SDK it runs (real relay, anvil, registered
 * providers with the in-memory engine): an editor's fill-in-the-middle completion is hedged over the two nodes and
 * answered by the one that produced a token first, the other paid nothing; when every node is dead before its first
 * token the editor gets 503 naming the nodes tried.
 */
import '../lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createWalletClient, http, parseEther, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Deployment } from '../../core/deployment.ts'
import type { InferenceEngine } from '../../core/inference.ts'
import { createMemoryEngine } from '../../engine/memory/memory-engine.ts'
import {
  completionRecordingEngine,
  fundAccount,
  startPaidProvider,
  TEST_PRICES,
  type PaidProvider,
} from '../../node/testing.ts'
import { TEST_MODEL, until } from '../../p2p/testing.ts'
import { memoryStore } from '../../store/payments.ts'
import { freePort } from '../lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../lib/relay-process.ts'
import { startGateway, type Gateway } from './gateway.ts'
import type { PaidSummary } from './gateway-openai.ts'

const base = inject('deployment')
const model = TEST_MODEL.id
let dir: string
let relay: RelayProcess
const stops: (() => Promise<void>)[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-gateway-routing-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
})
afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  await rm(dir, { recursive: true, force: true })
})

/** An engine whose answers wait until `open()` (or their cancel): a node slow to its first token. */
function gated(honest: InferenceEngine): { engine: InferenceEngine; open(): void } {
  let open!: () => void
  const gate = new Promise<void>((resolve) => (open = resolve))
  const wait = (signal: AbortSignal | undefined) =>
    Promise.race([
      gate,
      new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true })),
    ])
  const engine: InferenceEngine = new Proxy(honest, {
    get(target, key) {
      if (key === 'complete')
        return async (
          request: Parameters<InferenceEngine['complete']>[0],
          options: Parameters<InferenceEngine['complete']>[1] = {},
        ) => (await wait(options.signal), target.complete(request, options))
      return Reflect.get(target, key)
    },
  })
  return { engine, open }
}

/** A gateway on the network route, paying from a freshly funded wallet. */
async function networkGateway(deployment: Deployment): Promise<Gateway> {
  const account = privateKeyToAccount(generatePrivateKey())
  await fundAccount(deployment, account.address, parseEther('100'))
  const gateway = await startGateway({
    port: 0,
    route: 'network',
    network: {
      deployment,
      wallet: createWalletClient({ account, transport: http(deployment.rpcUrl), pollingInterval: 50 }),
      models: [{ id: model, contentHash: TEST_MODEL.contentHash as Hex }],
      store: memoryStore(),
      channelDeposit: parseEther('1'),
    },
  })
  stops.push(() => gateway.close())
  return gateway
}

async function post(gateway: Gateway, body: object): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${gateway.url}/v1/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: response.status, json: (await response.json()) as Record<string, unknown> }
}

describe('gateway network route: routing, hedging, failover (integration)', () => {
  it('hedges a fill-in-the-middle completion: the node first to a token answers, the other is paid nothing; every node dead → 503 naming them', async () => {
    const deployment = { ...base, relay: relay.multiaddr }
    const slow = gated(createMemoryEngine())
    await slow.engine.load(TEST_MODEL)
    const start = async (options: Partial<Parameters<typeof startPaidProvider>[0]>): Promise<PaidProvider> => {
      const p = await startPaidProvider({ deployment, relay: relay.multiaddr, maxReceipts: 100, ...options })
      stops.push(() => p.stop())
      return p
    }
    const late = await start({
      engine: slow.engine,
      prices: {
        pricePerMillionInput: TEST_PRICES.pricePerMillionInput / 2n,
        pricePerMillionOutput: TEST_PRICES.pricePerMillionOutput / 2n,
      },
    })
    const fast = await start({})
    const gateway = await networkGateway(deployment)
    const peers = [late, fast].map((p) => p.node.peerId.toString())
    await until(
      async () => {
        const listed = (await gateway.client!.nodes({ model, timeoutMs: 0 }).catch(() => [])).map((n) => n.peerId)
        return peers.every((p) => listed.includes(p))
      },
      30_000,
      'the gateway to list both providers',
    )

    const fim = await post(gateway, { model, prompt: 'def add(a, b):\n    return ', suffix: '\n', max_tokens: 6 })
    expect(fim.status, JSON.stringify(fim.json)).toBe(200)
    const summary = fim.json['modelex'] as PaidSummary & { hedged_with?: string }
    expect(summary.peer).toBe(fast.node.peerId.toString())
    expect(summary.hedged_with).toBe(late.node.peerId.toString())
    slow.open()
    await until(() => late.service.metrics().active === 0, 10_000, 'the cancelled node to be idle')
    expect(late.service.metrics().earningsSettled).toBe(0n)
    expect(fast.service.metrics().earningsSettled).toBe(BigInt(summary.cost))

    // Both nodes gone (still in the directory): not hedged (modelex_hedge false), so one side tries both in turn.
    await late.stop()
    await fast.stop()
    const dead = await post(gateway, { model, prompt: 'x = ', suffix: '\n', max_tokens: 4, modelex_hedge: false })
    expect(dead.status).toBe(503)
    const error = dead.json['error'] as { message: string }
    expect(error.message).toMatch(/AllNodesFailedError/)
    for (const peer of peers) expect(error.message).toContain(peer)
  }, 120_000)

  it('modelex_reproducible: false reaches the node without a seed, so it may reuse its cache; by default the SDK seeds', async () => {
    const deployment = { ...base, relay: relay.multiaddr }
    const { engine, asked } = await completionRecordingEngine()
    const node = await startPaidProvider({ deployment, relay: relay.multiaddr, engine })
    stops.push(() => node.stop())
    const gateway = await networkGateway(deployment)
    const fim = { model, prompt: 'def add(a, b):\n    return ', suffix: '\n', max_tokens: 4, temperature: 0 }
    const peer = node.node.peerId.toString()
    for (const extra of [{}, { modelex_reproducible: false }]) {
      const answer = await post(gateway, { ...fim, ...extra, modelex_node: peer })
      expect(answer.status, JSON.stringify(answer.json)).toBe(200)
    }
    expect(asked).toEqual([
      { seed: expect.any(Number), reusePrefix: false },
      { seed: undefined, reusePrefix: true },
    ])
  }, 120_000)
})
