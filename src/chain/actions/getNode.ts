/** Reads one node's registry entry: whether it is active, its signer and the prices it registered (AI wei per million tokens). */
import type { Address, Client } from 'viem'
import { readContract } from 'viem/actions'
import { nodeRegistryAbi } from '../generated.ts'

export type GetNodeParameters = { registry: Address; operator: Address }
export type GetNodeReturnType = {
  active: boolean
  signer: Address
  pricePerMillionInput: bigint
  pricePerMillionOutput: bigint
}

export async function getNode(client: Client, { registry, operator }: GetNodeParameters): Promise<GetNodeReturnType> {
  const n = await readContract(client, {
    address: registry,
    abi: nodeRegistryAbi,
    functionName: 'getNode',
    args: [operator],
  })
  return {
    active: n.active,
    signer: n.signer,
    pricePerMillionInput: n.pricePerMillionInput,
    pricePerMillionOutput: n.pricePerMillionOutput,
  }
}
