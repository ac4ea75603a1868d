/**
 * Commits a node's answer to an oracle request: sends `oracleCommitment({ requestId, operator, value, salt })`. The
 * caller is the node's operator or signer; `operator` is the node's operator address (the commitment binds it).
 * Store `value` and `salt` before calling: the reveal needs both.
 */
import { parseEventLogs, type Address, type Hash, type Hex } from 'viem'
import { oracleCommitment } from '../../core/commit-reveal.ts'
import { oracleRouterAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type CommitOracleAnswerParameters = {
  router: Address
  requestId: bigint
  operator: Address
  value: bigint
  salt: Hex
}
/** `commits`: how many nodes have committed so far; reveals open when it reaches k. */
export type CommitOracleAnswerReturnType = { transactionHash: Hash; commitment: Hex; commits: number }

export async function commitOracleAnswer(
  client: WalletClient,
  { router, requestId, operator, value, salt }: CommitOracleAnswerParameters,
): Promise<CommitOracleAnswerReturnType> {
  const commitment = oracleCommitment({ requestId, operator, value, salt })
  const { transactionHash, receipt } = await execute(client, 'OracleRouter', {
    address: router,
    abi: oracleRouterAbi,
    functionName: 'commit',
    args: [requestId, commitment],
  })
  const [committed] = parseEventLogs({ abi: oracleRouterAbi, eventName: 'OracleCommitted', logs: receipt.logs })
  if (!committed) throw new Error(`No OracleCommitted event in ${transactionHash}`)
  return { transactionHash, commitment, commits: committed.args.commits }
}
