/**
 * The money rules of one payment channel, on both sides, as pure functions over plain state.
 *
 * A request carries a voucher whose cumulative amount covers everything already settled plus the quote's maximum;
 * the receipt settles the actual cost; what the voucher covers beyond the settled total is the consumer's credit
 * for the next request. The node (`ChannelLedger`) never serves more than it holds vouchers for: settled plus the
 * maxima of requests in flight stays at or below its latest voucher. The consumer (`ConsumerChannel`) never pays
 * more than a quote's maximum per request and never lets its credit go negative; cumulative amounts only grow.
 */
import type { Address, Hex } from 'viem'
import { InsufficientDepositError, InvalidReceiptError, VoucherRejectedError } from './errors/payments.ts'
import { settleCost, type Quote } from './quote.ts'
import type { Receipt } from './receipt.ts'

/** What a node knows of one channel: the chain's facts and the vouchers and receipts so far. */
export type ChannelLedger = {
  channelId: bigint
  consumer: Address
  /** The channel's deposit on-chain (channel units). */
  deposit: bigint
  /** The highest voucher accepted, or null before the first. */
  voucher: { cumulativeAmount: bigint; signature: Hex } | null
  /** Sum of the costs of the receipts signed. */
  settled: bigint
  /** Sum of the quote maxima of requests accepted and not finished yet. */
  reserved: bigint
}

/** A voucher as offered with a request, with the address its signature recovers to (in this chain's domain). */
export type VoucherOffer = { channelId: bigint; cumulativeAmount: bigint; signature: Hex; recoveredSigner: Address }

export function newLedger({
  channelId,
  consumer,
  deposit,
}: {
  channelId: bigint
  consumer: Address
  deposit: bigint
}): ChannelLedger {
  return { channelId, consumer, deposit, voucher: null, settled: 0n, reserved: 0n }
}

/**
 * Accepts a voucher for a request whose quote's maximum is `maxCost`, reserving that maximum, or throws
 * `VoucherRejectedError`. The returned ledger holds the higher of the old and the offered voucher.
 */
export function acceptVoucher(ledger: ChannelLedger, offer: VoucherOffer, maxCost: bigint): ChannelLedger {
  if (maxCost < 0n) throw new VoucherRejectedError({ reason: 'malformed', details: 'negative quote' })
  if (offer.channelId !== ledger.channelId)
    throw new VoucherRejectedError({
      reason: 'wrong-channel',
      details: `voucher for channel ${offer.channelId}, not ${ledger.channelId}`,
    })
  if (offer.recoveredSigner.toLowerCase() !== ledger.consumer.toLowerCase()) {
    throw new VoucherRejectedError({
      reason: 'forged',
      details: `signed by ${offer.recoveredSigner}, not the channel's consumer ${ledger.consumer}`,
    })
  }
  if (offer.cumulativeAmount > ledger.deposit)
    throw new VoucherRejectedError({
      reason: 'over-deposit',
      details: `${offer.cumulativeAmount} exceeds the deposit of ${ledger.deposit}`,
    })
  const held = ledger.voucher?.cumulativeAmount ?? 0n
  if (offer.cumulativeAmount < held)
    throw new VoucherRejectedError({
      reason: 'stale',
      details: `${offer.cumulativeAmount} is below the ${held} already accepted`,
    })
  const needed = ledger.settled + ledger.reserved + maxCost
  if (offer.cumulativeAmount < needed) {
    const reason = ledger.voucher !== null && offer.cumulativeAmount === held ? 'replayed' : 'insufficient'
    throw new VoucherRejectedError({
      reason,
      details: `the voucher covers ${offer.cumulativeAmount}; settled ${ledger.settled}, in flight ${ledger.reserved} and this quote's ${maxCost} need ${needed}`,
    })
  }
  const voucher =
    offer.cumulativeAmount > held || ledger.voucher === null
      ? { cumulativeAmount: offer.cumulativeAmount, signature: offer.signature }
      : ledger.voucher
  return { ...ledger, voucher, reserved: ledger.reserved + maxCost }
}

/** Settles a request accepted with `maxCost` at `cost` (≤ maxCost): the receipt's amount. */
export function settleRequest(ledger: ChannelLedger, maxCost: bigint, cost: bigint): ChannelLedger {
  if (cost < 0n || cost > maxCost) throw new RangeError(`a request reserved at ${maxCost} cannot cost ${cost}`)
  if (maxCost > ledger.reserved) throw new RangeError(`releasing ${maxCost} but only ${ledger.reserved} is reserved`)
  return { ...ledger, reserved: ledger.reserved - maxCost, settled: ledger.settled + cost }
}

/** Releases a request that ended without a receipt (cancelled or failed): it costs nothing. */
export function releaseRequest(ledger: ChannelLedger, maxCost: bigint): ChannelLedger {
  return settleRequest(ledger, maxCost, 0n)
}

/** What redeeming the held voucher would pay now, given what the channel already redeemed on-chain. */
export function redeemable(ledger: ChannelLedger, redeemedOnChain: bigint): bigint {
  const held = ledger.voucher?.cumulativeAmount ?? 0n
  return held > redeemedOnChain ? held - redeemedOnChain : 0n
}

/** What a consumer knows of its channel to one node. */
export type ConsumerChannel = {
  channelId: bigint
  /** The node (operator) the channel pays. */
  node: Address
  deposit: bigint
  /** The highest cumulative amount signed so far. */
  signed: bigint
  /** Sum of the costs of the receipts accepted. */
  settled: bigint
  /**
   * Paid requests that ended without their receipt (reset, node gone): the only ones a node may later settle behind
   * the consumer's back (their request hash and the most each may cost). Absent in channels stored before it existed.
   */
  interrupted?: { requestHash: Hex; maxCost: bigint }[]
  /**
   * Async jobs paid for and not delivered yet (`src/core/jobs.ts`): the node holds each one's maximum in reserve until
   * it settles it, so every later voucher covers them too, and a receipt may settle them behind the consumer's back.
   * Absent in channels stored before jobs existed.
   */
  jobs?: { requestHash: Hex; maxCost: bigint }[]
}

export function newConsumerChannel({
  channelId,
  node,
  deposit,
}: {
  channelId: bigint
  node: Address
  deposit: bigint
}): ConsumerChannel {
  return { channelId, node, deposit, signed: 0n, settled: 0n, interrupted: [] }
}

/** Remembers a paid request that ended without its receipt: the node may settle what it had sent of it. */
export function recordInterrupted(
  channel: ConsumerChannel,
  request: { requestHash: Hex; maxCost: bigint },
): ConsumerChannel {
  return { ...channel, interrupted: [...(channel.interrupted ?? []), request] }
}

/**
 * How far a receipt may move the settled total beyond its own cost: only by what the interrupted requests could
 * cost, and then those are accounted for. A node cannot claim a credit by a jump no interrupted request explains.
 */
function coverGap(channel: ConsumerChannel, gap: bigint): ConsumerChannel {
  if (gap === 0n) return channel
  const open = channel.interrupted ?? []
  const cover = open.reduce((sum, r) => sum + r.maxCost, 0n)
  if (gap <= cover) return { ...channel, interrupted: [] }
  // Beyond the interrupted requests, only undelivered jobs can explain it (the node settled one meanwhile). Which one
  // is not known yet, so they stay listed (later vouchers keep covering them) until their own receipts arrive.
  const jobs = reservedForJobs(channel)
  if (gap > cover + jobs)
    throw new InvalidReceiptError({
      reason: 'cumulative',
      details: `the receipt settles ${gap} more than this consumer's receipts; its interrupted requests and undelivered jobs could cost at most ${cover + jobs}`,
    })
  return { ...channel, interrupted: [] }
}

/** What the consumer's undelivered async jobs hold in reserve with the node. */
export function reservedForJobs(channel: ConsumerChannel): bigint {
  return (channel.jobs ?? []).reduce((sum, j) => sum + j.maxCost, 0n)
}

/** What the consumer may still spend with the node without signing more. */
export function credit(channel: ConsumerChannel): bigint {
  return channel.signed - channel.settled
}

/**
 * The cumulative amount of the voucher for a request quoted at `maxCost`: never lower than one already signed, and
 * covering the undelivered jobs the node holds in reserve.
 */
export function nextVoucherAmount(channel: ConsumerChannel, maxCost: bigint): bigint {
  const needed = channel.settled + reservedForJobs(channel) + maxCost
  const amount = needed > channel.signed ? needed : channel.signed
  if (amount > channel.deposit)
    throw new InsufficientDepositError({ channelId: channel.channelId, needed: amount, deposit: channel.deposit })
  return amount
}

/** Records a voucher the consumer signed. */
export function recordVoucher(channel: ConsumerChannel, cumulativeAmount: bigint): ConsumerChannel {
  if (cumulativeAmount < channel.signed)
    throw new RangeError(`cumulative amounts only grow: ${cumulativeAmount} < ${channel.signed}`)
  return { ...channel, signed: cumulativeAmount }
}

/**
 * Checks a receipt's money against the quote and the channel's history (its signature is checked in
 * `verifySignedReceipt`) and settles it, or throws `InvalidReceiptError`. The cost must be exactly what the
 * quote's prices give for the quoted input and the tokens generated, hence at most the quote's maximum.
 */
export function applyReceipt(channel: ConsumerChannel, receipt: Receipt, quote: Quote): ConsumerChannel {
  if (receipt.channelId !== channel.channelId)
    throw new InvalidReceiptError({
      reason: 'fields',
      details: `receipt for channel ${receipt.channelId}, not ${channel.channelId}`,
    })
  if (receipt.modelHash.toLowerCase() !== quote.modelHash.toLowerCase())
    throw new InvalidReceiptError({ reason: 'fields', details: 'receipt for another model' })
  if (receipt.promptTokens !== BigInt(quote.inputTokens))
    throw new InvalidReceiptError({
      reason: 'cost',
      details: `${receipt.promptTokens} input tokens billed, the quote counted ${quote.inputTokens}`,
    })
  if (receipt.completionTokens > BigInt(quote.maxTokens))
    throw new InvalidReceiptError({
      reason: 'cost',
      details: `${receipt.completionTokens} tokens billed, max_tokens was ${quote.maxTokens}`,
    })
  const expected = settleCost(quote, Number(receipt.completionTokens))
  if (receipt.cost !== expected || receipt.cost > quote.maxCost)
    throw new InvalidReceiptError({
      reason: 'cost',
      details: `cost ${receipt.cost}, the quote gives ${expected} (max ${quote.maxCost})`,
    })
  // Above settled + cost only when the node settled a cancelled request whose receipt this consumer missed (a reset
  // that crossed it): that is caught up here, never beyond what the consumer signed.
  if (receipt.cumulativePaid < channel.settled + receipt.cost) {
    throw new InvalidReceiptError({
      reason: 'cumulative',
      details: `cumulativePaid ${receipt.cumulativePaid}, expected at least ${channel.settled} + ${receipt.cost}`,
    })
  }
  if (receipt.cumulativePaid > channel.signed)
    throw new InvalidReceiptError({
      reason: 'cumulative',
      details: 'the receipt settles more than the vouchers signed',
    })
  return {
    ...coverGap(channel, receipt.cumulativePaid - channel.settled - receipt.cost),
    settled: receipt.cumulativePaid,
  }
}

/**
 * Catches up with a receipt the consumer did not see settle (a request it interrupted by a reset, whose receipt the
 * node signed for the tokens it had sent), handed back by the node with a refusal. Its signature must already be
 * verified (`verifySignedReceipt`). It must be the receipt of one of the consumer's interrupted requests, and it can
 * only move the settled total forward by what those requests could cost, never beyond what the consumer signed:
 * a node cannot invent a settlement to claim a consumer's credit.
 */
export function catchUp(channel: ConsumerChannel, receipt: Receipt): ConsumerChannel {
  if (receipt.channelId !== channel.channelId)
    throw new InvalidReceiptError({
      reason: 'fields',
      details: `receipt for channel ${receipt.channelId}, not ${channel.channelId}`,
    })
  const own = (channel.interrupted ?? []).find((r) => r.requestHash.toLowerCase() === receipt.requestHash.toLowerCase())
  if (!own)
    throw new InvalidReceiptError({
      reason: 'fields',
      details: 'the receipt is not for a request of this consumer that ended without its receipt',
    })
  if (receipt.cost > own.maxCost)
    throw new InvalidReceiptError({
      reason: 'cost',
      details: `the receipt bills ${receipt.cost}, the request could cost at most ${own.maxCost}`,
    })
  if (receipt.cumulativePaid <= channel.settled)
    throw new InvalidReceiptError({
      reason: 'cumulative',
      details: `the receipt settles ${receipt.cumulativePaid}, not beyond the ${channel.settled} already settled`,
    })
  if (receipt.cumulativePaid > channel.signed)
    throw new InvalidReceiptError({
      reason: 'cumulative',
      details: `the receipt settles ${receipt.cumulativePaid}, more than the ${channel.signed} signed`,
    })
  return { ...coverGap(channel, receipt.cumulativePaid - channel.settled), settled: receipt.cumulativePaid }
}
