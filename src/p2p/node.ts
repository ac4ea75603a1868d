/**
 * The Modelex libp2p node, one factory for the browser and Node: WebSockets to the relay, WebRTC between browsers
 * (signalled through the circuit relay), circuit-relay v2 transport, noise, yamux, identify, ping, gossipsub and
 * bootstrap. Around it, a relay keeper that redials lost relays with back-off, forever, and reports the
 * connection state.
 *
 * @example
 * const node = await createModelexNode({ privateKey: await loadOrCreatePeerKey(indexedDbStore()), relays: [deployment.relay] })
 * node.state // 'connecting' | 'connected' | 'disconnected'
 */
import { noise } from '@chainsafe/libp2p-noise'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify, type Identify } from '@libp2p/identify'
import type { Connection, Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import { ping, type Ping } from '@libp2p/ping'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { RECONNECT_DEFAULTS } from './constants.ts'
import { modelexWebSockets, modelexYamux } from './transport-tuning.ts'

type TransportFactory = NonNullable<Libp2pOptions['transports']>[number]
import { modelexGossipsub } from './gossip.ts'

export type ModelexServices = { identify: Identify; ping: Ping; pubsub: GossipSub }
export type ModelexLibp2p = Libp2p<ModelexServices>

export type Runtime = 'browser' | 'node'
export type ConnectionState = 'connecting' | 'connected' | 'disconnected'

export type ModelexNodeOptions = {
  privateKey?: PrivateKey
  /** Relay multiaddrs (with /p2p/<id>): bootstrap points, kept connected, and where we take reservations. */
  relays?: readonly string[]
  /** Default: where `typeof window` says we are. */
  runtime?: Runtime
  /** Default: browser `/p2p-circuit` and `/webrtc`; Node `/p2p-circuit`. */
  listen?: readonly string[]
  /** WebRTC ICE servers (browser). Default none: host candidates only, as on a LAN or in tests. */
  iceServers?: RTCIceServer[]
  /**
   * Allow dialing private and loopback addresses. Browsers deny them by default; the local stack and tests need
   * them. Default: allowed when a configured relay is itself on a private or loopback address.
   */
  dialPrivateAddresses?: boolean
  /** IPs exempt from gossipsub's same-IP penalty. Default: loopback when dialing private addresses. */
  colocationWhitelist?: readonly string[]
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number; factor?: number }
}

export type ModelexNode = {
  readonly libp2p: ModelexLibp2p
  readonly peerId: PeerId
  readonly runtime: Runtime
  readonly relays: readonly Multiaddr[]
  /** Connection state towards the relays: connected while at least one relay is. */
  readonly state: ConnectionState
  onStateChange(listener: (state: ConnectionState) => void): () => void
  /** Resolves once a relay reservation gives us a circuit address others can dial. */
  waitForReservation(timeoutMs?: number): Promise<Multiaddr>
  start(): Promise<void>
  stop(): Promise<void>
}

const PRIVATE_V4 = /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.)/

export function isPrivateMultiaddr(address: Multiaddr): boolean {
  const host = address.getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6' || c.name === 'dns4' || c.name === 'dns6' || c.name === 'dns')?.value ?? ''
  return PRIVATE_V4.test(host) || host === '::1' || host === 'localhost'
}

export async function createModelexNode(options: ModelexNodeOptions = {}): Promise<ModelexNode> {
  const runtime: Runtime = options.runtime ?? (typeof window === 'undefined' ? 'node' : 'browser')
  const relays = (options.relays ?? []).map((r) => multiaddr(r))
  const dialPrivate = options.dialPrivateAddresses ?? relays.some(isPrivateMultiaddr)
  const transports: Libp2pOptions['transports'] = [modelexWebSockets(), circuitRelayTransport({ reservationCompletionTimeout: 10_000 })]
  if (runtime === 'browser') {
    // Loaded only in browsers: the Node build of this package would pull a native WebRTC module we do not use.
    const { webRTC } = await import('@libp2p/webrtc')
    transports.push(webRTC({ rtcConfiguration: { iceServers: options.iceServers ?? [] } }) as unknown as TransportFactory)
  }
  const colocationWhitelist = options.colocationWhitelist ?? (dialPrivate ? ['127.0.0.1', '::1'] : [])
  const libp2p = await createLibp2p<ModelexServices>({
    ...(options.privateKey ? { privateKey: options.privateKey } : {}),
    start: false,
    addresses: { listen: [...(options.listen ?? (runtime === 'browser' ? ['/p2p-circuit', '/webrtc'] : ['/p2p-circuit']))] },
    transports,
    connectionEncrypters: [noise()],
    streamMuxers: [modelexYamux()],
    // libp2p limits new inbound connections to 5 per second per remote host, and a relayed connection counts as
    // coming from the relay's host: every consumer reaching us through one relay would share those 5.
    connectionManager: { inboundConnectionThreshold: 100 },
    ...(dialPrivate ? { connectionGater: { denyDialMultiaddr: () => false } } : {}),
    peerDiscovery: relays.length ? [bootstrap({ list: relays.map(String), timeout: 0 })] : [],
    services: {
      identify: identify(),
      ping: ping({ runOnLimitedConnection: true }),
      pubsub: modelexGossipsub({ colocationWhitelist }),
    },
  })
  return wrapNode(libp2p, runtime, relays, options.reconnect)
}

function wrapNode(libp2p: ModelexLibp2p, runtime: Runtime, relays: Multiaddr[], reconnect: ModelexNodeOptions['reconnect'] = {}): ModelexNode {
  const { initialDelayMs, maxDelayMs, factor } = { ...RECONNECT_DEFAULTS, ...reconnect }
  const relayIds = new Set(relays.map((r) => r.getComponents().findLast((c) => c.name === 'p2p')?.value).filter((id): id is string => id !== undefined))
  const listeners = new Set<(state: ConnectionState) => void>()
  const timers = new Map<string, ReturnType<typeof setTimeout>>()
  const delays = new Map<string, number>()
  let running = false
  let state: ConnectionState = relays.length ? 'connecting' : 'disconnected'

  const setState = (next: ConnectionState) => {
    if (next === state) return
    state = next
    for (const listener of listeners) listener(next)
  }
  const connectedToRelay = () => libp2p.getConnections().some((c) => relayIds.has(c.remotePeer.toString()) && c.status === 'open')
  const refresh = () => setState(connectedToRelay() ? 'connected' : relays.length ? 'connecting' : 'disconnected')

  const dialRelay = (relay: Multiaddr, id: string) => {
    timers.delete(id)
    if (!running) return
    libp2p.dial(relay, { signal: AbortSignal.timeout(10_000) }).then(
      () => {
        delays.delete(id)
        refresh()
      },
      () => schedule(relay, id),
    )
  }
  const schedule = (relay: Multiaddr, id: string) => {
    if (!running || timers.has(id)) return
    const delay = delays.get(id) ?? initialDelayMs
    delays.set(id, Math.min(maxDelayMs, delay * factor))
    // Jitter, so peers that lost the same relay do not all come back in the same millisecond.
    timers.set(id, setTimeout(() => dialRelay(relay, id), delay * (0.75 + Math.random() * 0.5)))
  }
  const onDisconnect = (event: CustomEvent<PeerId>) => {
    const id = event.detail.toString()
    refresh()
    const relay = relays.find((r) => r.toString().endsWith(`/p2p/${id}`))
    if (relay) schedule(relay, id)
  }
  const onConnect = () => refresh()

  return {
    libp2p,
    get peerId() {
      return libp2p.peerId
    },
    runtime,
    relays,
    get state() {
      return state
    },
    onStateChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async waitForReservation(timeoutMs = 10_000) {
      const found = () => libp2p.getMultiaddrs().find((m) => m.toString().includes('/p2p-circuit'))
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const address = found()
        if (address) return address
        if (Date.now() > deadline) throw new Error(`No relay reservation within ${timeoutMs} ms (relays: ${relays.map(String).join(', ') || 'none'}).`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    async start() {
      running = true
      libp2p.addEventListener('peer:disconnect', onDisconnect)
      libp2p.addEventListener('peer:connect', onConnect)
      await libp2p.start()
      for (const relay of relays) {
        const id = relay.getComponents().findLast((c) => c.name === 'p2p')?.value
        if (id) dialRelay(relay, id)
      }
    },
    async stop() {
      running = false
      for (const timer of timers.values()) clearTimeout(timer)
      timers.clear()
      libp2p.removeEventListener('peer:disconnect', onDisconnect)
      libp2p.removeEventListener('peer:connect', onConnect)
      await libp2p.stop()
      setState('disconnected')
    },
  }
}

/** Relayed connections are the circuit ones that are not WebRTC (WebRTC addresses also name the relay). */
export function isRelayed(connection: Connection): boolean {
  const address = connection.remoteAddr.toString()
  return address.includes('/p2p-circuit') && !address.includes('/webrtc')
}

/** An open connection to `peer` that does not go through a relay, if we have one. */
export function directConnection(libp2p: Libp2p, peer: PeerId): Connection | undefined {
  return libp2p.getConnections(peer).find((c) => c.status === 'open' && !isRelayed(c))
}
