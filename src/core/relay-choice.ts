/**
 * Which relays a peer uses: rendezvous (highest-random-weight) hashing of the peer id with each relay's id. Every peer
 * ranks the deployment's relays its own way, so peers spread evenly over the relays instead of all landing on the
 * first; a peer that loses its relay moves to its next one, which spreads the lost relay's peers evenly over the
 * others; and anyone can compute the same ranking for another peer, so a consumer tries first the relay a provider
 * most likely holds its reservation on. Adding or removing a relay moves only the peers that ranked it first.
 */
import { keccak_256 } from '@noble/hashes/sha3.js'

const encoder = new TextEncoder()

/** A peer's weight for one relay: the first 6 bytes of keccak256(peer id, relay id) as a number. */
export function relayWeight(peerId: string, relayId: string): number {
  const digest = keccak_256(encoder.encode(`${peerId}\n${relayId}`))
  let weight = 0
  for (let i = 0; i < 6; i++) weight = weight * 256 + digest[i]!
  return weight
}

/** `relays` ordered best first for `peerId` (ties, which need a 48-bit collision, broken by relay id). */
export function rankRelays<T>(peerId: string, relays: readonly T[], idOf: (relay: T) => string): T[] {
  return relays
    .map((relay) => ({ relay, id: idOf(relay), weight: relayWeight(peerId, idOf(relay)) }))
    .sort((a, b) => b.weight - a.weight || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((entry) => entry.relay)
}
