/**
 * Asks a deployment's chain how it is doing: its id and latest block, or why it cannot be reached. The Overview
 * imports this module only once a deployment is found, so viem is not part of the app shell.
 */
import { createPublicClient, http } from 'viem'
import type { Deployment } from '../core/deployment.ts'

export type ChainStatus =
  { reachable: true; chainId: number; blockNumber: bigint } | { reachable: false; reason: string }

export async function readChainStatus(deployment: Deployment, timeoutMs = 3_000): Promise<ChainStatus> {
  const client = createPublicClient({ transport: http(deployment.rpcUrl, { timeout: timeoutMs, retryCount: 0 }) })
  try {
    const [chainId, blockNumber] = await Promise.all([client.getChainId(), client.getBlockNumber()])
    if (chainId !== deployment.chainId)
      return {
        reachable: false,
        reason: `the RPC serves chain ${chainId}, the deployment file says ${deployment.chainId}`,
      }
    return { reachable: true, chainId, blockNumber }
  } catch (error) {
    return {
      reachable: false,
      reason:
        error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.message) : String(error),
    }
  }
}
