/**
 * Registers a provider on-chain with its stake, binding operator ↔ node signer ↔ peer id, unless the registry
 * already binds exactly these (a reload of the Node view, a restarted demo provider).
 */
import type { Address, Client, Hex } from 'viem'
import { readContract } from 'viem/actions'
import type { WalletClient } from '../chain/actions/internal.ts'
import { registerNode } from '../chain/actions/registerNode.ts'
import { nodeRegistryAbi } from '../chain/generated.ts'
import type { Deployment } from '../core/deployment.ts'
import type { Prices } from '../core/quote.ts'
import { peerIdBytes } from '../p2p/registry.ts'

export type RegisterProviderParameters = {
  deployment: Deployment
  signer: Address
  peerId: string
  models: readonly Hex[]
  prices: Prices
  stake: bigint
  metadataURI?: string
}

/** Returns whether a registration transaction was sent. */
export async function registerProvider(operator: WalletClient, reader: Client, p: RegisterProviderParameters): Promise<boolean> {
  const registry = p.deployment.contracts.NodeRegistry
  const token = p.deployment.contracts.AIToken
  if (!registry || !token) throw new Error('NodeRegistry and AIToken must be in the deployment')
  const [bySigner, byPeer] = await Promise.all([
    readContract(reader, { address: registry, abi: nodeRegistryAbi, functionName: 'activeOperatorOf', args: [p.signer] }),
    readContract(reader, { address: registry, abi: nodeRegistryAbi, functionName: 'operatorOfPeerId', args: [peerIdBytes(p.peerId)] }),
  ])
  const me = operator.account.address.toLowerCase()
  if (bySigner.toLowerCase() === me && byPeer.toLowerCase() === me) return false
  await registerNode(operator, {
    token,
    registry,
    stake: p.stake,
    node: { peerId: peerIdBytes(p.peerId), signer: p.signer, models: p.models, pricePerMillionInput: p.prices.pricePerMillionInput, pricePerMillionOutput: p.prices.pricePerMillionOutput, metadataURI: p.metadataURI ?? '' },
  })
  return true
}
