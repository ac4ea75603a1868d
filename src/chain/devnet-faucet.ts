/**
 * The devnet's faucet: anvil's public test accounts (funded on the local chain, worthless anywhere else) top up a
 * burner wallet with ETH for gas and AI to stake or deposit. Used by the app's burner wallets and by the gateway's
 * devnet wallet; refuses any chain but the devnet's.
 */
import { createPublicClient, createWalletClient, defineChain, http, parseEther, type Address } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { readContract, waitForTransactionReceipt, writeContract } from 'viem/actions'
import type { Deployment } from '../core/deployment.ts'
import { aiTokenAbi } from './generated.ts'

/** anvil's public test mnemonic. */
export const DEVNET_MNEMONIC = 'test test test test test test test test test test test junk'
export const DEVNET_CHAIN_ID = 31337

/** The devnet as a viem chain (for wallets that need one). */
export function deploymentChain(deployment: Deployment) {
  const devnet = deployment.chainId === DEVNET_CHAIN_ID
  return defineChain({
    id: deployment.chainId,
    name: devnet ? 'Modelex devnet' : `Chain ${deployment.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [deployment.rpcUrl] } },
  })
}

/** Tops `address` up to 1 ETH (sending 5) and to `ai` AI from anvil test account number `funder`. */
export async function fundFromDevnet(
  deployment: Deployment,
  address: Address,
  { funder, ai = parseEther('1000') }: { funder: number; ai?: bigint },
): Promise<void> {
  if (deployment.chainId !== DEVNET_CHAIN_ID)
    throw new Error(
      `The devnet faucet exists only on the local devnet (chain ${DEVNET_CHAIN_ID}), not on chain ${deployment.chainId}.`,
    )
  const chain = deploymentChain(deployment)
  const transport = http(deployment.rpcUrl)
  const reader = createPublicClient({ chain, transport, pollingInterval: 100 })
  const wallet = createWalletClient({
    account: mnemonicToAccount(DEVNET_MNEMONIC, { addressIndex: funder }),
    chain,
    transport,
    pollingInterval: 100,
  })
  if ((await reader.getBalance({ address })) < parseEther('1')) {
    await waitForTransactionReceipt(reader, {
      hash: await wallet.sendTransaction({ to: address, value: parseEther('5') }),
    })
  }
  const token = deployment.contracts.AIToken
  if (!token) return
  const balance = await readContract(reader, {
    address: token,
    abi: aiTokenAbi,
    functionName: 'balanceOf',
    args: [address],
  })
  if (balance < ai)
    await waitForTransactionReceipt(reader, {
      hash: await writeContract(wallet, {
        address: token,
        abi: aiTokenAbi,
        functionName: 'transfer',
        args: [address, ai - balance],
        chain,
      }),
    })
}
