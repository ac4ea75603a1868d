/**
 * Reads the deployment file the local stack serves at `/deployment.json`. Asking its chain how it is doing is
 * `chain-status.ts`, kept apart so the app shell can load a deployment without viem (docs/ARCHITECTURE.md, "App
 * shell").
 */
import { parseDeployment, type Deployment } from '../core/deployment.ts'

export type LoadDeploymentParameters = { url?: string; fetch?: typeof fetch }

/** Returns the deployment, or null when the app is served without a local stack (204 or 404). */
export async function loadDeployment({
  url = '/deployment.json',
  fetch: fetchFn = fetch,
}: LoadDeploymentParameters = {}): Promise<Deployment | null> {
  const response = await fetchFn(url, { cache: 'no-store' })
  if (response.status === 204 || response.status === 404) return null
  if (!response.ok) throw new Error(`Fetching ${url} failed with HTTP ${response.status}.`)
  return parseDeployment(await response.json())
}
