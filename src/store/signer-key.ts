/**
 * The node signer: a secp256k1 key made in the browser and kept in IndexedDB. It signs announcements and receipts
 * without a wallet pop-up; the registry binds it to the operator's wallet on-chain. The same keeping serves the
 * other keys that live in a store: the devnet burners, session keys and the gateway's devnet wallet.
 */
import type { Hex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import type { Address } from '../core/deployment.ts'
import { StoredKeyError } from '../core/errors/p2p.ts'
import type { KeyValueStore } from './kv.ts'

export const SIGNER_KEY = 'node-signer-key'

export type NodeSigner = { privateKey: Hex; address: Address }

export async function loadOrCreateSignerKey(store: KeyValueStore): Promise<NodeSigner> {
  const privateKey = await loadOrCreatePrivateKey(store, SIGNER_KEY, 'node signer key')
  return { privateKey, address: privateKeyToAddress(privateKey) }
}

/**
 * A secp256k1 private key kept under `key` (the node signer, the devnet burners, session keys): made and stored on
 * first use, read back after. A stored value that is not a key is refused with `StoredKeyError`, never replaced
 * (the key may hold funds).
 */
export async function loadOrCreatePrivateKey(store: KeyValueStore, key: string, what: string): Promise<Hex> {
  const stored = await store.get(key)
  if (stored !== undefined) {
    if (typeof stored !== 'string' || !/^0x[0-9a-f]{64}$/i.test(stored))
      throw new StoredKeyError(
        `The stored ${what} is malformed. Clear the site data (or the state file) to create a new one.`,
      )
    return stored as Hex
  }
  const privateKey = generatePrivateKey()
  await store.set(key, privateKey)
  return privateKey
}
