/** Closes a channel whose challenge period has passed; anyone may call, the unredeemed rest goes to the consumer. */
import { parseEventLogs, type Address, type Hash } from 'viem'
import { paymentChannelsAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type FinishChannelCloseParameters = { channels: Address; channelId: bigint }
/** `refund`: the AI wei sent back to the consumer. */
export type FinishChannelCloseReturnType = { transactionHash: Hash; refund: bigint }

export async function finishChannelClose(client: WalletClient, { channels, channelId }: FinishChannelCloseParameters): Promise<FinishChannelCloseReturnType> {
  const { transactionHash, receipt } = await execute(client, 'PaymentChannels', { address: channels, abi: paymentChannelsAbi, functionName: 'finishClose', args: [channelId] })
  const [event] = parseEventLogs({ abi: paymentChannelsAbi, eventName: 'ChannelClosed', logs: receipt.logs })
  if (!event) throw new Error(`No ChannelClosed event in ${transactionHash}`)
  return { transactionHash, refund: event.args.refund }
}
