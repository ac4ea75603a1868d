/**
 * Reaching a node we know only by peer id (from its announcement): an open connection if there is one, else
 * through the deployment's relays — WebRTC first where this runtime has it (a direct browser-to-browser
 * connection, signalled through the relay), then a plain relayed circuit. With several relays, they are tried in
 * the order the node itself ranks them (`src/core/relay-choice.ts`): its reservation is on the first of them that
 * was up, so the first try usually is the right one, and after a relay died, the second.
 *
 * A relayed circuit costs two more hops each way than a direct connection (on loopback about a millisecond of a
 * round trip, `npm run bench:p2p -- stream`). So behind a relayed connection `upgradeToDirect` looks, in the
 * background, for a way around the relay; the next request (and the warm spare, see warm.ts) uses it:
 * - a node that listens on an address of its own (a server node started with `--listen`) says so in identify, and
 *   we dial that address;
 * - else, when both ends have WebRTC (a Node consumer such as the SDK or the gateway, and a browser node), we dial
 *   the node over WebRTC, signalled through our relays (not through addresses the node names).
 * What a node lists is untrusted: at most `DIRECT_UPGRADE.maxAddresses` of them are tried, through the connection
 * gater (no private addresses on a public network), the noise handshake must prove the same peer id, and a node
 * none of whose ways worked is not tried again for `DIRECT_UPGRADE.backoffMs`.
 */
import type { Connection, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { rankRelays } from '../core/relay-choice.ts'
import { INFER_CLIENT_DEFAULTS } from './constants.ts'
import { directConnection, isRelayed, relayIdOf, type ModelexNode } from './node.ts'

/** Peer ids parsed lately (a string → PeerId parse decodes the public key: about 0.2 ms for Ed25519). */
const parsed = new Map<string, PeerId>()
const PARSED_MAX = 1024

/** `peer` as a PeerId; strings are parsed once and remembered (the last 1,024). */
export function toPeerId(peer: PeerId | string): PeerId {
  if (typeof peer !== 'string') return peer
  let id = parsed.get(peer)
  if (!id) {
    id = peerIdFromString(peer)
    if (parsed.size >= PARSED_MAX) parsed.delete(parsed.keys().next().value as string)
    parsed.set(peer, id)
  }
  return id
}

/** Circuit addresses of `peer` through each relay, in the order `peer` ranks the relays. */
export function circuitAddresses(
  node: Pick<ModelexNode, 'relays'>,
  peer: PeerId,
  kind: 'webrtc' | 'circuit',
): Multiaddr[] {
  return rankRelays(peer.toString(), node.relays, relayIdOf).map((relay) =>
    multiaddr(`${relay.toString()}/p2p-circuit${kind === 'webrtc' ? '/webrtc' : ''}/p2p/${peer.toString()}`),
  )
}

export type ConnectOptions = { signal?: AbortSignal; timeoutMs?: number; preferDirect?: boolean }

export async function connectToPeer(
  node: ModelexNode,
  target: PeerId | string,
  {
    signal,
    timeoutMs = INFER_CLIENT_DEFAULTS.dialTimeoutMs,
    preferDirect = node.runtime === 'browser',
  }: ConnectOptions = {},
): Promise<Connection> {
  const peer = toPeerId(target)
  const libp2p = node.libp2p
  const direct = directConnection(libp2p, peer)
  if (direct) return direct
  const limit = AbortSignal.timeout(timeoutMs)
  const dialSignal = signal ? AbortSignal.any([signal, limit]) : limit
  const errors: unknown[] = []
  if (preferDirect) {
    for (const address of circuitAddresses(node, peer, 'webrtc')) {
      try {
        return await libp2p.dial(address, { signal: dialSignal })
      } catch (error) {
        errors.push(error)
      }
    }
  }
  const existing = libp2p.getConnections(peer).find((c) => c.status === 'open')
  if (existing) return relayedThenDirect(node, peer, existing)
  try {
    return relayedThenDirect(node, peer, await libp2p.dial(peer, { signal: dialSignal }))
  } catch (error) {
    errors.push(error)
  }
  for (const address of circuitAddresses(node, peer, 'circuit')) {
    try {
      return relayedThenDirect(node, peer, await libp2p.dial(address, { signal: dialSignal }))
    } catch (error) {
      errors.push(error)
    }
  }
  throw new AggregateError(
    errors,
    `could not reach ${peer.toString()} directly or through ${node.relays.length} relay(s)`,
  )
}

export const DIRECT_UPGRADE = {
  /** At most this many of a node's own addresses are dialled. */
  maxAddresses: 4,
  /** How long identify may take to tell us the node's addresses after the relayed connection opened. */
  identifyWaitMs: 2_000,
  /** Per address. */
  dialTimeoutMs: 3_000,
  /** After a failed upgrade, the node is not tried again for this long. */
  backoffMs: 60_000,
} as const

/** Per node: the upgrade under way to a peer, or the time after which a peer whose upgrade failed may be tried again. */
const upgrades = new WeakMap<ModelexNode, Map<string, Promise<Connection | undefined> | number>>()

/** Returns the relayed connection as it is and starts `upgradeToDirect` behind it. */
function relayedThenDirect(node: ModelexNode, peer: PeerId, connection: Connection): Connection {
  if (isRelayed(connection)) void upgradeToDirect(node, peer)
  return connection
}

/**
 * The ways around the relay to `peer` that identify told us of, in the order we try them: the addresses it listens
 * on itself (not circuits through a relay, not WebRTC, which needs one; at most `DIRECT_UPGRADE.maxAddresses`), then,
 * when both of us have WebRTC and it listens on it, WebRTC through our own relays.
 */
async function waysAround(node: ModelexNode, peer: PeerId): Promise<Multiaddr[]> {
  const known = ((await node.libp2p.peerStore.get(peer).catch(() => undefined))?.addresses ?? []).map(
    (a) => a.multiaddr,
  )
  const names = (address: Multiaddr) => address.getComponents().map((c) => c.name)
  const own = known
    .filter((a) => !names(a).includes('p2p-circuit') && !names(a).some((n) => n.startsWith('webrtc')))
    .slice(0, DIRECT_UPGRADE.maxAddresses)
    .map((a) => (names(a).includes('p2p') ? a : a.encapsulate(`/p2p/${peer}`)))
  const takesWebRtc = node.webrtc && known.some((a) => names(a).includes('webrtc'))
  return takesWebRtc ? [...own, ...circuitAddresses(node, peer, 'webrtc')] : own
}

/**
 * Dials `peer` the ways around the relay (`waysAround`) while we reach it through one. Resolves with the direct
 * connection, or undefined when none of them worked (then it is backed off); never rejects. One attempt per node at
 * a time: a second call gets the first one's promise.
 */
export function upgradeToDirect(node: ModelexNode, peer: PeerId): Promise<Connection | undefined> {
  const id = peer.toString()
  let attempts = upgrades.get(node)
  if (!attempts) upgrades.set(node, (attempts = new Map()))
  const state = attempts.get(id)
  if (state instanceof Promise) return state
  if (state !== undefined && state > Date.now()) return Promise.resolve(directConnection(node.libp2p, peer))
  const attempt = dialWaysAround(node, peer).then((connection) => {
    if (connection) attempts.delete(id)
    else {
      dropExpiredBackoffs(attempts, Date.now())
      attempts.set(id, Date.now() + DIRECT_UPGRADE.backoffMs)
    }
    return connection
  })
  attempts.set(id, attempt)
  return attempt
}

/** Forgets back-offs that have run out, so a long-lived node does not keep one for every peer it ever tried. */
export function dropExpiredBackoffs(attempts: Map<string, Promise<unknown> | number>, now: number): void {
  for (const [id, state] of attempts) if (typeof state === 'number' && state <= now) attempts.delete(id)
}

async function dialWaysAround(node: ModelexNode, peer: PeerId): Promise<Connection | undefined> {
  let ways = await waysAround(node, peer)
  if (ways.length === 0) {
    await identified(node, peer, DIRECT_UPGRADE.identifyWaitMs)
    ways = await waysAround(node, peer)
  }
  for (const address of ways) {
    const open = directConnection(node.libp2p, peer)
    if (open || node.libp2p.status !== 'started') return open
    try {
      const connection = await node.libp2p.dial(address, { signal: AbortSignal.timeout(DIRECT_UPGRADE.dialTimeoutMs) })
      if (!isRelayed(connection)) return connection
    } catch {
      // Not reachable from here, not that node, or refused by the gater: the next way.
    }
  }
  return directConnection(node.libp2p, peer)
}

/** Resolves when identify with `peer` completes, or after `timeoutMs`. */
function identified(node: ModelexNode, peer: PeerId, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      node.libp2p.removeEventListener('peer:identify', onIdentify)
      resolve()
    }
    const onIdentify = (event: CustomEvent<{ peerId: PeerId }>) => {
      if (event.detail.peerId.equals(peer)) done()
    }
    const timer = setTimeout(done, timeoutMs)
    node.libp2p.addEventListener('peer:identify', onIdentify)
  })
}
