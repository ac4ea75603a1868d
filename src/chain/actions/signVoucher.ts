/** Signs a payment voucher with the consumer's account (EIP-712 in the PaymentChannels domain). */
import type { Address, Hex } from 'viem'
import { signTypedData } from 'viem/actions'
import { voucherTypedData, type Voucher } from '../../core/voucher.ts'
import type { WalletClient } from './internal.ts'

export type SignVoucherParameters = { channels: Address; chainId: number; voucher: Voucher }
export type SignVoucherReturnType = { voucher: Voucher; signature: Hex }

export async function signVoucher(
  client: WalletClient,
  { channels, chainId, voucher }: SignVoucherParameters,
): Promise<SignVoucherReturnType> {
  const signature = await signTypedData(client, {
    account: client.account,
    ...voucherTypedData(voucher, { chainId, verifyingContract: channels }),
  })
  return { voucher, signature }
}
