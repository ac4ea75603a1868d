/**
 * What every write action does: simulate (so reverts come back decoded), send, wait for the receipt, and report
 * reverts as `ContractRevertedError`.
 */
import type {
  Abi,
  Account,
  Chain,
  Client,
  ContractFunctionArgs,
  ContractFunctionName,
  Hash,
  TransactionReceipt,
  Transport,
} from 'viem'
import { parseEventLogs } from 'viem'
import { readContract, simulateContract, waitForTransactionReceipt, writeContract } from 'viem/actions'
import { toContractError } from '../errors.ts'
import { aiTokenAbi, oracleRouterAbi } from '../generated.ts'

export type WalletClient = Client<Transport, Chain | undefined, Account>

export async function execute<
  const abi extends Abi,
  functionName extends ContractFunctionName<abi, 'nonpayable' | 'payable'>,
>(
  client: WalletClient,
  contract: string,
  parameters: {
    address: `0x${string}`
    abi: abi
    functionName: functionName
    args: ContractFunctionArgs<abi, 'nonpayable' | 'payable', functionName>
  },
): Promise<{ transactionHash: Hash; receipt: TransactionReceipt }> {
  try {
    // The generic parameters are checked at the call sites; viem's own overloads are too deep to thread through.
    const { request } = await simulateContract(client, { ...parameters, account: client.account } as never)
    const transactionHash = await writeContract(client, {
      ...(request as object),
      chain: client.chain ?? null,
    } as never)
    const receipt = await waitForTransactionReceipt(client, { hash: transactionHash })
    if (receipt.status !== 'success')
      throw new Error(`${contract}.${String(parameters.functionName)} reverted in ${transactionHash}`)
    return { transactionHash, receipt }
  } catch (error) {
    throw toContractError(error, contract, String(parameters.functionName))
  }
}

/** Approves `spender` for `amount` of `token` unless the allowance already covers it. */
export async function ensureAllowance(
  client: WalletClient,
  { token, spender, amount }: { token: `0x${string}`; spender: `0x${string}`; amount: bigint },
): Promise<void> {
  const allowance = await readContract(client, {
    address: token,
    abi: aiTokenAbi,
    functionName: 'allowance',
    args: [client.account.address, spender],
  })
  if (allowance >= amount) return
  await execute(client, 'AIToken', {
    address: token,
    abi: aiTokenAbi,
    functionName: 'approve',
    args: [spender, amount],
  })
}

/** How an oracle request settled, read from a transaction's logs (null when it did not settle in it). */
export type OracleSettlement =
  | { status: 'fulfilled'; median: bigint; reveals: number; callbackSucceeded: boolean }
  | { status: 'expired'; reveals: number }

export function oracleSettlementIn(logs: TransactionReceipt['logs'], requestId: bigint): OracleSettlement | null {
  for (const log of parseEventLogs({ abi: oracleRouterAbi, logs })) {
    if (log.eventName === 'OracleFulfilled' && log.args.requestId === requestId) {
      return {
        status: 'fulfilled',
        median: log.args.median,
        reveals: log.args.reveals,
        callbackSucceeded: log.args.callbackSucceeded,
      }
    }
    if (log.eventName === 'OracleExpired' && log.args.requestId === requestId)
      return { status: 'expired', reveals: log.args.reveals }
  }
  return null
}
