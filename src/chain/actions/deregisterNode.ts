/** Deactivates the account's node and moves all its stake into unbonding. */
import { parseEventLogs, type Address, type Hash } from 'viem'
import { nodeRegistryAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type DeregisterNodeParameters = { registry: Address }
/** `unbonding`: AI wei now unbonding; `unbondingEnds`: when `withdrawStake` may run (unix seconds). */
export type DeregisterNodeReturnType = { transactionHash: Hash; unbonding: bigint; unbondingEnds: bigint }

export async function deregisterNode(
  client: WalletClient,
  { registry }: DeregisterNodeParameters,
): Promise<DeregisterNodeReturnType> {
  const { transactionHash, receipt } = await execute(client, 'NodeRegistry', {
    address: registry,
    abi: nodeRegistryAbi,
    functionName: 'deregister',
    args: [],
  })
  const [event] = parseEventLogs({ abi: nodeRegistryAbi, eventName: 'NodeDeregistered', logs: receipt.logs })
  if (!event) throw new Error(`No NodeDeregistered event in ${transactionHash}`)
  return { transactionHash, unbonding: event.args.unbonding, unbondingEnds: event.args.unbondingEnds }
}
