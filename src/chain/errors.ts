/**
 * Turns viem's revert errors into `ContractRevertedError`s named after the contracts' custom errors, so callers
 * match on `errorName` ("StaleVoucher", "ChannelNotFound") instead of digging through viem's cause chain.
 */
import { BaseError as ViemBaseError, ContractFunctionRevertedError } from 'viem'
import { ContractRevertedError } from '../core/errors/chain.ts'

export function toContractError(error: unknown, contract: string, functionName: string): unknown {
  if (!(error instanceof ViemBaseError)) return error
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError)
  if (!(reverted instanceof ContractFunctionRevertedError)) return error
  const errorName = reverted.data?.errorName ?? reverted.reason ?? 'unknown revert'
  const args = (reverted.data?.args ?? []).map((arg) => (typeof arg === 'bigint' ? arg.toString() : typeof arg === 'string' ? arg : JSON.stringify(arg)))
  return new ContractRevertedError({ contract, functionName, errorName, args, cause: error })
}
