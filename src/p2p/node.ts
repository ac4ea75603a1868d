/**
 * The Modelex libp2p node, one factory for the browser and Node: WebSockets to the relay, WebRTC (signalled through
 * the circuit relay: always in browsers, and in Node programs that ask for it, such as the SDK and the gateway, so
 * they reach browser nodes without the relay in the path), circuit-relay v2 transport, noise, yamux, identify, ping
 * and gossipsub.
 * Around it, a relay keeper: of a deployment's relays, a node keeps `relayConnections` (1) connected, chosen by
 * rendezvous hashing of its peer id (`src/core/relay-choice.ts`), so peers spread over the relays. A relay that drops
 * or refuses us is left for a back-off (250 ms doubling to 2 s per relay, reset once it answers) while the keeper
 * moves at once to the next relay of our ranking; the circuit-relay transport takes a reservation on the new relay by itself (its
 * discovery sees a connected peer speaking the hop protocol), identify pushes the new circuit address to connected
 * peers, and our announcer re-announces when the new relay shows it is on our topics. Keeps trying, forever, and
 * reports the connection state.
 *
 * @example
 * const node = await createModelexNode({ privateKey: await loadOrCreatePeerKey(indexedDbStore()), relays: [deployment.relay] })
 * node.state // 'connecting' | 'connected' | 'disconnected'
 */
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify, type Identify } from '@libp2p/identify'
import type { Connection, Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import { ping, type Ping } from '@libp2p/ping'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { webRTC } from '@libp2p/webrtc'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { rankRelays } from '../core/relay-choice.ts'
import { RECONNECT_DEFAULTS } from './constants.ts'
import { modelexNoise, modelexWebSockets, modelexYamux } from './transport-tuning.ts'
import { loadFixedNativeWebRtc } from './webrtc-native.ts'

type TransportFactory = NonNullable<Libp2pOptions['transports']>[number]
type WebRtcModule = { webRTC: typeof webRTC }
import { modelexGossipsub } from './gossip.ts'

export type ModelexServices = { identify: Identify; ping: Ping; pubsub: GossipSub }
export type ModelexLibp2p = Libp2p<ModelexServices>

export type Runtime = 'browser' | 'node'
export type ConnectionState = 'connecting' | 'connected' | 'disconnected'

export type ModelexNodeOptions = {
  privateKey?: PrivateKey
  /** Relay multiaddrs (with /p2p/<id>): every relay of the deployment; `relayConnections` of them are kept connected. */
  relays?: readonly string[]
  /** Relays kept connected at once (default 1): the first of our ranking that answer. */
  relayConnections?: number
  /** Default: where `typeof window` says we are. */
  runtime?: Runtime
  /**
   * WebRTC (signalled through the relay): dial peers that listen on `/webrtc` directly, and listen on it ourselves.
   * Default: browsers yes; Node no (there it loads the native `node-datachannel` module). A Node consumer with it
   * reaches browser nodes without the relay in the path (dial.ts `upgradeToDirect`).
   */
  webrtc?: boolean
  /** Default: `/p2p-circuit`, and `/webrtc` with WebRTC. */
  listen?: readonly string[]
  /** Addresses identify tells peers besides those we listen on (a node behind a port forward names its public one). */
  announce?: readonly string[]
  /** WebRTC ICE servers. Default none: host candidates only, as on a LAN or in tests. */
  iceServers?: RTCIceServer[]
  /**
   * Node's WebRTC only: the one local address ICE binds to and offers (node-datachannel's `bindAddress`). Without
   * it ICE offers every interface but loopback; tests and benches on loopback give `127.0.0.1`. Browsers ignore it.
   */
  iceBindAddress?: string
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
  /** Whether this node has the WebRTC transport (`ModelexNodeOptions.webrtc`). */
  readonly webrtc: boolean
  /** Every relay of the deployment, best first for this peer (the order we try them in). */
  readonly relays: readonly Multiaddr[]
  /** The relays we hold a connection to now. */
  connectedRelays(): Multiaddr[]
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
  const host =
    address
      .getComponents()
      .find((c) => c.name === 'ip4' || c.name === 'ip6' || c.name === 'dns4' || c.name === 'dns6' || c.name === 'dns')
      ?.value ?? ''
  return PRIVATE_V4.test(host) || host === '::1' || host === 'localhost'
}

export async function createModelexNode(options: ModelexNodeOptions = {}): Promise<ModelexNode> {
  const runtime: Runtime = options.runtime ?? (typeof window === 'undefined' ? 'node' : 'browser')
  const relays = (options.relays ?? []).map((r) => multiaddr(r))
  const dialPrivate = options.dialPrivateAddresses ?? relays.some(isPrivateMultiaddr)
  const transports: Libp2pOptions['transports'] = [
    modelexWebSockets(),
    circuitRelayTransport({ reservationCompletionTimeout: 10_000 }),
  ]
  const webrtcModule = (options.webrtc ?? runtime === 'browser') ? await loadWebRtc(runtime) : undefined
  const webrtc = webrtcModule !== undefined
  if (webrtcModule) {
    transports.push(
      webrtcModule.webRTC({
        rtcConfiguration: {
          iceServers: options.iceServers ?? [],
          ...(options.iceBindAddress ? { bindAddress: options.iceBindAddress } : {}),
        } as RTCConfiguration,
      }) as unknown as TransportFactory,
    )
  }
  const listen = options.listen ?? (webrtc ? ['/p2p-circuit', '/webrtc'] : ['/p2p-circuit'])
  // WebRTC without listening on /webrtc only dials (a consumer): nobody may open a WebRTC connection to us.
  const refuseInboundWebRtc = webrtc && !listen.includes('/webrtc')
  const colocationWhitelist = options.colocationWhitelist ?? (dialPrivate ? ['127.0.0.1', '::1'] : [])
  const libp2p = await createLibp2p<ModelexServices>({
    ...(options.privateKey ? { privateKey: options.privateKey } : {}),
    start: false,
    addresses: {
      listen: [...listen],
      ...(options.announce ? { appendAnnounce: [...options.announce] } : {}),
    },
    transports,
    connectionEncrypters: [modelexNoise()],
    streamMuxers: [modelexYamux()],
    // libp2p limits new inbound connections to 5 per second per remote host, and a relayed connection counts as
    // coming from the relay's host: every consumer reaching us through one relay would share those 5.
    connectionManager: { inboundConnectionThreshold: 100 },
    ...(dialPrivate ? { connectionGater: { denyDialMultiaddr: () => false } } : {}),
    services: {
      identify: identify(),
      ping: ping({ runOnLimitedConnection: true }),
      pubsub: modelexGossipsub({ colocationWhitelist }),
    },
  })
  // Not the bootstrap module: it dials every listed relay, and we want one (or `relayConnections`) of them.
  const ranked = rankRelays(libp2p.peerId.toString(), relays, relayIdOf)
  return wrapNode(libp2p, {
    runtime,
    webrtc,
    refuseInboundWebRtc,
    relays: ranked,
    relayConnections: options.relayConnections ?? 1,
    reconnect: options.reconnect,
  })
}

/**
 * The WebRTC transport, loaded only when wanted: in Node it loads a native module (node-datachannel). Node on a
 * platform that module has no binary for goes without (relayed and direct connections still work); browsers have
 * WebRTC built in, so a failure there is a real error.
 */
async function loadWebRtc(runtime: Runtime): Promise<WebRtcModule | undefined> {
  try {
    if (runtime === 'node') await loadFixedNativeWebRtc()
    return await import('@libp2p/webrtc')
  } catch (error) {
    if (runtime === 'browser') throw error
    return undefined
  }
}

/** The peer id a relay multiaddr names (its last /p2p/ part), or the whole address when it names none. */
export function relayIdOf(relay: Multiaddr): string {
  return relay.getComponents().findLast((c) => c.name === 'p2p')?.value ?? relay.toString()
}

/** Tag value of a relay we chose: connections to it are the last the connection manager would prune. */
const RELAY_TAG = 'modelex-relay'

/** libp2p's WebRTC signalling protocol (`@libp2p/webrtc` registers it when it starts, whether we listen or not). */
const WEBRTC_SIGNALLING_PROTOCOL = '/webrtc-signaling/0.0.1'

type WrapOptions = {
  runtime: Runtime
  webrtc: boolean
  /** Unhandle WebRTC signalling once started: we dial WebRTC but take no WebRTC connections. */
  refuseInboundWebRtc: boolean
  relays: Multiaddr[]
  relayConnections: number
  reconnect: ModelexNodeOptions['reconnect']
}

function wrapNode(
  libp2p: ModelexLibp2p,
  { runtime, webrtc, refuseInboundWebRtc, relays, relayConnections, reconnect = {} }: WrapOptions,
): ModelexNode {
  const { initialDelayMs, maxDelayMs, factor } = { ...RECONNECT_DEFAULTS, ...reconnect }
  const nativeWebRtc = webrtc && runtime === 'node'
  let holdsNative = false
  const wanted = Math.max(1, Math.min(relayConnections, relays.length))
  const byId = new Map(relays.map((r) => [relayIdOf(r), r]))
  const listeners = new Set<(state: ConnectionState) => void>()
  /** Per relay: when we may dial it again, and the back-off its next failure adds. */
  const downUntil = new Map<string, number>()
  const delays = new Map<string, number>()
  const dialing = new Set<string>()
  let timer: ReturnType<typeof setTimeout> | undefined
  let running = false
  let state: ConnectionState = relays.length ? 'connecting' : 'disconnected'

  const setState = (next: ConnectionState) => {
    if (next === state) return
    state = next
    for (const listener of listeners) listener(next)
  }
  const isConnected = (id: string) =>
    libp2p.getConnections().some((c) => c.remotePeer.toString() === id && c.status === 'open' && !isRelayed(c))
  const connected = () => relays.filter((r) => isConnected(relayIdOf(r)))
  const refresh = () => setState(connected().length > 0 ? 'connected' : relays.length ? 'connecting' : 'disconnected')

  const failed = (id: string) => {
    const delay = delays.get(id) ?? initialDelayMs
    delays.set(id, Math.min(maxDelayMs, delay * factor))
    // Jitter, so peers that lost the same relay do not all come back in the same millisecond.
    downUntil.set(id, Date.now() + delay * (0.75 + Math.random() * 0.5))
  }
  /** Dials relays, best first, until `wanted` are connected or being dialled; waits for the soonest when all rest. */
  const ensure = () => {
    clearTimeout(timer)
    timer = undefined
    if (!running) return
    let held = relays.filter((r) => isConnected(relayIdOf(r)) || dialing.has(relayIdOf(r))).length
    const now = Date.now()
    for (const relay of relays) {
      if (held >= wanted) return
      const id = relayIdOf(relay)
      if (isConnected(id) || dialing.has(id) || (downUntil.get(id) ?? 0) > now) continue
      held++
      dial(relay, id)
    }
    if (held >= wanted) return
    const soonest = Math.min(...relays.map((r) => downUntil.get(relayIdOf(r)) ?? now))
    timer = setTimeout(ensure, Math.max(10, soonest - now))
  }
  const dial = (relay: Multiaddr, id: string) => {
    dialing.add(id)
    libp2p.dial(relay, { signal: AbortSignal.timeout(10_000) }).then(
      async (connection) => {
        dialing.delete(id)
        delays.delete(id)
        await libp2p.peerStore.merge(connection.remotePeer, { tags: { [RELAY_TAG]: { value: 100 } } }).catch(() => {})
        refresh()
      },
      () => {
        dialing.delete(id)
        failed(id)
        refresh()
        ensure()
      },
    )
  }
  const onDisconnect = (event: CustomEvent<PeerId>) => {
    const id = event.detail.toString()
    refresh()
    if (!byId.has(id) || !running) return
    // The next relay of our ranking at once, if there is one; this one again after its back-off (a restart is
    // back within a second or two, and with a single relay that is all we can do).
    failed(id)
    ensure()
  }
  const onConnect = () => refresh()

  return {
    libp2p,
    get peerId() {
      return libp2p.peerId
    },
    runtime,
    webrtc,
    relays,
    connectedRelays: connected,
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
        if (Date.now() > deadline)
          throw new Error(
            `No relay reservation within ${timeoutMs} ms (relays: ${relays.map(String).join(', ') || 'none'}).`,
          )
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    async start() {
      running = true
      if (nativeWebRtc && !holdsNative) {
        holdsNative = true
        liveNativeWebRtcNodes++
      }
      libp2p.addEventListener('peer:disconnect', onDisconnect)
      libp2p.addEventListener('peer:connect', onConnect)
      await libp2p.start()
      if (refuseInboundWebRtc) await libp2p.unhandle(WEBRTC_SIGNALLING_PROTOCOL)
      ensure()
    },
    async stop() {
      running = false
      clearTimeout(timer)
      timer = undefined
      libp2p.removeEventListener('peer:disconnect', onDisconnect)
      libp2p.removeEventListener('peer:connect', onConnect)
      await libp2p.stop()
      if (holdsNative) {
        holdsNative = false
        await releaseNativeWebRtc()
      }
      setState('disconnected')
    },
  }
}

/**
 * Node with WebRTC: node-datachannel keeps the process alive until its `cleanup()`, which closes every WebRTC
 * connection in the process. So it runs when the last started node with WebRTC stops.
 */
let liveNativeWebRtcNodes = 0

async function releaseNativeWebRtc(): Promise<void> {
  liveNativeWebRtcNodes--
  if (liveNativeWebRtcNodes > 0) return
  const name = 'node-datachannel' // Not a literal: the browser build must not try to bundle a native module.
  const native = (await import(/* @vite-ignore */ name)) as { cleanup?: () => void; default?: { cleanup?: () => void } }
  ;(native.cleanup ?? native.default?.cleanup)?.()
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
