/**
 * Adds AI to an open channel in one transaction (`transferAndCall` into PaymentChannels). After a token split the
 * amount must be a whole number of channel units (a multiple of `getChannel(...).unitScale`).
 */
import { encodeFunctionData, parseEventLogs, type Address, type Hash } from 'viem'
import { aiTokenAbi, paymentChannelsAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type TopUpChannelParameters = { token: Address; channels: Address; channelId: bigint; amount: bigint }
/** `deposit`: the channel's new deposit, in channel units (AI wei unless the token split since it was opened). */
export type TopUpChannelReturnType = { transactionHash: Hash; deposit: bigint }

export async function topUpChannel(
  client: WalletClient,
  { token, channels, channelId, amount }: TopUpChannelParameters,
): Promise<TopUpChannelReturnType> {
  const data = encodeFunctionData({ abi: paymentChannelsAbi, functionName: 'topUp', args: [channelId, 0n] })
  const { transactionHash, receipt } = await execute(client, 'AIToken', {
    address: token,
    abi: aiTokenAbi,
    functionName: 'transferAndCall',
    args: [channels, amount, data],
  })
  const [event] = parseEventLogs({ abi: paymentChannelsAbi, eventName: 'ChannelToppedUp', logs: receipt.logs })
  if (!event) throw new Error(`No ChannelToppedUp event in ${transactionHash}`)
  return { transactionHash, deposit: event.args.deposit }
}
