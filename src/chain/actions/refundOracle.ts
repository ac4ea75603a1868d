/** Refunds the fee of an oracle request that passed its deadline unfulfilled; anyone may call, the requester is paid. */
import { parseEventLogs, type Address, type Hash } from 'viem'
import { oracleRouterAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type RefundOracleParameters = { router: Address; requestId: bigint }
/** `fee`: the AI wei refunded (rescaled if the token split since the request). */
export type RefundOracleReturnType = { transactionHash: Hash; fee: bigint }

export async function refundOracle(client: WalletClient, { router, requestId }: RefundOracleParameters): Promise<RefundOracleReturnType> {
  const { transactionHash, receipt } = await execute(client, 'OracleRouter', { address: router, abi: oracleRouterAbi, functionName: 'refund', args: [requestId] })
  const [event] = parseEventLogs({ abi: oracleRouterAbi, eventName: 'OracleRefunded', logs: receipt.logs })
  if (!event) throw new Error(`No OracleRefunded event in ${transactionHash}`)
  return { transactionHash, fee: event.args.fee }
}
