/** Cancels the caller's score subscription through the SentimentConsumer and takes its balance back. Funder only. */
import { parseEventLogs, type Address, type Hash } from 'viem'
import { sentimentConsumerAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type CancelScoreSubscriptionParameters = { consumer: Address; subscriptionId: bigint }
export type CancelScoreSubscriptionReturnType = { transactionHash: Hash; amount: bigint }

export async function cancelScoreSubscription(
  client: WalletClient,
  { consumer, subscriptionId }: CancelScoreSubscriptionParameters,
): Promise<CancelScoreSubscriptionReturnType> {
  const { transactionHash, receipt } = await execute(client, 'SentimentConsumer', {
    address: consumer,
    abi: sentimentConsumerAbi,
    functionName: 'cancelScoreSubscription',
    args: [subscriptionId],
  })
  const [withdrawn] = parseEventLogs({
    abi: sentimentConsumerAbi,
    eventName: 'SubscriptionWithdrawn',
    logs: receipt.logs,
  })
  if (!withdrawn) throw new Error(`No SubscriptionWithdrawn event in ${transactionHash}`)
  return { transactionHash, amount: withdrawn.args.amount }
}
