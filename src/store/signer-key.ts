/**
 * The node signer: a secp256k1 key made in the browser and kept in IndexedDB. It signs announcements (and, later,
 * receipts) without a wallet pop-up; the registry binds it to the operator's wallet on-chain.
 */
import type { Hex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import type { Address } from '../core/deployment.ts'
import { StoredKeyError } from '../core/errors/p2p.ts'
import type { KeyValueStore } from './kv.ts'

export const SIGNER_KEY = 'node-signer-key'

export type NodeSigner = { privateKey: Hex; address: Address }

export async function loadOrCreateSignerKey(store: KeyValueStore): Promise<NodeSigner> {
  const stored = await store.get(SIGNER_KEY)
  if (stored !== undefined) {
    if (typeof stored !== 'string' || !/^0x[0-9a-f]{64}$/i.test(stored)) throw new StoredKeyError('The stored node signer key is malformed. Clear the site data to create a new signer (and register it again).')
    return { privateKey: stored as Hex, address: privateKeyToAddress(stored as Hex) }
  }
  const privateKey = generatePrivateKey()
  await store.set(SIGNER_KEY, privateKey)
  return { privateKey, address: privateKeyToAddress(privateKey) }
}
