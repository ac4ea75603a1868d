/**
 * Reads the deployment file the local stack serves at `/deployment.json` and asks its chain how it is doing.
 */
import { createPublicClient, http } from 'viem'
import { parseDeployment, type Deployment } from '../core/deployment.ts'

export type LoadDeploymentParameters = { url?: string; fetch?: typeof fetch }

/** Returns the deployment, or null when the app is served without a local stack (204 or 404). */
export async function loadDeployment({ url = '/deployment.json', fetch: fetchFn = fetch }: LoadDeploymentParameters = {}): Promise<Deployment | null> {
  const response = await fetchFn(url, { cache: 'no-store' })
  if (response.status === 204 || response.status === 404) return null
  if (!response.ok) throw new Error(`Fetching ${url} failed with HTTP ${response.status}.`)
  return parseDeployment(await response.json())
}

export type ChainStatus = { reachable: true; chainId: number; blockNumber: bigint } | { reachable: false; reason: string }

export async function readChainStatus(deployment: Deployment, timeoutMs = 3_000): Promise<ChainStatus> {
  const client = createPublicClient({ transport: http(deployment.rpcUrl, { timeout: timeoutMs, retryCount: 0 }) })
  try {
    const [chainId, blockNumber] = await Promise.all([client.getChainId(), client.getBlockNumber()])
    if (chainId !== deployment.chainId) return { reachable: false, reason: `the RPC serves chain ${chainId}, the deployment file says ${deployment.chainId}` }
    return { reachable: true, chainId, blockNumber }
  } catch (error) {
    return { reachable: false, reason: error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.message) : String(error) }
  }
}
