/**
 * Subscribes the SentimentConsumer to an asset's score on a schedule (for example daily over the last 90 days of a
 * data set of dated headlines): approves `rounds × feePerRound` to the consumer if needed, then `subscribeScore`. The
 * caller is the funder: only it can cancel and take the balance back (`cancelScoreSubscription`).
 */
import { parseEventLogs, type Address, type Hash, type Hex } from 'viem'
import { sentimentConsumerAbi } from '../generated.ts'
import { ensureAllowance, execute, type WalletClient } from './internal.ts'

export type ScoreSchedule = {
  datasetHash: Hex
  windowSeconds: number
  start: bigint
  period: number
  rounds: number
  k: number
  commitWindow: number
  revealWindow: number
  feePerRound: bigint
}
export type SubscribeScoreParameters = { token: Address; consumer: Address; asset: string; schedule: ScoreSchedule }
export type SubscribeScoreReturnType = { subscriptionId: bigint; transactionHash: Hash }

export async function subscribeScore(
  client: WalletClient,
  { token, consumer, asset, schedule }: SubscribeScoreParameters,
): Promise<SubscribeScoreReturnType> {
  await ensureAllowance(client, { token, spender: consumer, amount: schedule.feePerRound * BigInt(schedule.rounds) })
  const { transactionHash, receipt } = await execute(client, 'SentimentConsumer', {
    address: consumer,
    abi: sentimentConsumerAbi,
    functionName: 'subscribeScore',
    args: [asset, schedule],
  })
  const [subscribed] = parseEventLogs({ abi: sentimentConsumerAbi, eventName: 'ScoreSubscribed', logs: receipt.logs })
  if (!subscribed) throw new Error(`No ScoreSubscribed event in ${transactionHash}`)
  return { subscriptionId: subscribed.args.subscriptionId, transactionHash }
}
