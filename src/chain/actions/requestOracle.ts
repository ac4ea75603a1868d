/**
 * Requests k answers to a registered template from the OracleRouter: approves the fee if needed, then `request`.
 * The caller (the requester) gets the median in its `onOracleResult` callback (an account without code gets no
 * callback and reads the result with `getOracleRequest`), and claims what the request did not spend with
 * `claimOracleRefund` once it settled.
 */
import { parseEventLogs, type Address, type Hash, type Hex } from 'viem'
import { oracleRouterAbi } from '../generated.ts'
import { ensureAllowance, execute, type WalletClient } from './internal.ts'

export type RequestOracleParameters = {
  token: Address
  router: Address
  templateHash: Hex
  input: Hex
  /** AI wei; each revealed answer earns `fee / k`. */
  fee: bigint
  /** Answers wanted; at least the router's `minAnswers`. */
  k: number
  /** Unix seconds: commits close at k commits or after this; reveals close after `revealDeadline`. */
  commitDeadline: bigint
  revealDeadline: bigint
  callbackGasLimit?: number
}
export type RequestOracleReturnType = { requestId: bigint; transactionHash: Hash }

export async function requestOracle(
  client: WalletClient,
  parameters: RequestOracleParameters,
): Promise<RequestOracleReturnType> {
  const {
    token,
    router,
    templateHash,
    input,
    fee,
    k,
    commitDeadline,
    revealDeadline,
    callbackGasLimit = 0,
  } = parameters
  await ensureAllowance(client, { token, spender: router, amount: fee })
  const { transactionHash, receipt } = await execute(client, 'OracleRouter', {
    address: router,
    abi: oracleRouterAbi,
    functionName: 'request',
    args: [templateHash, input, fee, k, commitDeadline, revealDeadline, callbackGasLimit],
  })
  const [requested] = parseEventLogs({ abi: oracleRouterAbi, eventName: 'OracleRequested', logs: receipt.logs })
  if (!requested) throw new Error(`No OracleRequested event in ${transactionHash}`)
  return { requestId: requested.args.requestId, transactionHash }
}
