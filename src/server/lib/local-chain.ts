/** anvil with the contracts deployed: the chain half of a deployment, for the local stack and the integration tests. */
import type { Deployment } from '../../core/deployment.ts'
import { DEVNET_PRIVATE_KEYS, startAnvil, type Anvil } from './anvil.ts'
import { deployContracts } from './contracts.ts'

export type LocalChain = { anvil: Anvil; chain: Omit<Deployment, 'relay'> }

export async function startLocalChain({
  host = '127.0.0.1',
  port,
  log,
}: {
  host?: string
  port: number
  log?: (line: string) => void
}): Promise<LocalChain> {
  const anvil = await startAnvil({ host, port })
  try {
    const deployed = await deployContracts({
      rpcUrl: anvil.rpcUrl,
      privateKey: DEVNET_PRIVATE_KEYS[0],
      ...(log ? { log } : {}),
    })
    return {
      anvil,
      chain: {
        version: 1,
        chainId: anvil.chainId,
        rpcUrl: anvil.rpcUrl,
        startBlock: deployed.startBlock,
        contracts: deployed.contracts,
      },
    }
  } catch (error) {
    await anvil.stop()
    throw error
  }
}
