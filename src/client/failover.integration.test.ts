/**
 * Load balancing and failover of the SDK on the real relay (child process) and anvil, against registered providers
 * (the production provider service with the in-memory engine): a one-slot node kept busy answers BUSY and the request
 * moves to the next node (which the back-off then keeps using until the busy node's retry-after); a node that died
 * before the first token is passed over for the next; a hedged completion asks two nodes, keeps the first token's and
 * pays the other nothing — the nodes' books, the consumer's channels and the chain's redemptions all say so.
 *
 * The consumer's directory does not ping here (its interval is an hour): round trips stay unmeasured, so the routing
 * rule orders these equal nodes by price alone and the test knows which node is tried first. The rule itself, with
 * measured round trips, queues and reputations, is tested in `src/core/routing.test.ts` and `routing.fuzz.test.ts`.
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, createWalletClient, http, parseEther, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest'
import { getChannel } from '../chain/actions/getChannel.ts'
import { AllNodesFailedError } from '../core/errors/routing.ts'
import type { InferenceEngine } from '../core/inference.ts'
import { createMemoryEngine } from '../engine/memory/memory-engine.ts'
import {
  fundAccount,
  startPaidProvider,
  TEST_PRICES,
  type PaidProvider,
  type PaidProviderParameters,
} from '../node/testing.ts'
import { createNodeDirectory } from '../p2p/directory.ts'
import { createModelexNode } from '../p2p/node.ts'
import { registryLookup } from '../p2p/registry.ts'
import { TEST_MODEL, until } from '../p2p/testing.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { memoryStore } from '../store/payments.ts'
import { createClient, type ModelexClient } from './client.ts'

const deployment = inject('deployment')
const model = TEST_MODEL.id
const transport = () => http(deployment.rpcUrl)
const reader = createPublicClient({ transport: transport(), pollingInterval: 50 })
const CHEAP = {
  pricePerMillionInput: TEST_PRICES.pricePerMillionInput / 2n,
  pricePerMillionOutput: TEST_PRICES.pricePerMillionOutput / 2n,
}
const CHEAPEST = {
  pricePerMillionInput: TEST_PRICES.pricePerMillionInput / 4n,
  pricePerMillionOutput: TEST_PRICES.pricePerMillionOutput / 4n,
}

let dir: string
let relay: RelayProcess
const cleanups: (() => Promise<void>)[] = []

// A relay per test: nodes of an earlier test (stopped, but still in a relay's cache or a directory) stay out of the
// next test's choices.
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-failover-'))
})
beforeEach(async () => {
  relay = await startRelayProcess({
    port: await freePort(),
    keyFile: join(dir, `relay-${cleanups.length}-${Date.now()}.key`),
  })
})
afterEach(async () => {
  for (const stop of cleanups.splice(0).reverse()) await stop().catch(() => {})
  await relay?.process.stop()
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function provider(options: Omit<PaidProviderParameters, 'deployment' | 'relay'> = {}): Promise<PaidProvider> {
  const p = await startPaidProvider({ deployment, relay: relay.multiaddr, maxReceipts: 100, ...options })
  cleanups.push(() => p.stop())
  return p
}

/** A consumer with its own node and a directory that checks registrations and does not ping. */
async function consumer(): Promise<ModelexClient> {
  const account = privateKeyToAccount(generatePrivateKey())
  await fundAccount(deployment, account.address, parseEther('100'))
  const node = await createModelexNode({ relays: [relay.multiaddr], runtime: 'node' })
  await node.start()
  const directory = createNodeDirectory(node, {
    isRegistered: registryLookup(reader, deployment.contracts.NodeRegistry as Address),
    pingIntervalMs: 3_600_000,
  })
  await directory.start()
  const client = createClient({
    deployment: { ...deployment, relay: relay.multiaddr },
    wallet: createWalletClient({ account, transport: transport(), pollingInterval: 50 }),
    node,
    directory,
    models: [{ id: model, contentHash: TEST_MODEL.contentHash as Hex }],
    channelDeposit: parseEther('1'),
    store: memoryStore(),
    finishAfterIdleMs: null,
  })
  cleanups.push(async () => {
    await client.stop()
    await directory.stop()
    await node.stop()
  })
  return client
}

async function sees(client: ModelexClient, peers: PaidProvider[]): Promise<void> {
  const wanted = peers.map((p) => p.node.peerId.toString())
  await until(
    async () => {
      const listed = (await client.nodes({ model, timeoutMs: 0 }).catch(() => [])).map((n) => n.peerId)
      return wanted.every((p) => listed.includes(p))
    },
    30_000,
    'the consumer to list every provider',
  )
}

const redeemedOf = async (channelId: bigint) =>
  (await getChannel(reader, { channels: deployment.contracts.PaymentChannels as Address, channelId })).redeemed

/** An engine whose answers wait until `open()` (or their cancel): a node that is slow to its first token. */
/** An engine that waits for `open()` (or its request's cancel) before it starts; `cancelled()`: its request saw the cancel. */
function gated(honest: InferenceEngine): {
  engine: InferenceEngine
  open(): void
  cancelled(): boolean
  called(): boolean
} {
  let open!: () => void
  const gate = new Promise<void>((resolve) => (open = resolve))
  const signals: AbortSignal[] = []
  const wait = (signal: AbortSignal | undefined) => {
    if (signal) signals.push(signal)
    return Promise.race([
      gate,
      new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true })),
    ])
  }
  const engine: InferenceEngine = new Proxy(honest, {
    get(target, key) {
      if (key === 'complete')
        return async (
          request: Parameters<InferenceEngine['complete']>[0],
          options: Parameters<InferenceEngine['complete']>[1] = {},
        ) => (await wait(options.signal), target.complete(request, options))
      if (key === 'chat')
        return async (
          request: Parameters<InferenceEngine['chat']>[0],
          options: Parameters<InferenceEngine['chat']>[1] = {},
        ) => (await wait(options.signal), target.chat(request, options))
      return Reflect.get(target, key)
    },
  })
  return {
    engine,
    open,
    cancelled: () => signals.length > 0 && signals.every((signal) => signal.aborted),
    called: () => signals.length > 0,
  }
}

describe('SDK routing and failover (integration)', () => {
  it('moves to the next node when a one-slot node kept busy answers BUSY, and leaves it alone until its retry-after', async () => {
    const busy = await provider({
      prices: CHEAP,
      tokenDelayMs: 20,
      limits: { capacity: 1, maxQueue: 0, busyRetryAfterMs: 60_000 },
    })
    const other = await provider()
    const occupant = await consumer()
    const client = await consumer()
    await sees(client, [busy, other])
    // Another consumer keeps the busy node's one slot: a long answer, read until its first token.
    const hold = new AbortController()
    const long = await occupant.completions.create({
      model,
      prompt: 'hold the slot',
      max_tokens: 2_000,
      stream: true,
      signal: hold.signal,
      node: busy.node.peerId.toString(),
    })
    const iterator = long[Symbol.asyncIterator]()
    await iterator.next()
    cleanups.push(async () => hold.abort())

    const first = await client.completions.create({ model, prompt: 'route me', max_tokens: 6 })
    expect(first.modelex.peer).toBe(other.node.peerId.toString())
    expect(first.modelex.failedOver).toEqual([
      expect.objectContaining({ peerId: busy.node.peerId.toString(), code: 'BUSY' }),
    ])
    expect(busy.service.metrics().busyRefusals).toBe(1)
    // Within the retry-after, the cheaper busy node is not asked again.
    const second = await client.completions.create({ model, prompt: 'again', max_tokens: 6 })
    expect(second.modelex.peer).toBe(other.node.peerId.toString())
    expect(second.modelex.failedOver).toBeUndefined()
    expect(busy.service.metrics().busyRefusals).toBe(1)
    // What the busy node was handed stays the consumer's credit: nothing was settled with it.
    const channels = await client.channels()
    expect(channels[busy.operator.toLowerCase()]?.settled ?? 0n).toBe(0n)
    expect(channels[other.operator.toLowerCase()]?.settled).toBe(first.modelex.cost + second.modelex.cost)
  }, 120_000)

  it('passes over a node that died before its first token (still in the directory), by quote and by prepayment', async () => {
    const dead = await provider({ prices: CHEAPEST })
    const alive = await provider()
    const client = await consumer()
    await sees(client, [dead, alive])
    const deadPeer = dead.node.peerId.toString()
    await dead.stop()
    const listed = (await client.nodes({ model, timeoutMs: 0 })).map((n) => n.peerId)
    expect(listed).toContain(deadPeer)

    const quoted = await client.completions.create({ model, prompt: 'anyone there?', max_tokens: 5 })
    expect(quoted.modelex.peer).toBe(alive.node.peerId.toString())
    expect(quoted.modelex.failedOver).toEqual([
      expect.objectContaining({ peerId: deadPeer, error: 'InferStreamError', code: 'dial' }),
    ])
    // Backed off: the next request goes straight to the live node; so does a prepaid one.
    const prepaid = await client.completions.create({ model, prompt: 'and now?', max_tokens: 5, prepay: true })
    expect(prepaid.modelex.peer).toBe(alive.node.peerId.toString())
    expect(prepaid.modelex.failedOver).toBeUndefined()
  }, 120_000)

  it('fails with a typed error naming every node tried when all are dead before their first token', async () => {
    const a = await provider()
    const b = await provider({ prices: CHEAP })
    const client = await consumer()
    await sees(client, [a, b])
    await a.stop()
    await b.stop()
    const error = await client.completions
      .create({ model, prompt: 'nobody', max_tokens: 5, prepay: true })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AllNodesFailedError)
    expect((error as AllNodesFailedError).attempts.map((t) => t.peerId)).toEqual([
      b.node.peerId.toString(),
      a.node.peerId.toString(),
    ])
    // Prepaid, a node is reached before a channel is opened or a voucher signed: neither got one.
    expect(await client.channels()).toEqual({})
  }, 120_000)

  it('a hedged completion keeps the first node to produce a token and pays the other nothing: books, channels and redemptions agree', async () => {
    const slow = gated(createMemoryEngine())
    await slow.engine.load(TEST_MODEL)
    // The slow node is the cheaper one, so it is the first choice; the hedge gets the answer from the other.
    const late = await provider({ prices: CHEAP, engine: slow.engine })
    const fast = await provider()
    const client = await consumer()
    await sees(client, [late, fast])

    let streamed = ''
    const stream = await client.completions.create({
      model,
      prompt: 'def add(a, b):\n    return ',
      suffix: '\n',
      max_tokens: 12,
      stream: true,
      hedge: true,
    })
    for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? ''
    const result = await stream.result
    expect(result.peer).toBe(fast.node.peerId.toString())
    expect(result.hedge?.peer).toBe(late.node.peerId.toString())
    expect(result.text).toBe(streamed)
    // Both sides have settled. The loser either had its request cancelled before it went out (the winner's token
    // came while the loser's side was still quoting or opening its channel: on a busy machine it can) and never ran
    // it, or it is seeing the cancel now (the frame can arrive after the winner's answer). The gate opens only once
    // the loser is idle with nothing left to run; a node that streams on regardless is the adversarial suite's case.
    await until(
      () =>
        late.service.metrics().active === 0 &&
        (slow.cancelled() || late.service.server.stats().cancelled > 0 || !slow.called()),
      30_000,
      'the hedge loser to see the cancel or never get the request',
    )
    slow.open()
    await until(
      () => late.service.metrics().active === 0 && fast.service.metrics().active === 0,
      10_000,
      'both nodes to be idle',
    )

    // The nodes' books: the winner settled exactly the receipt, the cancelled node nothing.
    expect(fast.service.metrics().earningsSettled).toBe(result.cost)
    expect(late.service.metrics().earningsSettled).toBe(0n)
    expect(late.service.metrics().tokensGenerated).toBe(0)
    const channels = await client.channels()
    const lateChannel = channels[late.operator.toLowerCase()]
    const fastChannel = channels[fast.operator.toLowerCase()]!
    expect(fastChannel.settled).toBe(result.cost)
    expect(lateChannel?.settled ?? 0n).toBe(0n)
    expect(lateChannel?.interrupted ?? []).toEqual([])

    // Done: final vouchers for what was settled; each node redeems, and the chain pays exactly the receipts.
    await client.stop()
    await fast.service.redeemNow()
    await late.service.redeemNow()
    expect(await redeemedOf(fastChannel.channelId)).toBe(result.cost)
    if (lateChannel) expect(await redeemedOf(lateChannel.channelId)).toBe(0n)
  }, 120_000)
})
