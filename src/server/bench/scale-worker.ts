/**
 * The worker processes of `npm run bench:scale` (forked with IPC by `scale.ts`, one role each, stopped by PID):
 * - `providers`: many simulated providers behind one libp2p connection to a relay: each a real Ed25519 peer id and
 *   secp256k1 node signer signing real announcements, sent over the directory protocol's publish side, at start and
 *   then as a refresh and a change each every 5 min on average (the real rates);
 * - `consumers`: many light consumer peers (WebSockets, noise, yamux; no gossipsub: they use the query protocol),
 *   each connected to one relay and watching the best 10 of a model, reporting when a given announcement reaches them.
 */
import '../lib/node-shims.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Hex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { encodeAnnouncement, signAnnouncement } from '../../core/announcement.ts'
import { ANNOUNCEMENT_REFRESH_MS } from '../../core/directory-view.ts'
import { createEntryVerifier, publishToRelay, watchRelayDirectory } from '../../p2p/directory-service.ts'
import { modelexNoise, modelexWebSockets, modelexYamux } from '../../p2p/transport-tuning.ts'

export type WorkerCommand =
  | { type: 'providers'; relay: string; model: Hex; seed: number }
  | { type: 'add'; count: number }
  | { type: 'churn'; on: boolean }
  | { type: 'consumers'; relays: string[]; count: number; model: Hex; limit: number }
  | { type: 'expect'; peerId: string; sequence: number; timeoutMs: number }
  | { type: 'stop' }

export type WorkerReport =
  | { type: 'added'; total: number; ms: number }
  | { type: 'ready'; connected: number; memoryMb: number }
  | { type: 'seen'; at: number[]; missing: number }
  | { type: 'error'; message: string }

const send = (report: WorkerReport) => process.send?.(report)

function lightNode(): Promise<Libp2p> {
  return createLibp2p({
    transports: [modelexWebSockets()],
    connectionEncrypters: [modelexNoise()],
    streamMuxers: [modelexYamux()],
    connectionGater: { denyDialMultiaddr: () => false },
  })
}

type Simulated = {
  peerId: string
  key: Hex
  address: `0x${string}`
  price: number
  queueDepth: number
  sequence: number
}

async function providers(relay: string, model: Hex, seed: number) {
  const node = await lightNode()
  const connection = await node.dial(multiaddr(relay), { signal: AbortSignal.timeout(20_000) })
  const all: Simulated[] = []
  let random = seed
  const next = () => (random = (random * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
  const sign = (p: Simulated) =>
    signAnnouncement(
      {
        version: 1,
        peerId: p.peerId,
        signer: p.address,
        operator: p.address,
        chainId: 31337,
        models: [{ id: 'bench-model', contentHash: model, engine: 'memory', contextLength: 8192, tokensPerSecond: 50 }],
        pricePerMillionInput: String(p.price),
        pricePerMillionOutput: String(p.price),
        capacity: 2,
        queueDepth: p.queueDepth,
        sequence: p.sequence,
        timestamp: Date.now(),
      },
      p.key,
    ).then(encodeAnnouncement)
  const push = async (list: Simulated[]) => {
    for (let i = 0; i < list.length; i += 512) {
      const bytes: Uint8Array[] = []
      for (const p of list.slice(i, i + 512)) bytes.push(await sign(p))
      await publishToRelay(connection.newStream.bind(connection), bytes, { signal: AbortSignal.timeout(60_000) })
    }
  }
  let churn: ReturnType<typeof setInterval> | undefined
  return async (command: WorkerCommand) => {
    if (command.type === 'add') {
      const started = performance.now()
      const fresh: Simulated[] = []
      for (let i = 0; i < command.count; i++) {
        const key = generatePrivateKey()
        fresh.push({
          peerId: peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString(),
          key,
          address: privateKeyToAddress(key),
          price: 1_000 + Math.floor(next() * 1_000_000),
          queueDepth: 0,
          sequence: 1,
        })
      }
      await push(fresh)
      all.push(...fresh)
      send({ type: 'added', total: all.length, ms: performance.now() - started })
    } else if (command.type === 'churn') {
      clearInterval(churn)
      if (!command.on) return
      // Each provider: one refresh and one change (its queue-depth bucket) per 5 min on average, drawn per 100 ms tick.
      let owed = 0
      churn = setInterval(() => {
        owed += (all.length * 2 * 100) / ANNOUNCEMENT_REFRESH_MS
        const batch: Simulated[] = []
        for (; owed >= 1; owed--) {
          const p = all[Math.floor(next() * all.length)] as Simulated
          p.sequence++
          if (next() < 0.5) p.queueDepth = p.queueDepth === 0 ? 1 : 0
          batch.push(p)
        }
        if (batch.length) void push(batch).catch(() => {})
      }, 100)
    } else if (command.type === 'stop') {
      clearInterval(churn)
      await node.stop()
    }
  }
}

async function consumers(relays: string[], count: number, model: Hex, limit: number) {
  const peers: { node: Libp2p; latest: Map<string, number>; seen: (peerId: string, sequence: number) => void }[] = []
  const verify = createEntryVerifier()
  let connected = 0
  const startOne = async (i: number) => {
    const node = await lightNode()
    const relay = relays[i % relays.length] as string
    const connection = await node.dial(multiaddr(relay), { signal: AbortSignal.timeout(30_000) })
    connected++
    const peer = { node, latest: new Map<string, number>(), seen: (_p: string, _s: number) => {} }
    peers.push(peer)
    void watchRelayDirectory(connection.newStream.bind(connection), {
      model,
      limit,
      verify,
      onView: (view) => {
        for (const [peerId, a] of view) {
          if ((peer.latest.get(peerId) ?? -1) < a.sequence) {
            peer.latest.set(peerId, a.sequence)
            peer.seen(peerId, a.sequence)
          }
        }
      },
    }).catch(() => {})
  }
  // A few at a time: each costs a noise handshake on a shared machine.
  for (let i = 0; i < count; i += 10)
    await Promise.all(Array.from({ length: Math.min(10, count - i) }, (_, j) => startOne(i + j).catch(() => {})))
  send({ type: 'ready', connected, memoryMb: Math.round(process.memoryUsage().rss / 2 ** 20) })
  return async (command: WorkerCommand) => {
    if (command.type === 'expect') {
      const at: number[] = []
      let missing = peers.length
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, command.timeoutMs)
        for (const peer of peers) {
          const hit = () => {
            at.push(Date.now())
            missing--
            if (missing === 0) {
              clearTimeout(timer)
              resolve()
            }
          }
          if ((peer.latest.get(command.peerId) ?? -1) >= command.sequence) hit()
          else
            peer.seen = (peerId, sequence) => {
              if (peerId !== command.peerId || sequence < command.sequence) return
              peer.seen = () => {}
              hit()
            }
        }
      })
      send({ type: 'seen', at, missing })
    } else if (command.type === 'stop') {
      await Promise.all(
        peers.map((p) =>
          Promise.resolve()
            .then(() => p.node.stop())
            .catch(() => {}),
        ),
      )
    }
  }
}

let handler: ((command: WorkerCommand) => Promise<void>) | undefined
process.on('message', (command: WorkerCommand) => {
  const run = async () => {
    if (command.type === 'providers') {
      handler = await providers(command.relay, command.model, command.seed)
      send({ type: 'added', total: 0, ms: 0 })
    } else if (command.type === 'consumers')
      handler = await consumers(command.relays, command.count, command.model, command.limit)
    else await handler?.(command)
    if (command.type === 'stop') process.exit(0)
  }
  run().catch((error: unknown) =>
    send({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
  )
})
// Orphaned (the bench died): go too.
process.on('disconnect', () => process.exit(0))
