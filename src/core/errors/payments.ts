/**
 * Errors of paid prompts: vouchers a node refuses, receipts a consumer refuses, quotes that do not fit a channel,
 * and anchoring or redemption that could not finish. Each keeps its facts in `data`, so it survives the wire.
 */
import { BaseError, registerErrorClass, type JsonValue } from './base.ts'

/**
 * Why a node refused a voucher. `replayed`: it adds nothing to the voucher the node already holds and the credit
 * left does not cover the quote; `stale`: lower than one already accepted; `forged`: not signed by the channel's
 * consumer; `wrong-chain`/`wrong-channel`: signed for another chain, contract, node or channel; `over-deposit`:
 * more than the channel holds; `insufficient`: below what the quote's maximum needs; `closed`: the channel is not
 * open; `malformed`: not a voucher at all.
 */
export type VoucherRejection =
  | 'replayed'
  | 'stale'
  | 'forged'
  | 'wrong-chain'
  | 'wrong-channel'
  | 'over-deposit'
  | 'insufficient'
  | 'closed'
  | 'malformed'

export class VoucherRejectedError extends BaseError {
  override name = 'VoucherRejectedError' as const
  constructor({ reason, details }: { reason: VoucherRejection; details: string }) {
    super(
      `The node refused the voucher (${reason}); sign a new voucher that covers the quote from the latest receipt.`,
      { details, data: { reason } },
    )
  }
  get reason(): VoucherRejection {
    return this.data?.['reason'] as VoucherRejection
  }
}
registerErrorClass('VoucherRejectedError', VoucherRejectedError)

/**
 * Why a consumer refused a receipt: `signature` (not signed by the node's signer), `cost` (more than the quote's
 * maximum, or not what the quote's prices give), `cumulative` (does not continue the channel's history), `fields`
 * (another channel, consumer, model or request), `malformed`.
 */
export type ReceiptRejection = 'signature' | 'cost' | 'cumulative' | 'fields' | 'malformed'

export class InvalidReceiptError extends BaseError {
  override name = 'InvalidReceiptError' as const
  constructor({ reason, details }: { reason: ReceiptRejection; details: string }) {
    super(`The node's receipt is invalid (${reason}); do not trust this answer's cost, and prefer another node.`, {
      details,
      data: { reason },
    })
  }
  get reason(): ReceiptRejection {
    return this.data?.['reason'] as ReceiptRejection
  }
}
registerErrorClass('InvalidReceiptError', InvalidReceiptError)

/** A quote or price that cannot be used: malformed, for another model, or not what the announcement promised. */
export class InvalidQuoteError extends BaseError {
  override name = 'InvalidQuoteError' as const
  constructor({ details }: { details: string }) {
    super('The node sent an unusable quote; pick another node.', { details })
  }
}
registerErrorClass('InvalidQuoteError', InvalidQuoteError)

/** The channel's deposit cannot cover the next voucher: top the channel up (or open a larger one). */
export class InsufficientDepositError extends BaseError {
  override name = 'InsufficientDepositError' as const
  constructor({ channelId, needed, deposit }: { channelId: bigint; needed: bigint; deposit: bigint }) {
    super(
      `Channel ${channelId} holds ${deposit} but the next voucher needs ${needed}; top it up or open a larger channel.`,
      {
        data: { channelId: channelId.toString(), needed: needed.toString(), deposit: deposit.toString() },
      },
    )
  }
  get needed(): bigint {
    return BigInt(this.data?.['needed'] as string)
  }
}
registerErrorClass('InsufficientDepositError', InsufficientDepositError)

/**
 * A paid request ended without a receipt: the node went away or broke the stream. `text` is what arrived, `credit`
 * what the consumer may still spend with this node (the voucher covered the quote; no receipt settled it).
 */
export class PaidRequestInterruptedError extends BaseError {
  override name = 'PaidRequestInterruptedError' as const
  constructor({ text, credit, cause }: { text: string; credit: bigint; cause?: unknown }) {
    super('The node stopped before finishing the answer; the partial text is kept and no receipt was settled.', {
      cause,
      data: { text, credit: credit.toString() },
    })
  }
  get text(): string {
    return this.data?.['text'] as string
  }
  get credit(): bigint {
    return BigInt(this.data?.['credit'] as string)
  }
}
registerErrorClass('PaidRequestInterruptedError', PaidRequestInterruptedError)

/** No node announces the model (or none meets the latency bar). */
export class NoNodeAvailableError extends BaseError {
  override name = 'NoNodeAvailableError' as const
  constructor({ model, details }: { model: string; details?: string }) {
    super(`No node serves ${model} right now; try again later or pick another model.`, { details, data: { model } })
  }
}
registerErrorClass('NoNodeAvailableError', NoNodeAvailableError)

/**
 * Nodes announce the model, but none meets the reputation the consumer asked for (`minReputation`, `requireKnown`):
 * `skipped` lists them with their score (null: unknown). Lower the minimum, allow unknown nodes, or name a node.
 */
export class NoReputableNodeError extends BaseError {
  override name = 'NoReputableNodeError' as const
  constructor({
    model,
    minReputation,
    requireKnown,
    skipped,
  }: {
    model: string
    minReputation?: number | undefined
    requireKnown?: boolean | undefined
    skipped: readonly { peerId: string; score: number | null }[]
  }) {
    const wanted = [
      minReputation === undefined ? null : `a reputation of at least ${minReputation}`,
      requireKnown ? 'enough evidence to be known' : null,
    ]
      .filter(Boolean)
      .join(' and ')
    super(
      `${skipped.length} node${skipped.length === 1 ? '' : 's'} serve${skipped.length === 1 ? 's' : ''} ${model}, but none has ${wanted}; lower the minimum, allow unknown nodes, or name a node.`,
      {
        details: skipped.map((s) => `${s.peerId}: ${s.score === null ? 'unknown' : s.score}`).join(', '),
        data: {
          model,
          minReputation: minReputation ?? null,
          requireKnown: requireKnown ?? false,
          skipped: skipped.map((s) => ({ peerId: s.peerId, score: s.score })),
        },
      },
    )
  }
  get skipped(): { peerId: string; score: number | null }[] {
    return this.data?.['skipped'] as { peerId: string; score: number | null }[]
  }
}
registerErrorClass('NoReputableNodeError', NoReputableNodeError)

/** Which of the consumer's spend limits a node's price or quote would break. */
export type SpendLimit = 'maxSpendPerRequest' | 'maxDeposit' | 'maxPricePerMillionInput' | 'maxPricePerMillionOutput'

/**
 * A node asks more than the consumer allows (`SpendLimits` in `src/core/bounds.ts`): nothing was signed or
 * deposited. Raise the limit, lower max_tokens or the prompt, or pick a cheaper node.
 */
export class SpendLimitError extends BaseError {
  override name = 'SpendLimitError' as const
  constructor({ limit, allowed, asked }: { limit: SpendLimit; allowed: bigint; asked: bigint }) {
    super(
      `The request would need ${asked} where ${limit} allows ${allowed}; nothing was paid. Raise the limit, ask for less, or pick a cheaper node.`,
      {
        data: { limit, allowed: allowed.toString(), asked: asked.toString() },
      },
    )
  }
  get limit(): SpendLimit {
    return this.data?.['limit'] as SpendLimit
  }
  get allowed(): bigint {
    return BigInt(this.data?.['allowed'] as string)
  }
  get asked(): bigint {
    return BigInt(this.data?.['asked'] as string)
  }
}
registerErrorClass('SpendLimitError', SpendLimitError)

/**
 * A node sent more than the request allows (more tokens than max_tokens, or more text than such tokens can hold):
 * the consumer stopped reading and refuses the answer's receipt.
 */
export class StreamLimitError extends BaseError {
  override name = 'StreamLimitError' as const
  constructor({
    maxTokens,
    received,
    kept,
    text,
  }: {
    maxTokens: number
    received: number
    kept: number
    text: string
  }) {
    super(
      `The node sent ${received} tokens where max_tokens is ${maxTokens}; the answer was cut there and is not paid beyond it. Prefer another node.`,
      {
        data: { maxTokens, received, kept, text },
      },
    )
  }
  /** The text kept: what arrived within the limit. */
  get text(): string {
    return this.data?.['text'] as string
  }
  /** Tokens kept (within max_tokens). */
  get kept(): number {
    return this.data?.['kept'] as number
  }
}
registerErrorClass('StreamLimitError', StreamLimitError)

/**
 * A node's payment policy refused a request: unpaid, or its voucher does not cover it. Becomes the
 * PAYMENT_REQUIRED error frame; `quote` is the price the node would serve it at, `settlement` the channel's latest
 * signed receipt when the consumer is behind (a cancelled request it did not see settled).
 */
export class PaymentRefusedError extends BaseError {
  override name = 'PaymentRefusedError' as const
  constructor({
    details,
    quote,
    settlement,
  }: {
    details: string
    quote?: JsonValue | undefined
    settlement?: JsonValue | undefined
  }) {
    const data: Record<string, JsonValue> = {}
    if (quote !== undefined) data['quote'] = quote
    if (settlement !== undefined) data['settlement'] = settlement
    super('The node needs a payment that covers this request.', { details, data })
  }
  get quote(): JsonValue | undefined {
    return this.data?.['quote']
  }
  get settlement(): JsonValue | undefined {
    return this.data?.['settlement']
  }
}
registerErrorClass('PaymentRefusedError', PaymentRefusedError)
