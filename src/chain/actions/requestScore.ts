/**
 * Asks the SentimentConsumer for an asset's score (one oracle request through it): approves the fee to the consumer
 * if needed, then `requestScore`. The caller is the request's funder: only it can claim the request's refund
 * (`claimScoreRefund`).
 */
import { parseEventLogs, type Address, type Hash } from 'viem'
import { sentimentConsumerAbi } from '../generated.ts'
import { ensureAllowance, execute, type WalletClient } from './internal.ts'

export type RequestScoreParameters = {
  token: Address
  consumer: Address
  asset: string
  fee: bigint
  k: number
  commitDeadline: bigint
  revealDeadline: bigint
}
export type RequestScoreReturnType = { requestId: bigint; transactionHash: Hash }

export async function requestScore(
  client: WalletClient,
  { token, consumer, asset, fee, k, commitDeadline, revealDeadline }: RequestScoreParameters,
): Promise<RequestScoreReturnType> {
  await ensureAllowance(client, { token, spender: consumer, amount: fee })
  const { transactionHash, receipt } = await execute(client, 'SentimentConsumer', {
    address: consumer,
    abi: sentimentConsumerAbi,
    functionName: 'requestScore',
    args: [asset, fee, k, commitDeadline, revealDeadline],
  })
  const [requested] = parseEventLogs({ abi: sentimentConsumerAbi, eventName: 'ScoreRequested', logs: receipt.logs })
  if (!requested) throw new Error(`No ScoreRequested event in ${transactionHash}`)
  return { requestId: requested.args.requestId, transactionHash }
}
