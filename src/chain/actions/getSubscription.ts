/** Reads a subscription (fee per round and balance in current AI wei). */
import type { Address, Client, Hex } from 'viem'
import { readContract } from 'viem/actions'
import type { SubscriptionSchedule } from '../../core/oracle-round.ts'
import { oracleRouterAbi } from '../generated.ts'

export type GetSubscriptionParameters = { router: Address; subscriptionId: bigint }
export type GetSubscriptionReturnType = SubscriptionSchedule & {
  subscriptionId: bigint
  owner: Address
  commitWindow: number
  revealWindow: number
  callbackGasLimit: number
  k: number
  templateHash: Hex
  datasetHash: Hex
  feePerRound: bigint
  balance: bigint
  params: Hex
}

export async function getSubscription(
  client: Client,
  { router, subscriptionId }: GetSubscriptionParameters,
): Promise<GetSubscriptionReturnType> {
  const s = await readContract(client, {
    address: router,
    abi: oracleRouterAbi,
    functionName: 'getSubscription',
    args: [subscriptionId],
  })
  return {
    subscriptionId,
    owner: s.owner,
    start: s.start,
    period: BigInt(s.period),
    rounds: s.rounds,
    windowSeconds: BigInt(s.windowSeconds),
    cancelled: s.cancelled,
    commitWindow: s.commitWindow,
    revealWindow: s.revealWindow,
    callbackGasLimit: s.callbackGasLimit,
    k: s.k,
    templateHash: s.templateHash,
    datasetHash: s.datasetHash,
    feePerRound: s.feePerRound,
    balance: s.balance,
    params: s.params,
  }
}
