/**
 * Answers an oracle request as the operator or signer of an active node serving the template's model. The k-th
 * answer fulfils the request: the median goes to the requester's callback and the fee to the answerers.
 */
import { parseEventLogs, type Address, type Hash } from 'viem'
import { oracleRouterAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type AnswerOracleParameters = { router: Address; requestId: bigint; value: bigint }
export type AnswerOracleReturnType = { transactionHash: Hash } & (
  | { fulfilled: false }
  | { fulfilled: true; median: bigint; callbackSucceeded: boolean }
)

export async function answerOracle(client: WalletClient, { router, requestId, value }: AnswerOracleParameters): Promise<AnswerOracleReturnType> {
  const { transactionHash, receipt } = await execute(client, 'OracleRouter', { address: router, abi: oracleRouterAbi, functionName: 'answer', args: [requestId, value] })
  const [fulfilled] = parseEventLogs({ abi: oracleRouterAbi, eventName: 'OracleFulfilled', logs: receipt.logs })
  if (!fulfilled) return { transactionHash, fulfilled: false }
  return { transactionHash, fulfilled: true, median: fulfilled.args.median, callbackSucceeded: fulfilled.args.callbackSucceeded }
}
