/** Redeems the latest voucher of one or many channels; pays only the increase over what each already redeemed. */
import { parseEventLogs, type Address, type Hash, type Hex } from 'viem'
import type { Voucher } from '../../core/voucher.ts'
import { paymentChannelsAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type RedeemVouchersParameters = { channels: Address; vouchers: readonly { voucher: Voucher; signature: Hex }[] }
export type RedeemVouchersReturnType = { paid: bigint; transactionHash: Hash; gasUsed: bigint }

export async function redeemVouchers(
  client: WalletClient,
  { channels, vouchers }: RedeemVouchersParameters,
): Promise<RedeemVouchersReturnType> {
  const [single] = vouchers
  const { transactionHash, receipt } =
    vouchers.length === 1 && single
      ? await execute(client, 'PaymentChannels', {
          address: channels,
          abi: paymentChannelsAbi,
          functionName: 'redeem',
          args: [single.voucher, single.signature],
        })
      : await execute(client, 'PaymentChannels', {
          address: channels,
          abi: paymentChannelsAbi,
          functionName: 'redeemMany',
          args: [vouchers.map((v) => v.voucher), vouchers.map((v) => v.signature)],
        })
  const paid = parseEventLogs({ abi: paymentChannelsAbi, eventName: 'VoucherRedeemed', logs: receipt.logs }).reduce(
    (sum, log) => sum + log.args.amount,
    0n,
  )
  return { paid, transactionHash, gasUsed: receipt.gasUsed }
}
