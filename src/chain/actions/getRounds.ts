/** Reads a subscription's rounds `from .. from + count - 1` (clipped to its rounds) with their status and result. */
import type { Address, Client } from 'viem'
import { readContract } from 'viem/actions'
import { roundStatusOf, type RoundStatus } from '../../core/oracle-round.ts'
import { oracleRouterAbi } from '../generated.ts'

export type GetRoundsParameters = { router: Address; subscriptionId: bigint; from?: number; count?: number }
export type SubscriptionRound = {
  round: number
  opensAt: bigint
  status: RoundStatus
  requestId: bigint | null
  result: bigint | null
}
export type GetRoundsReturnType = SubscriptionRound[]

export async function getRounds(
  client: Client,
  { router, subscriptionId, from = 0, count = 256 }: GetRoundsParameters,
): Promise<GetRoundsReturnType> {
  const rounds = await readContract(client, {
    address: router,
    abi: oracleRouterAbi,
    functionName: 'getRounds',
    args: [subscriptionId, from, count],
  })
  return rounds.map((r, i) => {
    const status = roundStatusOf(r.status)
    return {
      round: from + i,
      opensAt: r.opensAt,
      status,
      requestId: r.requestId === 0n ? null : r.requestId,
      result: status === 'fulfilled' ? r.result : null,
    }
  })
}
