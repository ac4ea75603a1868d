/**
 * Integration suite setup: a real anvil on a free 127.0.0.1 port with the contracts deployed, shared by every
 * integration test through `inject('deployment')`, and stopped by its PID when the suite ends.
 */
import type { TestProject } from 'vitest/node'
import type { Deployment } from '../../core/deployment.ts'
import { DEVNET_PRIVATE_KEYS, startAnvil, type Anvil } from '../anvil.ts'
import { deployContracts } from '../contracts.ts'
import { freePort } from '../ports.ts'
import './context.ts'

let anvil: Anvil | undefined

export async function setup(project: TestProject): Promise<void> {
  anvil = await startAnvil({ port: await freePort() })
  const deployed = await deployContracts({ rpcUrl: anvil.rpcUrl, privateKey: DEVNET_PRIVATE_KEYS[0] })
  const deployment: Deployment = {
    version: 1,
    chainId: anvil.chainId,
    rpcUrl: anvil.rpcUrl,
    startBlock: deployed.startBlock,
    contracts: deployed.contracts,
    relay: null,
  }
  project.provide('deployment', deployment)
}

export async function teardown(): Promise<void> {
  await anvil?.stop()
}
