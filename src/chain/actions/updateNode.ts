/** Replaces what the account's active node declared (peer id, signer, models, prices, metadata). */
import type { Address, Hash } from 'viem'
import { nodeRegistryAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'
import type { NodeDeclaration } from './registerNode.ts'

export type UpdateNodeParameters = { registry: Address; node: NodeDeclaration }
export type UpdateNodeReturnType = { transactionHash: Hash; blockNumber: bigint }

export async function updateNode(client: WalletClient, { registry, node }: UpdateNodeParameters): Promise<UpdateNodeReturnType> {
  const { transactionHash, receipt } = await execute(client, 'NodeRegistry', { address: registry, abi: nodeRegistryAbi, functionName: 'update', args: [node] })
  return { transactionHash, blockNumber: receipt.blockNumber }
}
