/** The address of a deployed contract in an integration test's deployment, or a clear failure. */
import type { Address, ContractName, Deployment } from '../../core/deployment.ts'

export function deployedContract(deployment: Deployment, name: ContractName): Address {
  const address = deployment.contracts[name]
  if (!address) throw new Error(`${name} is not deployed`)
  return address
}
