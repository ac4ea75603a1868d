/**
 * Reveals a committed answer (once commits closed, before the reveal deadline) and collects `fee / k`. The last
 * committed node's reveal settles the request: `settlement` says how (null when it did not settle yet).
 */
import { parseEventLogs, type Address, type Hash, type Hex } from 'viem'
import { oracleRouterAbi } from '../generated.ts'
import { execute, oracleSettlementIn, type OracleSettlement, type WalletClient } from './internal.ts'

export type RevealOracleAnswerParameters = { router: Address; requestId: bigint; value: bigint; salt: Hex }
/** `paid`: the AI wei the node received for this answer. */
export type RevealOracleAnswerReturnType = { transactionHash: Hash; paid: bigint; settlement: OracleSettlement | null }

export async function revealOracleAnswer(
  client: WalletClient,
  { router, requestId, value, salt }: RevealOracleAnswerParameters,
): Promise<RevealOracleAnswerReturnType> {
  const { transactionHash, receipt } = await execute(client, 'OracleRouter', {
    address: router,
    abi: oracleRouterAbi,
    functionName: 'reveal',
    args: [requestId, value, salt],
  })
  const [revealed] = parseEventLogs({ abi: oracleRouterAbi, eventName: 'OracleRevealed', logs: receipt.logs })
  if (!revealed) throw new Error(`No OracleRevealed event in ${transactionHash}`)
  return { transactionHash, paid: revealed.args.paid, settlement: oracleSettlementIn(receipt.logs, requestId) }
}
