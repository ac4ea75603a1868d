/**
 * Cancels a subscription (no more rounds open) and withdraws its balance to the owner; call again later to withdraw
 * the refunds of rounds that were open when it was cancelled. Owner only.
 */
import { parseEventLogs, type Address, type Hash } from 'viem'
import { oracleRouterAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type CancelSubscriptionParameters = { router: Address; subscriptionId: bigint }
export type CancelSubscriptionReturnType = { transactionHash: Hash; amount: bigint }

export async function cancelSubscription(
  client: WalletClient,
  { router, subscriptionId }: CancelSubscriptionParameters,
): Promise<CancelSubscriptionReturnType> {
  const { transactionHash, receipt } = await execute(client, 'OracleRouter', {
    address: router,
    abi: oracleRouterAbi,
    functionName: 'cancelSubscription',
    args: [subscriptionId],
  })
  const [cancelled] = parseEventLogs({ abi: oracleRouterAbi, eventName: 'SubscriptionCancelled', logs: receipt.logs })
  if (!cancelled) throw new Error(`No SubscriptionCancelled event in ${transactionHash}`)
  return { transactionHash, amount: cancelled.args.amount }
}
