/**
 * Signs a node signer's consent to serve an operator's node with a peer id (EIP-712 `SignerBinding` in the
 * NodeRegistry domain). `registerNode` and `updateNode` need it whenever they set a signer other than the node's
 * current one, so no one can bind a key they do not hold. The nonce is the signer's `signerNonces` in the registry;
 * each binding uses one up, so a consent is good for one binding only.
 */
import type { Account, Address, Client, Hex } from 'viem'
import { readContract, signTypedData } from 'viem/actions'
import { nodeRegistryAbi } from '../generated.ts'

export const SIGNER_BINDING_TYPES = {
  SignerBinding: [
    { name: 'operator', type: 'address' },
    { name: 'peerId', type: 'bytes' },
    { name: 'nonce', type: 'uint256' },
  ],
} as const

/**
 * `account`: the signer (a local account signs without a wallet pop-up); defaults to the client's account.
 * `nonce`: the signer's next nonce; read from the registry when left out.
 */
export type SignSignerBindingParameters = {
  registry: Address
  chainId: number
  operator: Address
  peerId: Hex
  nonce?: bigint
  account?: Account
}
export type SignSignerBindingReturnType = Hex

export async function signSignerBinding(
  client: Client,
  { registry, chainId, operator, peerId, nonce, account = client.account }: SignSignerBindingParameters,
): Promise<SignSignerBindingReturnType> {
  if (!account) throw new Error('signSignerBinding needs the signer account (pass `account` or a client with one)')
  const signerNonce =
    nonce ??
    (await readContract(client, {
      address: registry,
      abi: nodeRegistryAbi,
      functionName: 'signerNonces',
      args: [account.address],
    }))
  return signTypedData(client, {
    account,
    domain: { name: 'Modelex NodeRegistry', version: '1', chainId, verifyingContract: registry },
    types: SIGNER_BINDING_TYPES,
    primaryType: 'SignerBinding',
    message: { operator, peerId, nonce: signerNonce },
  })
}
