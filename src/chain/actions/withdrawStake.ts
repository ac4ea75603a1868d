/** Sends the account's unbonded stake back once the unbonding delay has passed (rescaled if the token split since). */
import { parseEventLogs, type Address, type Hash } from 'viem'
import { nodeRegistryAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type WithdrawStakeParameters = { registry: Address }
export type WithdrawStakeReturnType = { transactionHash: Hash; amount: bigint }

export async function withdrawStake(
  client: WalletClient,
  { registry }: WithdrawStakeParameters,
): Promise<WithdrawStakeReturnType> {
  const { transactionHash, receipt } = await execute(client, 'NodeRegistry', {
    address: registry,
    abi: nodeRegistryAbi,
    functionName: 'withdraw',
    args: [],
  })
  const [event] = parseEventLogs({ abi: nodeRegistryAbi, eventName: 'StakeWithdrawn', logs: receipt.logs })
  if (!event) throw new Error(`No StakeWithdrawn event in ${transactionHash}`)
  return { transactionHash, amount: event.args.amount }
}
