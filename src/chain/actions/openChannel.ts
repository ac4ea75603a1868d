/** Opens a payment channel to a node with a deposit, in one transaction (`transferAndCall` into PaymentChannels). */
import { encodeFunctionData, parseEventLogs, type Address, type Hash } from 'viem'
import { aiTokenAbi, paymentChannelsAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type OpenChannelParameters = { token: Address; channels: Address; node: Address; deposit: bigint }
export type OpenChannelReturnType = { channelId: bigint; transactionHash: Hash }

export async function openChannel(
  client: WalletClient,
  { token, channels, node, deposit }: OpenChannelParameters,
): Promise<OpenChannelReturnType> {
  const data = encodeFunctionData({ abi: paymentChannelsAbi, functionName: 'open', args: [node, 0n] })
  const { transactionHash, receipt } = await execute(client, 'AIToken', {
    address: token,
    abi: aiTokenAbi,
    functionName: 'transferAndCall',
    args: [channels, deposit, data],
  })
  const [opened] = parseEventLogs({ abi: paymentChannelsAbi, eventName: 'ChannelOpened', logs: receipt.logs })
  if (!opened) throw new Error(`No ChannelOpened event in ${transactionHash}`)
  return { channelId: opened.args.channelId, transactionHash }
}
