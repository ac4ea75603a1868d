/**
 * A worker process of `relay-capacity.ts`: holds many lightweight real libp2p peers (WebSockets, noise, yamux,
 * identify, gossipsub, as a browser peer has, without the circuit-relay transport) connected to one relay, each
 * subscribed to one model topic, and does what the parent asks over IPC: add peers, publish a real signed
 * announcement (the relay validates what it forwards on those topics), report which peers received it and how long
 * after it was signed, stop. Every peer it makes is stopped when it is told to stop or its parent goes away.
 */
import '../lib/node-shims.ts'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { decodeAnnouncement, encodeAnnouncement, signAnnouncement, topicContentHash } from '../../core/announcement.ts'
import { modelexNoise, modelexWebSockets, modelexYamux } from '../../p2p/transport-tuning.ts'

export type WorkerCommand =
  | { type: 'add'; count: number; relay: string; topics: readonly string[]; concurrency: number; dialTimeoutMs: number }
  /** `sequence` identifies the announcement (unique per run). */
  | { type: 'publish'; sequence: number; topic: string }
  | { type: 'received'; sequence: number; topic: string }
  | { type: 'stop' }

export type WorkerReply =
  /** `dropped`: dialled, then closed within a second (a relay at its limit); `errors`: a few distinct dial errors. */
  | { type: 'added'; connected: number; failed: number; dropped: number; peers: number; errors: string[] }
  | { type: 'published'; sequence: number; ok: boolean; subscribers: number }
  /** `subscribed`: this worker's connected peers on the message's topic. */
  | { type: 'received'; sequence: number; latenciesMs: number[]; subscribed: number }
  | { type: 'stopped' }

type Peer = { libp2p: Libp2p<{ pubsub: GossipSub }>; topic: string }

const peers: Peer[] = []
/** Per announcement sequence: when each peer got it (ms after it was signed). */
const arrivals = new Map<number, number[]>()
const signerKey = generatePrivateKey()
const signer = privateKeyToAddress(signerKey)

const errors = new Set<string>()

async function makePeer(relay: string, topic: string, dialTimeoutMs: number): Promise<Peer | null> {
  const libp2p = await createLibp2p({
    addresses: { listen: [] },
    transports: [modelexWebSockets()],
    connectionEncrypters: [modelexNoise()],
    streamMuxers: [modelexYamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        scoreParams: { IPColocationFactorWhitelist: new Set(['127.0.0.1']) },
      }),
    },
  })
  libp2p.services.pubsub.addEventListener('message', (event) => {
    try {
      const { sequence, timestamp } = decodeAnnouncement(event.detail.data)
      let list = arrivals.get(sequence)
      if (!list) arrivals.set(sequence, (list = []))
      list.push(Date.now() - timestamp)
    } catch {
      // Not an announcement.
    }
  })
  try {
    await libp2p.dial(multiaddr(relay), { signal: AbortSignal.timeout(dialTimeoutMs) })
  } catch (error) {
    if (errors.size < 5) errors.add(`${(error as Error).name}: ${(error as Error).message}`.slice(0, 200))
    await Promise.resolve(libp2p.stop()).catch(() => {})
    return null
  }
  libp2p.services.pubsub.subscribe(topic)
  return { libp2p, topic }
}

async function add({
  count,
  relay,
  topics,
  concurrency,
  dialTimeoutMs,
}: Extract<WorkerCommand, { type: 'add' }>): Promise<WorkerReply> {
  let connected = 0
  let failed = 0
  let next = 0
  const lane = async () => {
    while (next < count) {
      const index = next++
      const peer = await makePeer(relay, topics[(peers.length + index) % topics.length]!, dialTimeoutMs)
      if (peer) {
        peers.push(peer)
        connected++
      } else failed++
    }
  }
  const before = peers.length - connected
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane))
  // A relay at its limit refuses after the handshake, so the dial may succeed and the connection close just after.
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  const fresh = peers.slice(before)
  const dropped = fresh.filter((p) => p.libp2p.getConnections().length === 0)
  for (const peer of dropped) peers.splice(peers.indexOf(peer), 1)
  await Promise.all(dropped.map((p) => Promise.resolve(p.libp2p.stop()).catch(() => {})))
  const reply: WorkerReply = {
    type: 'added',
    connected: connected - dropped.length,
    failed: failed + dropped.length,
    dropped: dropped.length,
    peers: peers.length,
    errors: [...errors],
  }
  errors.clear()
  return reply
}

async function handle(command: WorkerCommand): Promise<WorkerReply> {
  switch (command.type) {
    case 'add':
      return add(command)
    case 'publish': {
      const peer = peers.find((p) => p.topic === command.topic && p.libp2p.getConnections().length > 0)
      if (!peer) return { type: 'published', sequence: command.sequence, ok: false, subscribers: 0 }
      const contentHash = topicContentHash(command.topic)!
      const announcement = await signAnnouncement(
        {
          version: 1,
          peerId: peer.libp2p.peerId.toString(),
          signer,
          operator: signer,
          chainId: 31337,
          models: [{ id: 'capacity', contentHash, engine: 'memory', contextLength: 2048, tokensPerSecond: 10 }],
          pricePerMillionInput: '1',
          pricePerMillionOutput: '1',
          capacity: 1,
          queueDepth: 0,
          sequence: command.sequence,
          timestamp: Date.now(),
        },
        signerKey,
      )
      const result = await peer.libp2p.services.pubsub
        .publish(command.topic, encodeAnnouncement(announcement))
        .catch(() => null)
      return {
        type: 'published',
        sequence: command.sequence,
        ok: result !== null,
        subscribers: result?.recipients.length ?? 0,
      }
    }
    case 'received':
      return {
        type: 'received',
        sequence: command.sequence,
        latenciesMs: arrivals.get(command.sequence) ?? [],
        subscribed: peers.filter((p) => p.topic === command.topic && p.libp2p.getConnections().length > 0).length,
      }
    case 'stop':
      await Promise.all(peers.splice(0).map((p) => Promise.resolve(p.libp2p.stop()).catch(() => {})))
      return { type: 'stopped' }
  }
}

process.on('message', (command: WorkerCommand) => {
  void handle(command).then(
    (reply) => {
      process.send?.(reply)
      if (reply.type === 'stopped') process.exit(0)
    },
    (error: unknown) => {
      console.error(`relay-capacity worker: ${(error as Error).message}`)
      process.exit(1)
    },
  )
})
// The parent went away: leave with it.
process.on('disconnect', () => process.exit(0))
process.send?.({ type: 'ready' })
