/** Reads one round of a subscription with its status and result. */
import type { Address, Client } from 'viem'
import { readContract } from 'viem/actions'
import { roundStatusOf } from '../../core/oracle-round.ts'
import { oracleRouterAbi } from '../generated.ts'
import type { SubscriptionRound } from './getRounds.ts'

export type GetRoundParameters = { router: Address; subscriptionId: bigint; round: number }
export type GetRoundReturnType = SubscriptionRound

export async function getRound(
  client: Client,
  { router, subscriptionId, round }: GetRoundParameters,
): Promise<GetRoundReturnType> {
  const r = await readContract(client, {
    address: router,
    abi: oracleRouterAbi,
    functionName: 'getRound',
    args: [subscriptionId, round],
  })
  const status = roundStatusOf(r.status)
  return {
    round,
    opensAt: r.opensAt,
    status,
    requestId: r.requestId === 0n ? null : r.requestId,
    result: status === 'fulfilled' ? r.result : null,
  }
}
