/**
 * Replaces what the account's active node declared (peer id, signer, models, prices, metadata). A new signer (or
 * a retired one of this operator) needs its consent in `signerProof` (`signSignerBinding`); the replaced signer is
 * retired but stays bound to the operator, so what it signed can still be slashed.
 */
import type { Address, Hash, Hex } from 'viem'
import { nodeRegistryAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'
import type { NodeDeclaration } from './registerNode.ts'

/** `signerProof`: defaults to `0x`, enough when `node.signer` is the node's current signer. */
export type UpdateNodeParameters = { registry: Address; node: NodeDeclaration; signerProof?: Hex }
export type UpdateNodeReturnType = { transactionHash: Hash; blockNumber: bigint }

export async function updateNode(
  client: WalletClient,
  { registry, node, signerProof = '0x' }: UpdateNodeParameters,
): Promise<UpdateNodeReturnType> {
  const { transactionHash, receipt } = await execute(client, 'NodeRegistry', {
    address: registry,
    abi: nodeRegistryAbi,
    functionName: 'update',
    args: [node, signerProof],
  })
  return { transactionHash, blockNumber: receipt.blockNumber }
}
