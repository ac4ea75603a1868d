/**
 * A worker process of `relay-capacity.ts`: holds many lightweight real libp2p peers (WebSockets, noise, yamux,
 * identify, gossipsub, as a browser peer has, without the circuit-relay transport) connected to one relay, each
 * subscribed to one topic, and does what the parent asks over IPC: add peers, publish a stamped message, report what
 * its peers received, stop. Every peer it makes is stopped when it is told to stop or its parent goes away.
 */
import '../lib/node-shims.ts'
import { noise } from '@chainsafe/libp2p-noise'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { modelexWebSockets, modelexYamux } from '../../p2p/transport-tuning.ts'

export type WorkerCommand =
  | { type: 'add'; count: number; relay: string; topics: readonly string[]; concurrency: number; dialTimeoutMs: number }
  | { type: 'publish'; id: string; topic: string }
  | { type: 'received'; id: string; topic: string }
  | { type: 'stop' }

export type WorkerReply =
  | { type: 'added'; connected: number; failed: number; peers: number }
  | { type: 'published'; id: string; ok: boolean; subscribers: number }
  /** `subscribed`: this worker's connected peers on the message's topic. */
  | { type: 'received'; id: string; latenciesMs: number[]; subscribed: number }
  | { type: 'stopped' }

type Peer = { libp2p: Libp2p<{ pubsub: GossipSub }>; topic: string }

const peers: Peer[] = []
/** Per message id: when each peer got it (ms since publication, from the stamp in the message). */
const arrivals = new Map<string, number[]>()
const decoder = new TextDecoder()
const encoder = new TextEncoder()

async function makePeer(relay: string, topic: string, dialTimeoutMs: number): Promise<Peer | null> {
  const libp2p = await createLibp2p({
    addresses: { listen: [] },
    transports: [modelexWebSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [modelexYamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false, scoreParams: { IPColocationFactorWhitelist: new Set(['127.0.0.1']) } }),
    },
  })
  libp2p.services.pubsub.addEventListener('message', (event) => {
    try {
      const { id, at } = JSON.parse(decoder.decode(event.detail.data)) as { id: string; at: number }
      let list = arrivals.get(id)
      if (!list) arrivals.set(id, (list = []))
      list.push(Date.now() - at)
    } catch {
      // Not one of ours.
    }
  })
  try {
    await libp2p.dial(multiaddr(relay), { signal: AbortSignal.timeout(dialTimeoutMs) })
  } catch {
    await Promise.resolve(libp2p.stop()).catch(() => {})
    return null
  }
  libp2p.services.pubsub.subscribe(topic)
  return { libp2p, topic }
}

async function add({ count, relay, topics, concurrency, dialTimeoutMs }: Extract<WorkerCommand, { type: 'add' }>): Promise<WorkerReply> {
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
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane))
  return { type: 'added', connected, failed, peers: peers.filter((p) => p.libp2p.getConnections().length > 0).length }
}

async function handle(command: WorkerCommand): Promise<WorkerReply> {
  switch (command.type) {
    case 'add':
      return add(command)
    case 'publish': {
      const peer = peers.find((p) => p.topic === command.topic && p.libp2p.getConnections().length > 0)
      if (!peer) return { type: 'published', id: command.id, ok: false, subscribers: 0 }
      const result = await peer.libp2p.services.pubsub.publish(command.topic, encoder.encode(JSON.stringify({ id: command.id, at: Date.now() }))).catch(() => null)
      return { type: 'published', id: command.id, ok: result !== null, subscribers: result?.recipients.length ?? 0 }
    }
    case 'received':
      return { type: 'received', id: command.id, latenciesMs: arrivals.get(command.id) ?? [], subscribed: peers.filter((p) => p.topic === command.topic && p.libp2p.getConnections().length > 0).length }
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
