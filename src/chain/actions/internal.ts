/**
 * What every write action does: simulate (so reverts come back decoded), send, wait for the receipt, and report
 * reverts as `ContractRevertedError`.
 */
import type { Abi, Account, Chain, Client, ContractFunctionArgs, ContractFunctionName, Hash, TransactionReceipt, Transport } from 'viem'
import { simulateContract, waitForTransactionReceipt, writeContract } from 'viem/actions'
import { toContractError } from '../errors.ts'

export type WalletClient = Client<Transport, Chain | undefined, Account>

export async function execute<const abi extends Abi, functionName extends ContractFunctionName<abi, 'nonpayable' | 'payable'>>(
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
    const transactionHash = await writeContract(client, { ...(request as object), chain: client.chain ?? null } as never)
    const receipt = await waitForTransactionReceipt(client, { hash: transactionHash })
    if (receipt.status !== 'success') throw new Error(`${contract}.${String(parameters.functionName)} reverted in ${transactionHash}`)
    return { transactionHash, receipt }
  } catch (error) {
    throw toContractError(error, contract, String(parameters.functionName))
  }
}
