/**
 * The directory query protocol end to end: a real relay (child process, stopped by PID) holding the signed
 * announcements of many providers, and real consumers. A joining consumer lists the best N; a provider's price
 * change reaches it as a delta of one entry; a relay that hands out an altered entry is caught, and the consumer
 * keeps the honest relay's view. The dishonest relay is the production directory service on a plain libp2p node
 * whose store was fed an altered entry (its validation bypassed): the one adversary here.
 */
import '../server/lib/node-shims.ts'
import { noise } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { encodeAnnouncement, signAnnouncement, type Announcement } from '../core/announcement.ts'
import type { DirectoryViewError } from '../core/errors/p2p.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { createNodeDirectory } from './directory.ts'
import { createEntryVerifier, publishToRelay, serveDirectory, watchRelayDirectory } from './directory-service.ts'
import { createModelexNode, type ModelexNode } from './node.ts'
import { TEST_MODEL, until } from './testing.ts'
import { modelexWebSockets, modelexYamux } from './transport-tuning.ts'

const MODEL = TEST_MODEL.contentHash as Hex
const PROVIDERS = 120
const N = 10

type Simulated = { peerId: string; key: Hex; sequence: number; price: number }

async function simulatedProvider(price: number): Promise<Simulated> {
  const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  return { peerId, key: generatePrivateKey(), sequence: 1, price }
}

function announce(p: Simulated): Promise<Announcement> {
  const signer = privateKeyToAddress(p.key)
  return signAnnouncement(
    {
      version: 1,
      peerId: p.peerId,
      signer,
      operator: signer,
      chainId: 31337,
      models: [{ id: TEST_MODEL.id, contentHash: MODEL, engine: 'memory', contextLength: 8192, tokensPerSecond: 100 }],
      pricePerMillionInput: String(p.price),
      pricePerMillionOutput: String(p.price),
      capacity: 2,
      queueDepth: 0,
      sequence: p.sequence,
      timestamp: Date.now(),
    },
    p.key,
  )
}

let dir: string
let relay: RelayProcess
let publisher: ModelexNode
let providers: Simulated[]
const stops: (() => Promise<void>)[] = []

async function publish(list: readonly Simulated[]): Promise<void> {
  const connection = publisher.libp2p
    .getConnections()
    .find((c) => c.remotePeer.toString() === relay.peerId && c.status === 'open')
  if (!connection) throw new Error('the publisher is not connected to the relay')
  const bytes = await Promise.all(list.map(async (p) => encodeAnnouncement(await announce(p))))
  await publishToRelay(connection.newStream.bind(connection), bytes)
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-directory-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  publisher = await createModelexNode({ relays: [relay.multiaddr], runtime: 'node' })
  await publisher.start()
  stops.push(() => publisher.stop())
  await until(() => publisher.state === 'connected', 15_000, 'the publisher to reach the relay')
  // Prices 1000, 1001, … in a shuffled order, so what the relay serves is its ranking, not the arrival order.
  providers = await Promise.all(
    Array.from({ length: PROVIDERS }, (_, i) => simulatedProvider(1000 + ((i * 37) % PROVIDERS))),
  )
  await publish(providers)
  await until(
    async () => ((await relay.metrics())['directory'] as { held?: number } | undefined)?.held === PROVIDERS,
    30_000,
    'the relay to hold every announcement',
  )
}, 90_000)

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  await rm(dir, { recursive: true, force: true })
})

const cheapest = (n: number) =>
  [...providers].sort((a, b) => a.price - b.price || (a.peerId < b.peerId ? -1 : 1)).slice(0, n)

describe('directory query protocol', () => {
  test('a joining consumer lists the best N of many providers, then gets a price change as a delta of one entry', async () => {
    const node = await createModelexNode({ relays: [relay.multiaddr], runtime: 'node' })
    await node.start()
    stops.push(() => node.stop())
    let verified = 0
    const directory = createNodeDirectory(node, { models: [MODEL], limit: N, pingIntervalMs: 3_600_000 })
    await directory.start()
    stops.push(() => directory.stop())
    await until(() => directory.list().length === N, 15_000, 'the best N to be listed')
    expect(directory.list().map((e) => e.peerId)).toEqual(cheapest(N).map((p) => p.peerId))

    // A second watcher on the same relay, counting the entries it has to verify.
    const connection = node.libp2p
      .getConnections()
      .find((c) => c.remotePeer.toString() === relay.peerId && c.status === 'open')
    if (!connection) throw new Error('no relay connection')
    const verify = createEntryVerifier()
    const views: number[] = []
    const controller = new AbortController()
    const watching = watchRelayDirectory(connection.newStream.bind(connection), {
      model: MODEL,
      limit: N,
      signal: controller.signal,
      verify: (bytes, model) => {
        verified++
        return verify(bytes, model)
      },
      onView: (view) => views.push(view.size),
    }).catch(() => undefined)
    await until(() => views.length === 1, 10_000, 'the first view')
    expect(verified).toBe(N)

    // The most expensive provider becomes the cheapest: it enters the best N, the former N-th leaves.
    const mover = [...providers].sort((a, b) => b.price - a.price)[0] as Simulated
    const leaving = cheapest(N).at(-1) as Simulated
    mover.price = 1
    mover.sequence++
    await publish([mover])
    await until(() => directory.list()[0]?.peerId === mover.peerId, 10_000, 'the price change to reach the directory')
    expect(directory.get(leaving.peerId)).toBeUndefined()
    expect(directory.list()).toHaveLength(N)
    await until(() => views.length === 2, 10_000, 'the delta')
    // Only the changed entry travelled and was verified again.
    expect(verified).toBe(N + 1)
    controller.abort()
    await watching
  }, 60_000)

  test('a relay that hands out an altered entry is caught; the honest relay still serves the consumer', async () => {
    // The dishonest relay: the production service, its store fed one entry whose price was altered after signing.
    const bent: Libp2p = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
      transports: [modelexWebSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [modelexYamux()],
      connectionGater: { denyDialMultiaddr: () => false },
      services: { identify: identify() },
    })
    stops.push(async () => bent.stop())
    const service = serveDirectory(bent, { validate: async () => undefined })
    await service.start()
    const genuine = await announce(cheapest(1)[0] as Simulated)
    const altered = { ...genuine, pricePerMillionOutput: '0' }
    service.record(altered, new TextEncoder().encode(JSON.stringify(altered)))
    const bentAddress = bent
      .getMultiaddrs()
      .find((m) => m.toString().includes('/ws'))
      ?.toString() as string

    const node = await createModelexNode({
      relays: [relay.multiaddr, bentAddress],
      relayConnections: 2,
      runtime: 'node',
    })
    await node.start()
    stops.push(() => node.stop())
    const refused: DirectoryViewError[] = []
    const directory = createNodeDirectory(node, {
      models: [MODEL],
      limit: N,
      pingIntervalMs: 3_600_000,
      onRelayRefused: (_relay, error) => refused.push(error),
    })
    await directory.start()
    stops.push(() => directory.stop())
    // Dialled here rather than left to the relay keeper's back-off, so the test does not wait on its timing; the
    // directory follows a relay as soon as it connects.
    await node.libp2p.dial(multiaddr(bentAddress))
    await until(() => refused.length > 0, 15_000, 'the altered entry to be caught')
    expect(refused[0]?.reason).toBe('forged-entry')
    await until(() => directory.list().length === N, 15_000, "the honest relay's view")
    // Nothing of the altered entry is listed: the entry of that node is the one it signed.
    expect(directory.get(genuine.peerId)?.announcement.pricePerMillionOutput).toBe(genuine.pricePerMillionOutput)
    expect(directory.list().every((e) => e.announcement.pricePerMillionOutput !== '0')).toBe(true)
  }, 60_000)
})
