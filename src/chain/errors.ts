/**
 * Turns viem's revert errors into `ContractRevertedError`s named after the contracts' custom errors, so callers
 * match on `errorName` ("StaleVoucher", "ChannelNotFound") instead of digging through viem's cause chain. A revert
 * that bubbles up from another Modelex contract (a `transferAndCall` into PaymentChannels reverting with
 * `ChannelIsClosing`, say) is decoded against every Modelex ABI, not only the one that was called.
 */
import { BaseError as ViemBaseError, ContractFunctionRevertedError, decodeErrorResult, type Abi, type Hex } from 'viem'
import { ContractRevertedError } from '../core/errors/chain.ts'
import {
  aiTokenAbi,
  nodeRegistryAbi,
  oracleRouterAbi,
  paymentChannelsAbi,
  receiptAnchorAbi,
  sentimentConsumerAbi,
} from './generated.ts'

const MODELEX_ERRORS: Abi = [
  aiTokenAbi,
  nodeRegistryAbi,
  oracleRouterAbi,
  paymentChannelsAbi,
  receiptAnchorAbi,
  sentimentConsumerAbi,
].flatMap((abi) => (abi as Abi).filter((item) => item.type === 'error'))

export function toContractError(error: unknown, contract: string, functionName: string): unknown {
  if (!(error instanceof ViemBaseError)) return error
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError)
  if (!(reverted instanceof ContractFunctionRevertedError)) return error
  const decoded = reverted.data ?? decodeAny(reverted.raw)
  const errorName = decoded?.errorName ?? reverted.reason ?? 'unknown revert'
  const args = (decoded?.args ?? []).map((arg) =>
    typeof arg === 'bigint' ? arg.toString() : typeof arg === 'string' ? arg : JSON.stringify(arg),
  )
  return new ContractRevertedError({ contract, functionName, errorName, args, cause: error })
}

function decodeAny(raw: Hex | undefined): { errorName: string; args?: readonly unknown[] | undefined } | undefined {
  if (!raw || raw === '0x') return undefined
  try {
    return decodeErrorResult({ abi: MODELEX_ERRORS, data: raw })
  } catch {
    return undefined
  }
}
