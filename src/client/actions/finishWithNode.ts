/**
 * Done with a node: sign a final voucher for exactly the settled total and hand it to the node, which then redeems
 * it rather than its highest voucher (which also holds this consumer's unspent credit, up to the last request's
 * unused maximum). Only a node that cheats redeems the higher one; that credit is what stays at risk.
 */
import type { Address } from 'viem'
import { signVoucher } from '../../chain/actions/signVoucher.ts'
import { credit } from '../../core/credit.ts'
import { encodePayment } from '../../core/payment.ts'
import { sendFinalVoucher } from '../../p2p/final-voucher.ts'
import type { ClientContext } from '../context.ts'

export type FinishWithNodeParameters = { operator: Address; peer: string }

/** Returns the settled total the node confirmed, or null when there was no unspent credit to protect. */
export async function finishWithNode(context: ClientContext, { operator, peer }: FinishWithNodeParameters): Promise<bigint | null> {
  const { node, state } = await context.ready()
  return context.exclusive(operator.toLowerCase(), async () => {
    const channel = state.channels[operator.toLowerCase()]
    if (!channel || credit(channel) === 0n || channel.settled === 0n) return null
    const { channels } = context.addresses
    const voucher = { channelId: channel.channelId, cumulativeAmount: channel.settled }
    const { signature } = await signVoucher(context.wallet, { channels, chainId: context.deployment.chainId, voucher })
    return sendFinalVoucher(node, peer, encodePayment({ chainId: context.deployment.chainId, channels, voucher, signature }))
  })
}
