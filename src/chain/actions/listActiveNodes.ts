/** Reads a page of active nodes from the registry. */
import type { Address, Client } from 'viem'
import { readContract } from 'viem/actions'
import { nodeRegistryAbi } from '../generated.ts'

export type ListActiveNodesParameters = { registry: Address; offset?: bigint; limit?: bigint }
export type ListActiveNodesReturnType = {
  nodes: readonly {
    operator: Address
    signer: Address
    peerId: `0x${string}`
    models: readonly `0x${string}`[]
    pricePerMillionInput: bigint
    pricePerMillionOutput: bigint
    metadataURI: string
    stake: bigint
    whitelisted: boolean
  }[]
  total: bigint
}

export async function listActiveNodes(
  client: Client,
  { registry, offset = 0n, limit = 100n }: ListActiveNodesParameters,
): Promise<ListActiveNodesReturnType> {
  const [page, total] = await readContract(client, {
    address: registry,
    abi: nodeRegistryAbi,
    functionName: 'activeNodes',
    args: [offset, limit],
  })
  return { nodes: page, total }
}
