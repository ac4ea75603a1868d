/**
 * Integration suite setup: a real anvil on a free 127.0.0.1 port with the contracts deployed, shared by every
 * integration test through `inject('deployment')`, and stopped by its PID when the suite ends.
 */
import type { TestProject } from 'vitest/node'
import type { Deployment } from '../../core/deployment.ts'
import type { Anvil } from '../lib/anvil.ts'
import { startLocalChain } from '../lib/local-chain.ts'
import { freePort } from '../lib/ports.ts'
import './context.ts'

let anvil: Anvil | undefined

export async function setup(project: TestProject): Promise<void> {
  const local = await startLocalChain({ port: await freePort() })
  anvil = local.anvil
  const deployment: Deployment = { ...local.chain, relay: null }
  project.provide('deployment', deployment)
}

export async function teardown(): Promise<void> {
  await anvil?.stop()
}
