/**
 * Reaching a node we know only by peer id (from its announcement): an open connection if there is one, else
 * through the deployment's relays — WebRTC first where this runtime has it (a direct browser-to-browser
 * connection, signalled through the relay), then a plain relayed circuit. With several relays, they are tried in
 * the order the node itself ranks them (`src/core/relay-choice.ts`): its reservation is on the first of them that
 * was up, so the first try usually is the right one, and after a relay died, the second.
 */
import type { Connection, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { rankRelays } from '../core/relay-choice.ts'
import { INFER_CLIENT_DEFAULTS } from './constants.ts'
import { directConnection, relayIdOf, type ModelexNode } from './node.ts'

export function toPeerId(peer: PeerId | string): PeerId {
  return typeof peer === 'string' ? peerIdFromString(peer) : peer
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
  if (existing) return existing
  try {
    return await libp2p.dial(peer, { signal: dialSignal })
  } catch (error) {
    errors.push(error)
  }
  for (const address of circuitAddresses(node, peer, 'circuit')) {
    try {
      return await libp2p.dial(address, { signal: dialSignal })
    } catch (error) {
      errors.push(error)
    }
  }
  throw new AggregateError(
    errors,
    `could not reach ${peer.toString()} directly or through ${node.relays.length} relay(s)`,
  )
}
