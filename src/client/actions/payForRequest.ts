/**
 * One paid request, top to bottom. Pick the node: the one asked for, or the candidates the routing rule ranks
 * (`routeRequest`: price of this request, queue wait, round trip, tokens/s, reputation; flagged nodes and nodes in
 * back-off left out). A node that refuses (BUSY: left alone until its retry-after) or fails before its first token
 * (cannot be dialled, goes away, refuses the voucher) is left for the next, at most `maxAttempts` nodes, and when all
 * fail the typed `AllNodesFailedError` lists them; once a token has arrived the request never moves to another node
 * (the partial text comes back in `PaidRequestInterruptedError`, as before). Price the request, either by asking the
 * node's quote (checked against the registry, the input bound and the spend limits) or by prepaying the consumer's own
 * bound at the registered prices (no round trip; the node settles the actual cost and the rest stays credit); make
 * sure the channel can cover it (read from the chain at most every `channelReadMs`: a node that refuses the voucher
 * on a channel read earlier makes it read again, and the request is paid once more); sign a voucher for settled +
 * maximum; stream the answer, refusing more tokens than max_tokens; verify the signed receipt against the quote the
 * node served it at, and settle it.
 *
 * Cancelling (the caller's signal) asks the node to stop; the node answers with the receipt of what it had sent,
 * which is settled here. A request that ends without its receipt (a reset, a node gone) is remembered as interrupted,
 * and one the consumer cancelled only up to the price of the tokens it received (a node that ignores the cancel and
 * streams on cannot later settle more than that);
 * a node that refuses the next voucher because it settled such a request hands back that receipt, and the consumer
 * checks it is one of its interrupted requests, catches up and pays once more. No other settlement is accepted. A
 * refusal whose receipt the consumer already has means the node still holds an interrupted request in reserve (its
 * engine outlived the cancel's grace period): the consumer waits briefly and pays again, a bounded number of times.
 */
import type { Address, Hex } from 'viem'
import { signVoucher } from '../../chain/actions/signVoucher.ts'
import { checkSpend, inputTokenBound, prepaidMaxCost, streamMeter } from '../../core/bounds.ts'
import {
  applyReceipt,
  catchUp,
  credit,
  nextVoucherAmount,
  recordInterrupted,
  recordVoucher,
  type ConsumerChannel,
} from '../../core/credit.ts'
import type { DirectoryEntry } from '../../core/directory.ts'
import { InferenceAbortedError } from '../../core/errors/engine.ts'
import { InferRequestError, InferStreamError } from '../../core/errors/p2p.ts'
import {
  InvalidQuoteError,
  InvalidReceiptError,
  NoNodeAvailableError,
  PaidRequestInterruptedError,
  SpendLimitError,
  StreamLimitError,
  VoucherRejectedError,
} from '../../core/errors/payments.ts'
import { AllNodesFailedError, type RouteAttempt } from '../../core/errors/routing.ts'
import type { Delta, FinishReason, InferenceRequest, Usage } from '../../core/inference.ts'
import {
  decodeSignedReceipt,
  encodePayment,
  encodeSignedReceipt,
  requestHash,
  verifySignedReceipt,
  type SignedReceipt,
} from '../../core/payment.ts'
import { decodeQuote, tokenCost, type Quote } from '../../core/quote.ts'
import { connectToPeer } from '../../p2p/dial.ts'
import { infer, type InferOutcome } from '../../p2p/infer-client.ts'
import type { ClientContext } from '../context.ts'
import { ensureChannel } from './ensureChannel.ts'
import { nodeCandidates } from './findNodes.ts'
import { getQuote, registeredPricesOf, verifyQuote } from './getQuote.ts'
import { routeRequest } from './routeRequest.ts'

/** What a paid request settled: the answer, its cost and its verified receipt. */
export type PaidResult = {
  text: string
  finish_reason: FinishReason
  usage: Usage
  cost: bigint
  quote: Quote
  receipt: SignedReceipt
  /** The serving node's peer id (where `verify` asks for the proof). */
  peer: string
  channelId: bigint
  /** Credit left with this node after the request. */
  credit: bigint
  /** The request exactly as sent (with its seed): what a verifier re-runs. */
  request: InferenceRequest
  /** The engine the node announced for the model (`wasm`, `webgpu`, …): which spot-check rule applies. */
  engine: string
  /**
   * How the request travelled: over a relayed circuit or a direct connection, and on a stream opened ahead of it
   * (the node kept warm: no negotiation round trip before the request) or one opened for it.
   */
  transport: { relayed: boolean; warm: boolean }
  /** Nodes tried before this one, each refused or failed before its first token (automatic choice only). */
  failedOver?: RouteAttempt[]
  /** A hedged request: the other node asked, cancelled when this one produced its first token. */
  hedge?: { peer: string; operator: Address; signer: Address }
}

export type PayForRequestParameters = {
  model: string
  contentHash: Hex
  /** max_tokens must be set: it bounds the price. */
  request: InferenceRequest & { max_tokens: number }
  node?: string | DirectoryEntry | undefined
  /** Skip the quote round trip and prepay the consumer's own bound. */
  prepay?: boolean | undefined
  signal?: AbortSignal | undefined
  onDelta?: (delta: Delta) => void
}

type Priced = { entry: DirectoryEntry; maxCost: bigint; quote: Quote | null }

export async function payForRequest(context: ClientContext, p: PayForRequestParameters): Promise<PaidResult> {
  if (p.node) {
    const [entry] = await nodeCandidates(context, { model: p.model, contentHash: p.contentHash, node: p.node })
    if (!entry) throw new NoNodeAvailableError({ model: p.model })
    return payNode(context, p, entry, { delivered: false })
  }
  const { ranked } = await routeRequest(context, { model: p.model, contentHash: p.contentHash, request: p.request })
  return payWithFailover(
    context,
    p,
    ranked.map((r) => r.candidate.entry),
  )
}

/**
 * Tries nodes in order until one serves: `entries`, or a queue shared with another request (a hedge's other side),
 * at most `context.maxAttempts` of them. A refusal or a failure before the first token moves on to the next (and
 * backs the node off); anything after it, or a cancel, ends the request.
 */
export async function payWithFailover(
  context: ClientContext,
  p: PayForRequestParameters,
  entries: readonly DirectoryEntry[] | (() => DirectoryEntry | undefined),
): Promise<PaidResult> {
  const next = typeof entries === 'function' ? entries : queueOf(entries)
  const attempts: RouteAttempt[] = []
  let last: unknown
  for (let tried = 0; tried < context.maxAttempts; tried++) {
    const entry = next()
    if (!entry) break
    const progress = { delivered: false }
    try {
      const result = await payNode(context, p, entry, progress)
      context.backoff.succeeded(entry.peerId)
      return attempts.length > 0 ? { ...result, failedOver: attempts } : result
    } catch (error) {
      const verdict = failover(error, progress.delivered, p.signal)
      if (verdict === 'stop') throw error
      if (verdict.busy) context.backoff.busy(entry.peerId, Date.now(), verdict.retryAfterMs)
      else context.backoff.failed(entry.peerId, Date.now())
      attempts.push(describeAttempt(entry.peerId, error))
      last = error
    }
  }
  if (attempts.length === 0) throw new NoNodeAvailableError({ model: p.model })
  throw new AllNodesFailedError({ model: p.model, attempts, cause: last })
}

/** Hands out `entries` one at a time (a queue several requests can share). */
export function queueOf(entries: readonly DirectoryEntry[]): () => DirectoryEntry | undefined {
  let at = 0
  return () => entries[at++]
}

/** Whether a failed attempt may move to another node, and whether the node said it was busy (and for how long). */
function failover(
  error: unknown,
  delivered: boolean,
  signal: AbortSignal | undefined,
): 'stop' | { busy: boolean; retryAfterMs?: number | undefined } {
  if (delivered || signal?.aborted) return 'stop'
  const cause = error instanceof PaidRequestInterruptedError && error.text === '' ? error.cause : error
  if (cause instanceof InferRequestError) {
    if (cause.code === 'BAD_REQUEST') return 'stop'
    return cause.code === 'BUSY' ? { busy: true, retryAfterMs: cause.retryAfterMs } : { busy: false }
  }
  if (
    cause instanceof InferStreamError ||
    cause instanceof InvalidQuoteError ||
    cause instanceof InvalidReceiptError ||
    cause instanceof VoucherRejectedError ||
    cause instanceof SpendLimitError
  )
    return { busy: false }
  return 'stop'
}

function describeAttempt(peerId: string, error: unknown): RouteAttempt {
  const cause = error instanceof PaidRequestInterruptedError && error.cause ? error.cause : error
  const name = cause instanceof Error ? cause.name : 'Error'
  const code = cause instanceof InferRequestError ? cause.code : cause instanceof InferStreamError ? cause.reason : null
  const message =
    cause instanceof Error ? ((cause as { shortMessage?: string }).shortMessage ?? cause.message) : String(cause)
  return { peerId, error: name, code, message }
}

/** One node: price the request there, then pay and stream under the node's lock. `progress.delivered`: a token arrived. */
async function payNode(
  context: ClientContext,
  p: PayForRequestParameters,
  entry: DirectoryEntry,
  progress: { delivered: boolean },
): Promise<PaidResult> {
  const priced = await price(context, p, entry)
  const tracked: PayForRequestParameters = {
    ...p,
    onDelta: (delta) => {
      progress.delivered = true
      p.onDelta?.(delta)
    },
  }
  return context.exclusive(priced.entry.announcement.operator.toLowerCase(), () =>
    payAndStream(context, tracked, priced, PAYMENT_RETRIES),
  )
}

/**
 * Refusals a request may meet before it is served: each one either catches up with a missed receipt or waits for the
 * node to finish one of our interrupted requests it still holds in reserve (a cancel that outlived the grace period
 * and was reset: the node settles or releases it when its engine stops). Waits double from `FINISHING_WAIT_MS`.
 */
const PAYMENT_RETRIES = 6
const FINISHING_WAIT_MS = 50

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** The request's price at `entry`: its checked quote, or the consumer's own bound at the registered prices (prepay). */
async function price(context: ClientContext, p: PayForRequestParameters, entry: DirectoryEntry): Promise<Priced> {
  if (p.prepay) {
    // No quote round trip to find a dead node: reach it before a channel is opened or a voucher signed for it.
    const { node } = await context.ready()
    await connectToPeer(node, entry.peerId, p.signal ? { signal: p.signal } : {}).catch(async (cause: unknown) => {
      if (p.signal?.aborted) throw await cancelledBeforeSending(context, entry)
      throw new InferStreamError({
        reason: 'dial',
        details: cause instanceof Error ? cause.message : String(cause),
        cause,
      })
    })
    const registered = await registeredPricesOf(context, entry)
    const maxCost = prepaidMaxCost(p.request, registered, p.request.max_tokens)
    checkSpend(registered, maxCost, context.limits)
    return { entry, maxCost, quote: null }
  }
  const quote = await getQuote(context, { entry, request: p.request, ...(p.signal ? { signal: p.signal } : {}) })
  return { entry, maxCost: quote.maxCost, quote }
}

async function payAndStream(
  context: ClientContext,
  p: PayForRequestParameters,
  { entry, maxCost, quote }: Priced,
  retries: number,
): Promise<PaidResult> {
  const { node, state } = await context.ready()
  const { channels, anchor } = context.addresses
  const operator = entry.announcement.operator.toLowerCase()
  const receiptDomain = { chainId: context.deployment.chainId, verifyingContract: anchor }
  const expected = { signer: entry.announcement.signer, consumer: context.account }
  const save = async (channel: ConsumerChannel, receipt?: SignedReceipt) => {
    state.channels[operator] = channel
    if (receipt)
      state.receipts.push({
        peer: entry.peerId,
        receipt: encodeSignedReceipt(receipt),
        cost: receipt.receipt.cost,
        at: Date.now(),
      })
    await context.document.save(state)
  }

  const attemptStarted = Date.now()
  let channel = await ensureChannel(context, { operator: entry.announcement.operator, maxCost })
  // Cancelled meanwhile (a hedged request whose other node answered first): nothing is signed.
  if (p.signal?.aborted)
    throw new PaidRequestInterruptedError({ text: '', credit: credit(channel), cause: new InferenceAbortedError() })
  const cumulativeAmount = nextVoucherAmount(channel, maxCost)
  const { signature } = await signVoucher(context.wallet, {
    channels,
    chainId: context.deployment.chainId,
    voucher: { channelId: channel.channelId, cumulativeAmount },
  })
  channel = recordVoucher(channel, cumulativeAmount)
  await save(channel)
  context.onVoucher?.({ operator: entry.announcement.operator, peer: entry.peerId, signer: entry.announcement.signer })
  const payment = encodePayment({
    chainId: context.deployment.chainId,
    channels,
    voucher: { channelId: channel.channelId, cumulativeAmount },
    signature,
  })

  const call = infer(node, {
    peer: entry.peerId,
    request: p.request,
    payment,
    ...(p.signal ? { signal: p.signal } : {}),
  })
  const meter = streamMeter(p.request.max_tokens)
  /** The receipt of the answer (or of what was sent before a cancel), checked against the quote it was served at. */
  const settle = async (outcome: InferOutcome, text: string): Promise<{ receipt: SignedReceipt; served: Quote }> => {
    const served = quote ?? (await verifyQuote(context, decodeQuote(outcome.quote), entry, p.request))
    if (served.maxCost > maxCost)
      throw new InvalidQuoteError({
        details: `the node served the request at a maximum of ${served.maxCost}, above the ${maxCost} paid`,
      })
    const receipt = decodeSignedReceipt(outcome.receipt)
    await verifySignedReceipt(receipt, receiptDomain, { ...expected, request: p.request, text }, context.signers)
    channel = applyReceipt(channel, receipt.receipt, served)
    await save(channel, receipt)
    return { receipt, served }
  }

  let outcome: InferOutcome
  try {
    for await (const delta of call) {
      meter.add(delta)
      p.onDelta?.(delta)
    }
    outcome = await call.result
  } catch (error) {
    // Ended without its receipt: the node may settle what it sent of it later (and only then may we catch up). A
    // request we cancelled may be settled only up to what we received of it: a node that ignored the cancel and
    // streamed on cannot bill the rest. One that was never sent (no dial) cannot be settled at all.
    const interrupted = async () => {
      if (error instanceof InferStreamError && error.reason === 'dial') return
      const bound = p.signal?.aborted
        ? await receivedCost(context, p, entry, quote, meter.tokens, maxCost)
        : (quote?.maxCost ?? maxCost)
      if (bound === 0n) return
      channel = recordInterrupted(channel, { requestHash: requestHash(p.request), maxCost: bound })
      await save(channel)
    }
    if (error instanceof StreamLimitError) {
      await interrupted()
      throw error
    }
    if (
      error instanceof InferRequestError &&
      error.code === 'PAYMENT_REQUIRED' &&
      error.settlement !== undefined &&
      retries > 0 &&
      !p.signal?.aborted
    ) {
      const missed = decodeSignedReceipt(error.settlement)
      await verifySignedReceipt(missed, receiptDomain, expected)
      if (missed.receipt.cumulativePaid > channel.settled) {
        channel = catchUp(channel, missed.receipt)
        await save(channel, missed)
      } else if ((channel.interrupted ?? []).length > 0) {
        // Nothing missed: the node's last receipt is one we have. It still holds an interrupted request of ours in
        // reserve (its engine has not stopped yet); it settles or releases it shortly, then the same voucher passes.
        await pause(FINISHING_WAIT_MS * 2 ** (PAYMENT_RETRIES - retries), p.signal)
      } else throw error
      return payAndStream(context, p, { entry, maxCost, quote }, retries - 1)
    }
    // Refused with nothing to catch up with, on a channel last read from the chain before this attempt: it may have
    // been closed since (by this wallet elsewhere). Read it again (ensureChannel opens a new one if so) and pay again.
    if (
      error instanceof InferRequestError &&
      error.code === 'PAYMENT_REQUIRED' &&
      error.settlement === undefined &&
      retries > 0 &&
      !p.signal?.aborted &&
      (context.channelReads.get(channel.channelId.toString()) ?? attemptStarted) < attemptStarted
    ) {
      context.channelReads.delete(channel.channelId.toString())
      return payAndStream(context, p, { entry, maxCost, quote }, retries - 1)
    }
    if (error instanceof InferRequestError) throw error
    const cancelled = error instanceof InferenceAbortedError ? await call.result.catch(() => null) : null
    const settledNow = cancelled?.receipt
      ? await settle(cancelled, meter.text).then(
          () => true,
          () => false,
        )
      : false
    if (!settledNow) await interrupted()
    throw new PaidRequestInterruptedError({ text: meter.text, credit: credit(channel), cause: error })
  }
  const { receipt, served } = await settle(outcome, meter.text)
  return {
    text: meter.text,
    finish_reason: outcome.finish_reason,
    usage: outcome.usage,
    cost: receipt.receipt.cost,
    quote: served,
    receipt,
    peer: entry.peerId,
    channelId: channel.channelId,
    credit: credit(channel),
    request: p.request,
    engine:
      entry.announcement.models.find((m) => m.contentHash.toLowerCase() === p.contentHash.toLowerCase())?.engine ??
      'unknown',
    transport: { relayed: outcome.relayed, warm: outcome.warm },
  }
}

/** What an honest node may bill for the `tokens` it sent before a cancel: nothing for none, else input + those tokens. */
async function receivedCost(
  context: ClientContext,
  p: PayForRequestParameters,
  entry: DirectoryEntry,
  quote: Quote | null,
  tokens: number,
  maxCost: bigint,
): Promise<bigint> {
  if (tokens === 0) return 0n
  const cost = quote
    ? tokenCost(quote.inputTokens, tokens, quote)
    : tokenCost(inputTokenBound(p.request), tokens, await registeredPricesOf(context, entry))
  return cost < maxCost ? cost : maxCost
}

/** A request cancelled before anything was sent ends as every cancelled request does: interrupted, nothing streamed. */
async function cancelledBeforeSending(
  context: ClientContext,
  entry: DirectoryEntry,
): Promise<PaidRequestInterruptedError> {
  const channel = (await context.ready()).state.channels[entry.announcement.operator.toLowerCase()]
  return new PaidRequestInterruptedError({
    text: '',
    credit: channel ? credit(channel) : 0n,
    cause: new InferenceAbortedError(),
  })
}
