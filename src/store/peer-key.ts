/**
 * The libp2p peer key (Ed25519): created once and kept, so a node's peer id stays the same across reloads and
 * restarts. Stored as the libp2p protobuf encoding; a stored value that does not decode is an error, never
 * silently replaced (that would change the node's identity).
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { StoredKeyError } from '../core/errors/p2p.ts'
import type { KeyValueStore } from './kv.ts'

export const PEER_KEY = 'peer-key'

export async function loadOrCreatePeerKey(store: KeyValueStore): Promise<PrivateKey> {
  const stored = await store.get(PEER_KEY)
  if (stored !== undefined) return decodePeerKey(stored)
  const key = await generateKeyPair('Ed25519')
  await store.set(PEER_KEY, privateKeyToProtobuf(key))
  return key
}

export function decodePeerKey(stored: unknown): PrivateKey {
  if (!(stored instanceof Uint8Array))
    throw new StoredKeyError('The stored peer key is not bytes. Clear the site data to create a new peer identity.')
  try {
    return privateKeyFromProtobuf(stored)
  } catch (error) {
    throw new StoredKeyError(
      'The stored peer key does not decode. Clear the site data to create a new peer identity.',
      { cause: error },
    )
  }
}
