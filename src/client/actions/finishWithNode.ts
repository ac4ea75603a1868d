/**
 * Done with a node: sign a final voucher for exactly the settled total and hand it to the node, which then redeems
 * it rather than its highest voucher (which also holds this consumer's unspent credit, up to the last request's
 * unused maximum). Only a node that cheats redeems the higher one; that credit is what stays at risk.
 */
import type { Address } from 'viem'
import { signVoucher } from '../../chain/actions/signVoucher.ts'
import { catchUp, credit, type ConsumerChannel } from '../../core/credit.ts'
import { PaymentRefusedError } from '../../core/errors/payments.ts'
import { decodeSignedReceipt, encodePayment, encodeSignedReceipt, verifySignedReceipt } from '../../core/payment.ts'
import { sendFinalVoucher } from '../../p2p/final-voucher.ts'
import type { ClientContext } from '../context.ts'

/** `signer`: the node's receipt signer (from its quote or announcement), to check a receipt it hands back. */
export type FinishWithNodeParameters = { operator: Address; peer: string; signer?: Address }

/** Returns the settled total the node confirmed, or null when there was no unspent credit to protect. */
export async function finishWithNode(
  context: ClientContext,
  { operator, peer, signer }: FinishWithNodeParameters,
): Promise<bigint | null> {
  const { node, state } = await context.ready()
  const key = operator.toLowerCase()
  const { channels, anchor } = context.addresses
  const send = async (): Promise<bigint | null> => {
    const channel = state.channels[key]
    // Also for nothing settled (a hedged request cancelled before its first token): the node then redeems nothing.
    if (!channel || credit(channel) === 0n) return null
    const voucher = { channelId: channel.channelId, cumulativeAmount: channel.settled }
    const { signature } = await signVoucher(context.wallet, { channels, chainId: context.deployment.chainId, voucher })
    return sendFinalVoucher(
      node,
      peer,
      encodePayment({ chainId: context.deployment.chainId, channels, voucher, signature }),
    )
  }
  return context.exclusive(key, async () => {
    try {
      return await send()
    } catch (error) {
      // Behind the node (a receipt of an interrupted request missed): catch up with it, as a paid request would, once.
      if (!(error instanceof PaymentRefusedError) || error.settlement === undefined || !signer) throw error
      const missed = decodeSignedReceipt(error.settlement)
      await verifySignedReceipt(
        missed,
        { chainId: context.deployment.chainId, verifyingContract: anchor },
        { signer, consumer: context.account },
      )
      state.channels[key] = catchUp(state.channels[key] as ConsumerChannel, missed.receipt)
      state.receipts.push({ peer, receipt: encodeSignedReceipt(missed), cost: missed.receipt.cost, at: Date.now() })
      await context.document.save(state)
      return send()
    }
  })
}
