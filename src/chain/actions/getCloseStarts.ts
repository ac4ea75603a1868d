/**
 * The channels whose close started (or whose challenge window restarted after a split) in a block range: what a
 * node watches so it redeems before the window ends, also for the blocks it missed while offline.
 */
import type { Address, Client } from 'viem'
import { getBlockNumber, getContractEvents } from 'viem/actions'
import { paymentChannelsAbi } from '../generated.ts'

export type GetCloseStartsParameters = { channels: Address; fromBlock: bigint; toBlock?: bigint }
export type GetCloseStartsReturnType = {
  closes: { channelId: bigint; closesAt: bigint; blockNumber: bigint }[]
  toBlock: bigint
}

export async function getCloseStarts(
  client: Client,
  { channels, fromBlock, toBlock }: GetCloseStartsParameters,
): Promise<GetCloseStartsReturnType> {
  const to = toBlock ?? (await getBlockNumber(client, { cacheTime: 0 }))
  if (fromBlock > to) return { closes: [], toBlock: to }
  const logs = await getContractEvents(client, {
    address: channels,
    abi: paymentChannelsAbi,
    eventName: 'ChannelCloseStarted',
    fromBlock,
    toBlock: to,
    strict: true,
  })
  return {
    closes: logs.map((log) => ({
      channelId: log.args.channelId,
      closesAt: BigInt(log.args.closesAt),
      blockNumber: log.blockNumber,
    })),
    toBlock: to,
  }
}
