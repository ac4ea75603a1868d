/**
 * Reads a payment channel; `status` is 0 none, 1 open, 2 closing, 3 closed. `deposit` and `redeemed` (and every
 * voucher's `cumulativeAmount`) are in channel units: AI wei of the token's split epoch when the channel was opened
 * (`splitEpoch`). One unit is worth `unitScale` AI wei now: 1 until the token splits.
 */
import type { Address, Client } from 'viem'
import { readContract } from 'viem/actions'
import { paymentChannelsAbi } from '../generated.ts'

export type GetChannelParameters = { channels: Address; channelId: bigint }
export type GetChannelReturnType = {
  consumer: Address
  node: Address
  deposit: bigint
  redeemed: bigint
  status: number
  closesAt: bigint
  splitEpoch: number
  unitScale: bigint
}

export async function getChannel(
  client: Client,
  { channels, channelId }: GetChannelParameters,
): Promise<GetChannelReturnType> {
  const c = await readContract(client, {
    address: channels,
    abi: paymentChannelsAbi,
    functionName: 'getChannel',
    args: [channelId],
  })
  // A channel that does not exist has no unit; unitScale would revert with ChannelNotFound.
  const unitScale =
    c.status === 0
      ? 1n
      : await readContract(client, {
          address: channels,
          abi: paymentChannelsAbi,
          functionName: 'unitScale',
          args: [channelId],
        })
  return {
    consumer: c.consumer,
    node: c.node,
    deposit: c.deposit,
    redeemed: c.redeemed,
    status: c.status,
    closesAt: c.closesAt,
    splitEpoch: c.splitEpoch,
    unitScale,
  }
}
