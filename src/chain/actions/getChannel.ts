/** Reads a payment channel; `status` is 0 none, 1 open, 2 closing, 3 closed. */
import type { Address, Client } from 'viem'
import { readContract } from 'viem/actions'
import { paymentChannelsAbi } from '../generated.ts'

export type GetChannelParameters = { channels: Address; channelId: bigint }
export type GetChannelReturnType = { consumer: Address; node: Address; deposit: bigint; redeemed: bigint; status: number; closesAt: bigint }

export async function getChannel(client: Client, { channels, channelId }: GetChannelParameters): Promise<GetChannelReturnType> {
  const c = await readContract(client, { address: channels, abi: paymentChannelsAbi, functionName: 'getChannel', args: [channelId] })
  return { consumer: c.consumer, node: c.node, deposit: c.deposit, redeemed: c.redeemed, status: c.status, closesAt: c.closesAt }
}
