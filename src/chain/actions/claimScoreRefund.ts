/** Claims, through the SentimentConsumer, what the caller's settled score request did not spend. Funder only. */
import { parseEventLogs, type Address, type Hash } from 'viem'
import { sentimentConsumerAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type ClaimScoreRefundParameters = { consumer: Address; requestId: bigint }
export type ClaimScoreRefundReturnType = { transactionHash: Hash; amount: bigint }

export async function claimScoreRefund(
  client: WalletClient,
  { consumer, requestId }: ClaimScoreRefundParameters,
): Promise<ClaimScoreRefundReturnType> {
  const { transactionHash, receipt } = await execute(client, 'SentimentConsumer', {
    address: consumer,
    abi: sentimentConsumerAbi,
    functionName: 'claimRefund',
    args: [requestId],
  })
  const [claimed] = parseEventLogs({ abi: sentimentConsumerAbi, eventName: 'RefundClaimed', logs: receipt.logs })
  if (!claimed) throw new Error(`No RefundClaimed event in ${transactionHash}`)
  return { transactionHash, amount: claimed.args.amount }
}
