/**
 * Creates an OracleRouter subscription (a scheduled job): approves `rounds × feePerRound` if needed, then
 * `createSubscription`. The caller owns it: it receives each round's median in `onOracleResult` and may cancel it.
 */
import { parseEventLogs, type Address, type Hash, type Hex } from 'viem'
import { oracleRouterAbi } from '../generated.ts'
import { ensureAllowance, execute, type WalletClient } from './internal.ts'

export type SubscriptionParameters = {
  templateHash: Hex
  /** Content hash of the data set of dated items the rounds read. */
  datasetHash: Hex
  /** Each round reads the items dated in `[roundTime - windowSeconds, roundTime)`. */
  windowSeconds: number
  /** Unix seconds of round 0; round r is due at `start + r·period` and may be opened until the next. */
  start: bigint
  period: number
  rounds: number
  k: number
  /** Seconds from a round's opening to its commit deadline, then to its reveal deadline. */
  commitWindow: number
  revealWindow: number
  callbackGasLimit?: number
  feePerRound: bigint
  /** The template's parameters, passed to every round (≤ 1024 bytes). */
  params: Hex
}
export type CreateSubscriptionParameters = { token: Address; router: Address; subscription: SubscriptionParameters }
export type CreateSubscriptionReturnType = { subscriptionId: bigint; transactionHash: Hash }

export async function createSubscription(
  client: WalletClient,
  { token, router, subscription }: CreateSubscriptionParameters,
): Promise<CreateSubscriptionReturnType> {
  await ensureAllowance(client, {
    token,
    spender: router,
    amount: subscription.feePerRound * BigInt(subscription.rounds),
  })
  const { transactionHash, receipt } = await execute(client, 'OracleRouter', {
    address: router,
    abi: oracleRouterAbi,
    functionName: 'createSubscription',
    args: [{ ...subscription, callbackGasLimit: subscription.callbackGasLimit ?? 0 }],
  })
  const [created] = parseEventLogs({ abi: oracleRouterAbi, eventName: 'SubscriptionCreated', logs: receipt.logs })
  if (!created) throw new Error(`No SubscriptionCreated event in ${transactionHash}`)
  return { subscriptionId: created.args.subscriptionId, transactionHash }
}
