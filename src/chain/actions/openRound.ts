/**
 * Opens a subscription's round during its slot, turning its fee into an oracle request. Anyone may call (a keeper,
 * any node); a round opens once.
 */
import { parseEventLogs, type Address, type Hash } from 'viem'
import { oracleRouterAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type OpenRoundParameters = { router: Address; subscriptionId: bigint; round: number }
export type OpenRoundReturnType = { transactionHash: Hash; requestId: bigint; windowStart: bigint; windowEnd: bigint }

export async function openRound(
  client: WalletClient,
  { router, subscriptionId, round }: OpenRoundParameters,
): Promise<OpenRoundReturnType> {
  const { transactionHash, receipt } = await execute(client, 'OracleRouter', {
    address: router,
    abi: oracleRouterAbi,
    functionName: 'openRound',
    args: [subscriptionId, round],
  })
  const [opened] = parseEventLogs({ abi: oracleRouterAbi, eventName: 'RoundOpened', logs: receipt.logs })
  if (!opened) throw new Error(`No RoundOpened event in ${transactionHash}`)
  return {
    transactionHash,
    requestId: opened.args.requestId,
    windowStart: opened.args.windowStart,
    windowEnd: opened.args.windowEnd,
  }
}
