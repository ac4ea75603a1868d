/**
 * Closes a channel whose challenge period has passed; anyone may call, the unredeemed rest goes to the consumer.
 * If a token split paused transfers during the period, the contract restarts it instead (the node is owed a full
 * period in which redeeming works): then nothing is refunded yet and `restartedUntil` says when to call again.
 */
import { parseEventLogs, type Address, type Hash } from 'viem'
import { paymentChannelsAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type FinishChannelCloseParameters = { channels: Address; channelId: bigint }
/**
 * `refund`: the AI wei sent back to the consumer (0 when the period restarted). `restartedUntil`: the new end of the
 * challenge period (unix seconds) when a split's pause restarted it, else null.
 */
export type FinishChannelCloseReturnType = { transactionHash: Hash; refund: bigint; restartedUntil: bigint | null }

export async function finishChannelClose(
  client: WalletClient,
  { channels, channelId }: FinishChannelCloseParameters,
): Promise<FinishChannelCloseReturnType> {
  const { transactionHash, receipt } = await execute(client, 'PaymentChannels', {
    address: channels,
    abi: paymentChannelsAbi,
    functionName: 'finishClose',
    args: [channelId],
  })
  const [restarted] = parseEventLogs({
    abi: paymentChannelsAbi,
    eventName: 'ChallengePeriodRestarted',
    logs: receipt.logs,
  })
  if (restarted) return { transactionHash, refund: 0n, restartedUntil: BigInt(restarted.args.closesAt) }
  const [event] = parseEventLogs({ abi: paymentChannelsAbi, eventName: 'ChannelClosed', logs: receipt.logs })
  if (!event) throw new Error(`No ChannelClosed event in ${transactionHash}`)
  return { transactionHash, refund: event.args.refund, restartedUntil: null }
}
