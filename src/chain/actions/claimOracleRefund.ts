/** Claims what a settled oracle request did not pay to revealers; only its requester may. */
import { parseEventLogs, type Address, type Hash } from 'viem'
import { oracleRouterAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type ClaimOracleRefundParameters = { router: Address; requestId: bigint }
/** `amount`: AI wei sent to the requester (rescaled if the token split since the request). */
export type ClaimOracleRefundReturnType = { transactionHash: Hash; amount: bigint }

export async function claimOracleRefund(
  client: WalletClient,
  { router, requestId }: ClaimOracleRefundParameters,
): Promise<ClaimOracleRefundReturnType> {
  const { transactionHash, receipt } = await execute(client, 'OracleRouter', {
    address: router,
    abi: oracleRouterAbi,
    functionName: 'claimRefund',
    args: [requestId],
  })
  const [claimed] = parseEventLogs({ abi: oracleRouterAbi, eventName: 'OracleRefundClaimed', logs: receipt.logs })
  if (!claimed) throw new Error(`No OracleRefundClaimed event in ${transactionHash}`)
  return { transactionHash, amount: claimed.args.amount }
}
