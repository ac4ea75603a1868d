/** Registers the account's node and stakes in one transaction (`transferAndCall` into the registry). */
import { encodeFunctionData, type Address, type Hash, type Hex } from 'viem'
import { aiTokenAbi, nodeRegistryAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type NodeDeclaration = {
  peerId: Hex
  signer: Address
  models: readonly Hex[]
  pricePerMillionInput: bigint
  pricePerMillionOutput: bigint
  metadataURI: string
}

/**
 * `signerProof`: `node.signer`'s consent to serve this operator with `node.peerId` (`signSignerBinding`); may be
 * `0x` only when re-registering with the node's current signer.
 */
export type RegisterNodeParameters = {
  token: Address
  registry: Address
  node: NodeDeclaration
  signerProof: Hex
  stake: bigint
}
export type RegisterNodeReturnType = { transactionHash: Hash; blockNumber: bigint }

export async function registerNode(
  client: WalletClient,
  { token, registry, node, signerProof, stake }: RegisterNodeParameters,
): Promise<RegisterNodeReturnType> {
  const data = encodeFunctionData({ abi: nodeRegistryAbi, functionName: 'register', args: [node, signerProof, 0n] })
  const { transactionHash, receipt } = await execute(client, 'AIToken', {
    address: token,
    abi: aiTokenAbi,
    functionName: 'transferAndCall',
    args: [registry, stake, data],
  })
  return { transactionHash, blockNumber: receipt.blockNumber }
}
