/**
 * Builds the Foundry project in `contracts/` and deploys it to a chain. Used by the local stack and by the
 * integration tests' global setup. (Filled in by the contracts issue; until then there is nothing to deploy.)
 */
import type { Address, ContractName } from '../core/deployment.ts'

export type DeployContractsParameters = {
  rpcUrl: string
  /** Deployer and governor key (on the devnet: anvil's first account). */
  privateKey: `0x${string}`
  log?: (line: string) => void
}

export type DeployContractsReturnType = {
  contracts: Partial<Record<ContractName, Address>>
  startBlock: number
}

export async function deployContracts(_parameters: DeployContractsParameters): Promise<DeployContractsReturnType> {
  return { contracts: {}, startBlock: 0 }
}
