/**
 * Reads an oracle request with its phase at the latest block and, when `operator` is given, that node's part
 * (committed, revealed). Amounts in current AI wei.
 */
import type { Address, Client, Hex } from 'viem'
import { readContract } from 'viem/actions'
import {
  oraclePhaseOf,
  oracleStatusOf,
  type OraclePhase,
  type OracleNodeState,
  type OracleRequestState,
} from '../../core/commit-reveal.ts'
import { oracleRouterAbi } from '../generated.ts'

export type GetOracleRequestParameters = { router: Address; requestId: bigint; operator?: Address }
export type OracleRequest = OracleRequestState & {
  requestId: bigint
  requester: Address
  callbackGasLimit: number
  subscriptionId: bigint
  round: number
  quorum: number
  templateHash: Hex
  modelHash: Hex
  fee: bigint
  refund: bigint
  result: bigint
  splitEpoch: number
}
export type GetOracleRequestReturnType = OracleRequest & { phase: OraclePhase; node: OracleNodeState | null }

export async function getOracleRequest(
  client: Client,
  { router, requestId, operator }: GetOracleRequestParameters,
): Promise<GetOracleRequestReturnType> {
  const [r, phase, commitment] = await Promise.all([
    readContract(client, { address: router, abi: oracleRouterAbi, functionName: 'getRequest', args: [requestId] }),
    readContract(client, { address: router, abi: oracleRouterAbi, functionName: 'phaseOf', args: [requestId] }),
    operator
      ? readContract(client, {
          address: router,
          abi: oracleRouterAbi,
          functionName: 'commitmentOf',
          args: [requestId, operator],
        })
      : null,
  ])
  return {
    requestId,
    requester: r.requester,
    status: oracleStatusOf(r.status),
    k: r.k,
    quorum: r.quorum,
    commits: r.commits,
    reveals: r.reveals,
    commitDeadline: r.commitDeadline,
    revealDeadline: r.revealDeadline,
    callbackGasLimit: r.callbackGasLimit,
    subscriptionId: r.subscriptionId,
    round: r.round,
    templateHash: r.templateHash,
    modelHash: r.modelHash,
    fee: r.fee,
    refund: r.refund,
    result: r.result,
    splitEpoch: r.splitEpoch,
    phase: oraclePhaseOf(phase),
    node: commitment
      ? { committed: commitment[1] || commitment[0] !== `0x${'00'.repeat(32)}`, revealed: commitment[1] }
      : null,
  }
}
