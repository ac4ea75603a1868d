/**
 * Registers a provider on-chain with its stake, binding operator ↔ node signer ↔ peer id, unless the registry
 * already binds exactly these (a reload of the Node view, a restarted demo provider). The signer key signs its
 * consent to the binding (the registry refuses a signer without it); the peer id cannot be proven on-chain (libp2p
 * Ed25519 keys), peers check it when they connect.
 */
import type { Client, Hex, LocalAccount } from 'viem'
import { readContract } from 'viem/actions'
import type { WalletClient } from '../chain/actions/internal.ts'
import { registerNode } from '../chain/actions/registerNode.ts'
import { signSignerBinding } from '../chain/actions/signSignerBinding.ts'
import { nodeRegistryAbi } from '../chain/generated.ts'
import type { Deployment } from '../core/deployment.ts'
import type { Prices } from '../core/quote.ts'
import { peerIdBytes } from '../p2p/registry.ts'

export type RegisterProviderParameters = {
  deployment: Deployment
  /** The node signer's key: it signs receipts, and here its consent to serve the operator. */
  signer: LocalAccount
  peerId: string
  models: readonly Hex[]
  prices: Prices
  stake: bigint
  metadataURI?: string
}

/** Returns whether a registration transaction was sent. */
export async function registerProvider(
  operator: WalletClient,
  reader: Client,
  p: RegisterProviderParameters,
): Promise<boolean> {
  const registry = p.deployment.contracts.NodeRegistry
  const token = p.deployment.contracts.AIToken
  if (!registry || !token) throw new Error('NodeRegistry and AIToken must be in the deployment')
  const peerId = peerIdBytes(p.peerId)
  const [bySigner, byPeer] = await Promise.all([
    readContract(reader, {
      address: registry,
      abi: nodeRegistryAbi,
      functionName: 'activeOperatorOf',
      args: [p.signer.address],
    }),
    readContract(reader, { address: registry, abi: nodeRegistryAbi, functionName: 'operatorOfPeerId', args: [peerId] }),
  ])
  const me = operator.account.address.toLowerCase()
  if (bySigner.toLowerCase() === me && byPeer.toLowerCase() === me) return false
  const signerProof = await signSignerBinding(reader, {
    registry,
    chainId: p.deployment.chainId,
    operator: operator.account.address,
    peerId,
    account: p.signer,
  })
  await registerNode(operator, {
    token,
    registry,
    stake: p.stake,
    signerProof,
    node: {
      peerId,
      signer: p.signer.address,
      models: p.models,
      pricePerMillionInput: p.prices.pricePerMillionInput,
      pricePerMillionOutput: p.prices.pricePerMillionOutput,
      metadataURI: p.metadataURI ?? '',
    },
  })
  return true
}
