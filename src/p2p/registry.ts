/**
 * The directory's registered mark from the chain: a node counts as registered when the NodeRegistry binds the
 * announced signer to the announced operator's active node (`activeOperatorOf`) and the announced peer id to the
 * same operator (`operatorOfPeerId`). Peer ids are stored in
 * the registry as the UTF-8 bytes of their base58 text (`peerIdBytes`). Answers are cached briefly, so a busy
 * topic does not turn into one RPC call per announcement.
 */
import { toHex, type Address, type Client, type Hex } from 'viem'
import { getChainId, readContract } from 'viem/actions'
import { nodeRegistryAbi } from '../chain/generated.ts'
import type { RegistrationLookup } from './directory.ts'

export function peerIdBytes(peerId: string): Hex {
  return toHex(peerId)
}

export type RegistryLookupOptions = { cacheMs?: number; now?: () => number }

export function registryLookup(
  client: Client,
  registry: Address,
  { cacheMs = 60_000, now = Date.now }: RegistryLookupOptions = {},
): RegistrationLookup {
  const cache = new Map<string, { at: number; value: boolean }>()
  let chainId: Promise<number> | undefined
  return async ({ chainId: announced, operator, signer, peerId }) => {
    try {
      chainId ??= getChainId(client)
      // An announcement for another chain cannot be registered on this one.
      if ((await chainId) !== announced) return false
      const key = `${operator}\n${signer}\n${peerId}`
      const hit = cache.get(key)
      if (hit && now() - hit.at < cacheMs) return hit.value
      // Two single-address reads: the operator an active signer belongs to, and the operator owning the peer id.
      const [ofSigner, ofPeer] = await Promise.all([
        readContract(client, {
          address: registry,
          abi: nodeRegistryAbi,
          functionName: 'activeOperatorOf',
          args: [signer],
        }),
        readContract(client, {
          address: registry,
          abi: nodeRegistryAbi,
          functionName: 'operatorOfPeerId',
          args: [peerIdBytes(peerId)],
        }),
      ])
      const value = ofSigner.toLowerCase() === operator.toLowerCase() && ofPeer.toLowerCase() === operator.toLowerCase()
      cache.set(key, { at: now(), value })
      if (cache.size > 10_000) cache.delete(cache.keys().next().value as string)
      return value
    } catch {
      chainId = undefined
      return null
    }
  }
}
