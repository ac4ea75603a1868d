/**
 * A channel to a node's operator that can take a voucher for `maxCost` more: reused, opened or topped up as needed,
 * never beyond the consumer's `maxDeposit`. A channel is read from the chain at most every `channelReadMs` when it
 * needs no top-up (`context.channelReads`; `payForRequest` forgets a read that a node's refusal calls into
 * question). Channel amounts are in the channel's units (AI wei of the split epoch it was opened in); after a token
 * split a top-up transfers whole units, `units × unitScale` AI.
 */
import type { Address } from 'viem'
import { getChannel } from '../../chain/actions/getChannel.ts'
import { openChannel } from '../../chain/actions/openChannel.ts'
import { topUpChannel } from '../../chain/actions/topUpChannel.ts'
import { newConsumerChannel, nextVoucherAmount, type ConsumerChannel } from '../../core/credit.ts'
import { InsufficientDepositError, SpendLimitError } from '../../core/errors/payments.ts'
import { CLIENT_DEFAULTS } from '../constants.ts'
import type { ClientContext } from '../context.ts'

export type EnsureChannelParameters = { operator: Address; maxCost: bigint }

export async function ensureChannel(
  context: ClientContext,
  { operator, maxCost }: EnsureChannelParameters,
): Promise<ConsumerChannel> {
  const { state } = await context.ready()
  const { token, channels } = context.addresses
  const key = operator.toLowerCase()
  let channel = state.channels[key]
  let unitScale = 1n
  if (channel) {
    const id = channel.channelId.toString()
    const readAt = context.channelReads.get(id)
    // Read a moment ago and enough for this voucher: the read stands (CLIENT_DEFAULTS.channelReadMs), and the request
    // goes out without two calls to the RPC node first. A top-up always reads the chain again first.
    if (readAt !== undefined && Date.now() - readAt < CLIENT_DEFAULTS.channelReadMs && covers(channel, maxCost))
      return channel
    const onChain = await getChannel(context.publicClient, { channels, channelId: channel.channelId })
    if (onChain.status !== 1) {
      context.channelReads.delete(id)
      channel = undefined
    } else {
      channel = { ...channel, deposit: onChain.deposit }
      unitScale = onChain.unitScale
      context.channelReads.set(id, Date.now())
    }
  }
  if (!channel) {
    const wanted = maxCost > context.channelDeposit ? maxCost : context.channelDeposit
    const deposit = wanted > context.limits.maxDeposit ? context.limits.maxDeposit : wanted
    if (deposit < maxCost)
      throw new SpendLimitError({ limit: 'maxDeposit', allowed: context.limits.maxDeposit, asked: maxCost })
    const { channelId } = await onChain(context, () =>
      openChannel(context.wallet, { token, channels, node: operator, deposit }),
    )
    channel = newConsumerChannel({ channelId, node: operator, deposit })
  } else {
    try {
      nextVoucherAmount(channel, maxCost)
    } catch (error) {
      if (!(error instanceof InsufficientDepositError)) throw error
      const missing = error.needed - channel.deposit
      const room = context.limits.maxDeposit / unitScale - channel.deposit
      if (room < missing)
        throw new SpendLimitError({
          limit: 'maxDeposit',
          allowed: context.limits.maxDeposit,
          asked: error.needed * unitScale,
        })
      const units = missing > context.channelDeposit / unitScale ? missing : context.channelDeposit / unitScale
      const { deposit } = await onChain(context, () =>
        topUpChannel(context.wallet, {
          token,
          channels,
          channelId: channel!.channelId,
          amount: (units < room ? units : room) * unitScale,
        }),
      )
      channel = { ...channel, deposit }
      context.channelReads.set(channel.channelId.toString(), Date.now())
    }
  }
  state.channels[key] = channel
  await context.document.save(state)
  return channel
}

/** Whether `channel` can take a voucher for `maxCost` more without a top-up. */
function covers(channel: ConsumerChannel, maxCost: bigint): boolean {
  try {
    nextVoucherAmount(channel, maxCost)
    return true
  } catch (error) {
    if (error instanceof InsufficientDepositError) return false
    throw error
  }
}

/**
 * The wallet's transactions one at a time: requests to different nodes run at once (a hedge, two callers), and two
 * transactions sent together from one account can take the same nonce.
 */
function onChain<T>(context: ClientContext, work: () => Promise<T>): Promise<T> {
  return context.exclusive(`wallet:${context.account.toLowerCase()}`, work)
}
