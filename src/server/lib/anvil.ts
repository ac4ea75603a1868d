/**
 * A local anvil chain for the devnet, tests and benchmarks: the native binary from `@foundry-rs/anvil`, on
 * 127.0.0.1, with anvil's well-known test mnemonic so accounts and keys are fixed and documented.
 */
import { DEVNET_CHAIN_ID, DEVNET_MNEMONIC } from '../../chain/devnet-faucet.ts'
import { foundryBinary } from './foundry.ts'
import { startProcess, type ManagedProcess } from './process.ts'

export { DEVNET_CHAIN_ID, DEVNET_MNEMONIC }
/** Private keys of the first accounts of DEVNET_MNEMONIC (anvil's defaults): public knowledge, devnet only. */
export const DEVNET_PRIVATE_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
] as const

export type AnvilParameters = {
  host?: string
  port: number
  chainId?: number
  /** Seconds between blocks; omitted: a block per transaction. */
  blockTime?: number
  silent?: boolean
}

export type Anvil = { rpcUrl: string; chainId: number; process: ManagedProcess; stop(): Promise<void> }

export async function startAnvil({
  host = '127.0.0.1',
  port,
  chainId = DEVNET_CHAIN_ID,
  blockTime,
  silent = true,
}: AnvilParameters): Promise<Anvil> {
  const args = [
    '--host',
    host,
    '--port',
    String(port),
    '--chain-id',
    String(chainId),
    '--mnemonic',
    DEVNET_MNEMONIC,
    '--accounts',
    '10',
  ]
  if (blockTime !== undefined) args.push('--block-time', String(blockTime))
  if (silent) args.push('--silent')
  const proc = startProcess('anvil', foundryBinary('anvil'), args)
  const rpcUrl = `http://${host}:${port}`
  await waitForRpc(rpcUrl, proc, 15_000)
  return { rpcUrl, chainId, process: proc, stop: () => proc.stop() }
}

async function waitForRpc(rpcUrl: string, proc: ManagedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let exited = false
  void proc.exited.then(() => (exited = true))
  while (Date.now() < deadline) {
    if (exited) throw new Error(`anvil exited before serving ${rpcUrl}. Output:\n${proc.output()}`)
    try {
      const response = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
        signal: AbortSignal.timeout(1_000),
      })
      if (response.ok) return
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  await proc.stop()
  throw new Error(`anvil did not answer on ${rpcUrl} within ${timeoutMs} ms. Output:\n${proc.output()}`)
}
