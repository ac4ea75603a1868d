/** Starts closing a channel (consumer only); the node may still redeem until `closesAt`. */
import { parseEventLogs, type Address, type Hash } from 'viem'
import { paymentChannelsAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type StartChannelCloseParameters = { channels: Address; channelId: bigint }
/**
 * `closesAt`: unix seconds from which `finishChannelClose` may run and vouchers no longer redeem, unless a token split
 * pauses transfers before then (the period then restarts after the pause). Reverts `SplitPauseActive` during a pause.
 */
export type StartChannelCloseReturnType = { transactionHash: Hash; closesAt: bigint }

export async function startChannelClose(
  client: WalletClient,
  { channels, channelId }: StartChannelCloseParameters,
): Promise<StartChannelCloseReturnType> {
  const { transactionHash, receipt } = await execute(client, 'PaymentChannels', {
    address: channels,
    abi: paymentChannelsAbi,
    functionName: 'startClose',
    args: [channelId],
  })
  const [event] = parseEventLogs({ abi: paymentChannelsAbi, eventName: 'ChannelCloseStarted', logs: receipt.logs })
  if (!event) throw new Error(`No ChannelCloseStarted event in ${transactionHash}`)
  return { transactionHash, closesAt: event.args.closesAt }
}
