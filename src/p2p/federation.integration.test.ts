/**
 * Federated relays end to end: three real relays (child processes, stopped by PID) that know each other, reading the
 * registered models from the integration suite's anvil, and real in-process nodes. An announcement published on one
 * relay reaches consumers on the others (gossip and directory query); peers spread over the relays by peer id; a
 * relay killed mid-run (SIGKILL to its PID) sends its peers to another relay, where a registered provider keeps
 * serving paid requests; the relays refuse topics of unregistered models until one is registered, cut off a peer
 * that floods subscriptions, and ignore announcements beyond a peer's rate.
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, createWalletClient, http, parseEther, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount, privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { createClient } from '../client/index.ts'
import { announcementTopic, encodeAnnouncement, signAnnouncement } from '../core/announcement.ts'
import { rankRelays } from '../core/relay-choice.ts'
import { DEVNET_PARAMETERS } from '../chain/constants.ts'
import { fundAccount, startPaidProvider, type PaidProvider } from '../node/testing.ts'
import { registerProvider } from '../node/register.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayFederation, type RelayFederation, type RelayProcess } from '../server/lib/relay-process.ts'
import { memoryStore } from '../store/payments.ts'
import { relayIdOf } from './node.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { startConsumer, TEST_MODEL, until, type Consumer } from './testing.ts'

const deployment = inject('deployment')
const transport = http(deployment.rpcUrl)
const registry = deployment.contracts.NodeRegistry as Address

let dir: string
let federation: RelayFederation
const stops: (() => Promise<void>)[] = []

type Metrics = {
  topics: number
  refused: { connections: number; floodingPeers: number; announcements: number; topics: Record<string, number> }
  federation: { relays: number; connected: number }
}
const metricsOf = async (relay: RelayProcess) => (await relay.metrics()) as unknown as Metrics
const relayOf = (address: string) => federation.relays[federation.multiaddrs.indexOf(address)]!
const randomHash = () => generatePrivateKey() as Hex
const killed = new Set<RelayProcess>()
/** A relay still running, and its multiaddr. */
const liveRelay = () => {
  const relay = federation.relays.find((r) => !killed.has(r))!
  return { relay, address: federation.multiaddrs[federation.relays.indexOf(relay)]! }
}

async function consumer(
  relays: readonly string[],
  options: Omit<Parameters<typeof startConsumer>[0], 'relay' | 'node'> = {},
): Promise<Consumer> {
  const c = await startConsumer({ relay: relays[0]!, node: { relays }, ...options })
  stops.push(() => c.stop())
  await until(() => c.node.state === 'connected', 15_000, 'the consumer to reach a relay')
  return c
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-federation-'))
  const ports = [await freePort(), await freePort(), await freePort()]
  federation = await startRelayFederation({
    ports,
    keyFiles: ports.map((_, i) => join(dir, `relay-${i}.key`)),
    registry: { rpcUrl: deployment.rpcUrl, address: registry },
  })
  // Each relay dials the others as gossipsub direct peers.
  for (const relay of federation.relays)
    await until(async () => (await metricsOf(relay)).federation?.connected === 2, 20_000, 'the relays to mesh')
}, 90_000)

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
  await federation?.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('federated relays', () => {
  let provider: PaidProvider
  let home: string

  beforeAll(async () => {
    // A registered provider that knows all three relays: it holds one, the first of its own ranking.
    provider = await startPaidProvider({ deployment, relay: federation.multiaddrs, maxReceipts: 100 })
    stops.push(() => provider.stop())
    const connected = provider.node.connectedRelays().map(String)
    expect(connected).toHaveLength(1)
    home = rankRelays(provider.node.peerId.toString(), federation.multiaddrs, (a) => relayIdOf(multiaddr(a)))[0]!
    expect(connected[0]).toBe(home)
  }, 60_000)

  test('an announcement published on one relay reaches consumers on the others, by gossip and by directory query', async () => {
    const others = federation.multiaddrs.filter((a) => a !== home)
    const byGossip = await consumer([others[0]!], { directory: { mode: 'gossip' } })
    const byQuery = await consumer([others[1]!])
    expect(byGossip.node.connectedRelays().map(String)).toEqual([others[0]])
    expect(byQuery.node.connectedRelays().map(String)).toEqual([others[1]])
    const peer = provider.node.peerId.toString()
    await byGossip.directory.waitFor((e) => e.peerId === peer, 20_000)
    await byQuery.directory.waitFor((e) => e.peerId === peer, 20_000)
  })

  test('peers spread over the relays by their peer id instead of all taking the first', async () => {
    const all = await Promise.all(
      Array.from({ length: 9 }, () => consumer(federation.multiaddrs, { directory: { models: [] } })),
    )
    const used = new Set(all.map((c) => c.node.connectedRelays().map(String)[0]))
    // Nine peers on three relays all on one relay: (1/3)^8 by chance; each is exactly where its ranking says.
    expect(used.size).toBeGreaterThan(1)
    for (const c of all) expect(c.node.connectedRelays().map(String)).toEqual([c.node.relays[0]!.toString()])
    await Promise.all(all.map((c) => c.stop()))
  })

  test('a relay killed mid-run: its peers move to another relay, re-reserve, and the provider keeps serving paid requests', async () => {
    const account = privateKeyToAccount(generatePrivateKey())
    await fundAccount(deployment, account.address, parseEther('100'))
    const wallet = createWalletClient({ account, transport, pollingInterval: 50 })
    const client = createClient({
      deployment,
      wallet: wallet as never,
      store: memoryStore(),
      relay: federation.multiaddrs,
      models: [{ id: TEST_MODEL.id, contentHash: TEST_MODEL.contentHash as Hex }],
      channelDeposit: parseEther('1'),
    })
    stops.push(() => client.stop())
    const node = provider.node.peerId.toString()
    const ask = (content: string) =>
      client.chat.completions.create({
        model: TEST_MODEL.id,
        messages: [{ role: 'user', content }],
        max_tokens: 6,
        node,
      })
    const before = await ask('before the relay dies')
    expect(before.modelex.receipt.receipt.completionTokens).toBe(6n)

    const doomed = relayOf(home)
    killed.add(doomed)
    process.kill(doomed.process.pid, 'SIGKILL')
    await doomed.process.exited
    await until(
      () => provider.node.connectedRelays().length === 1 && provider.node.connectedRelays()[0]!.toString() !== home,
      15_000,
      'the provider to move to another relay',
    )
    const moved = provider.node.connectedRelays()[0]!.toString()
    // Its next relay by its own ranking, which is also where consumers look for it second.
    expect(moved).toBe(rankRelays(node, federation.multiaddrs, (a) => relayIdOf(multiaddr(a)))[1])
    await until(
      () =>
        provider.node.libp2p
          .getMultiaddrs()
          .some((m) => m.toString().startsWith(moved) && m.toString().includes('/p2p-circuit')),
      15_000,
      'a reservation on the new relay',
    )

    const after = await ask('after the relay died')
    expect(after.modelex.receipt.receipt.completionTokens).toBe(6n)
    expect(after.modelex.receipt.receipt.cumulativePaid).toBe(before.modelex.cost + after.modelex.cost)
  }, 90_000)
})

describe('relay bounds', () => {
  test('a topic of an unregistered model is refused until a node registers the model on-chain', async () => {
    const { relay, address } = liveRelay()
    const hash = randomHash()
    const topic = announcementTopic(hash)
    const asker = await consumer([address], { directory: { mode: 'gossip', models: [hash] } })
    await until(
      async () => ((await metricsOf(relay)).refused.topics['unregistered-model'] ?? 0) >= 1,
      15_000,
      'the relay to refuse the topic',
    )
    expect(asker.node.libp2p.services.pubsub.getSubscribers(topic).map(String)).not.toContain(
      relayIdOf(multiaddr(address)),
    )

    // A node declares the model in the NodeRegistry: the relay joins the topic at its next look at the registry.
    const operator = privateKeyToAccount(generatePrivateKey())
    const signer = privateKeyToAccount(generatePrivateKey())
    await fundAccount(deployment, operator.address, DEVNET_PARAMETERS.minStake)
    await registerProvider(
      createWalletClient({ account: operator, transport, pollingInterval: 50 }),
      createPublicClient({ transport, pollingInterval: 50 }),
      {
        deployment,
        signer,
        peerId: asker.node.peerId.toString(),
        models: [hash],
        prices: { pricePerMillionInput: 1n, pricePerMillionOutput: 1n },
        stake: DEVNET_PARAMETERS.minStake,
      },
    )
    await until(
      () =>
        asker.node.libp2p.services.pubsub
          .getSubscribers(topic)
          .map(String)
          .includes(relayIdOf(multiaddr(address))),
      15_000,
      'the relay to join the registered model',
    )
  }, 60_000)

  test('a peer flooding subscriptions is cut off and refused for a while; announcements beyond a peer rate are ignored', async () => {
    const { relay, address } = liveRelay()
    const before = await metricsOf(relay)

    // Announcements: one peer sends 150 valid ones at once; the relay takes its burst and ignores the rest.
    const loud = await consumer([address], { directory: { models: [] } })
    const pubsub = loud.node.libp2p.services.pubsub
    const topic = announcementTopic(TEST_MODEL.contentHash)
    await until(() => pubsub.getSubscribers(topic).length > 0, 15_000, 'the relay on the test model topic')
    const key = generatePrivateKey()
    const now = Date.now()
    const signed = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        signAnnouncement(
          {
            version: 1,
            peerId: loud.node.peerId.toString(),
            signer: privateKeyToAddress(key),
            operator: privateKeyToAddress(key),
            chainId: 31337,
            models: [
              {
                id: TEST_MODEL.id,
                contentHash: TEST_MODEL.contentHash as Hex,
                engine: 'memory',
                contextLength: 1,
                tokensPerSecond: 1,
              },
            ],
            pricePerMillionInput: '0',
            pricePerMillionOutput: '0',
            capacity: 1,
            queueDepth: 0,
            sequence: now + i,
            timestamp: now,
          },
          key,
        ),
      ),
    )
    const started = performance.now()
    const published = await Promise.allSettled(signed.map((a) => pubsub.publish(topic, encodeAnnouncement(a))))
    expect(published.filter((p) => p.status === 'fulfilled')).toHaveLength(150)
    // What passes is the burst (64) plus the refill (4/s) over the time the relay took to receive them all.
    const ignored = async () => (await metricsOf(relay)).refused.announcements - before.refused.announcements
    let passedAtMost = 150
    await until(
      async () => {
        passedAtMost = 64 + Math.ceil((4 * (performance.now() - started)) / 1000) + 1
        return 150 - (await ignored()) <= passedAtMost
      },
      15_000,
      'the relay to ignore the excess',
    ).catch(async (error: Error) => {
      throw new Error(`${error.message} (ignored ${await ignored()}, at most ${passedAtMost} may pass)`)
    })
    expect(await ignored()).toBeGreaterThan(0)

    // Subscriptions: 300 topics, more than the 256 any honest peer holds.
    const flood = await consumer([address], { directory: { models: [] } })
    for (let i = 0; i < 300; i++) flood.node.libp2p.services.pubsub.subscribe(announcementTopic(randomHash()))
    await until(
      async () => (await metricsOf(relay)).refused.floodingPeers > before.refused.floodingPeers,
      15_000,
      'the relay to cut the flooder off',
    )
    await until(() => flood.node.connectedRelays().length === 0, 15_000, 'the flooder to lose its relay')
    // It redials and is refused (banned), so it cannot come back at once.
    await until(
      async () => (await metricsOf(relay)).refused.connections > before.refused.connections,
      15_000,
      'the relay to refuse the flooder again',
    )
    expect((await metricsOf(relay)).topics).toBeLessThanOrEqual(8)
  }, 60_000)
})
