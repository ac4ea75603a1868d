/**
 * Settles an oracle request after its reveal deadline (or after its commit deadline when nobody committed): the
 * median of the revealed answers goes to the requester if at least the quorum revealed, otherwise it expires. Anyone
 * may call; what was not paid to revealers becomes the requester's refund (or returns to the subscription).
 */
import type { Address, Hash } from 'viem'
import { oracleRouterAbi } from '../generated.ts'
import { execute, oracleSettlementIn, type OracleSettlement, type WalletClient } from './internal.ts'

export type FinalizeOracleParameters = { router: Address; requestId: bigint }
export type FinalizeOracleReturnType = { transactionHash: Hash; settlement: OracleSettlement }

export async function finalizeOracle(
  client: WalletClient,
  { router, requestId }: FinalizeOracleParameters,
): Promise<FinalizeOracleReturnType> {
  const { transactionHash, receipt } = await execute(client, 'OracleRouter', {
    address: router,
    abi: oracleRouterAbi,
    functionName: 'finalize',
    args: [requestId],
  })
  const settlement = oracleSettlementIn(receipt.logs, requestId)
  if (!settlement) throw new Error(`No OracleFulfilled or OracleExpired event in ${transactionHash}`)
  return { transactionHash, settlement }
}
