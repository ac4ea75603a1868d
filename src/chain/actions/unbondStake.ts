/** Moves part of the account's node stake into unbonding; what stays must still meet the minimum (public tier). */
import { parseEventLogs, type Address, type Hash } from 'viem'
import { nodeRegistryAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type UnbondStakeParameters = { registry: Address; amount: bigint }
/** `stake` and `unbonding` after the call, in AI wei; `unbondingEnds` is when `withdrawStake` may run (unix seconds). */
export type UnbondStakeReturnType = { transactionHash: Hash; stake: bigint; unbonding: bigint; unbondingEnds: bigint }

export async function unbondStake(
  client: WalletClient,
  { registry, amount }: UnbondStakeParameters,
): Promise<UnbondStakeReturnType> {
  const { transactionHash, receipt } = await execute(client, 'NodeRegistry', {
    address: registry,
    abi: nodeRegistryAbi,
    functionName: 'unbond',
    args: [amount],
  })
  const [event] = parseEventLogs({ abi: nodeRegistryAbi, eventName: 'StakeUnbonding', logs: receipt.logs })
  if (!event) throw new Error(`No StakeUnbonding event in ${transactionHash}`)
  return {
    transactionHash,
    stake: event.args.stake,
    unbonding: event.args.unbonding,
    unbondingEnds: event.args.unbondingEnds,
  }
}
