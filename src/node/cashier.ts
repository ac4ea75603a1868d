/**
 * The cashier: the money side of serving one request, as the infer server's `PaymentPolicy`. It quotes with the
 * engine's tokenizer, admits a request only with a voucher that covers its quote on an open channel that pays this
 * node (`acceptVoucher` in `src/core/credit.ts`), and settles it into a signed receipt: the whole answer, or on a
 * cancel the tokens already sent. Admission is atomic per channel (concurrent first requests on a fresh channel
 * cannot all spend one maximum), and a consumer whose voucher is behind the node's settled total (it missed the
 * receipt of a cancelled request) is refused with that receipt attached, so it can catch up. A receipt says
 * `deterministic` (its node slashable for a different output to the same request) only when the request asks for it,
 * the engine that ran it promises reproducible output, and the output was not cut short by a cancel. Chain reads are
 * injected; the books are shared with the settlement loop.
 */
import type { Address, Hex, LocalAccount } from 'viem'
import { acceptVoucher, releaseRequest, settleRequest, type ChannelLedger } from '../core/credit.ts'
import type { JsonValue } from '../core/errors/base.ts'
import { PaymentRefusedError, VoucherRejectedError } from '../core/errors/payments.ts'
import type { InferenceEngine, InferenceRequest, InferenceResult, LoadedModel } from '../core/inference.ts'
import {
  buildReceipt,
  checkPaymentDomain,
  decodePayment,
  encodeSignedReceipt,
  recoverVoucherSigner,
  type SignedReceipt,
} from '../core/payment.ts'
import { createQuote, encodeQuote, quotedText, type Prices, type Quote } from '../core/quote.ts'
import { hashReceipt, receiptTypedData, type TypedDataDomainParameters } from '../core/receipt.ts'
import { keyedQueue } from '../core/keyed-queue.ts'
import { createSignerCache } from '../core/signature.ts'
import type { Admission, PaymentContext, PaymentPolicy } from '../p2p/infer-server.ts'
import { newChannelBook, type Books, type ChannelBook } from './books.ts'
import { PROVIDER_DEFAULTS } from './constants.ts'

/** What the chain says of a channel (`getChannel` in `src/chain/actions`). */
export type ChannelOnChain = { consumer: Address; node: Address; deposit: bigint; redeemed: bigint; status: number }

export type CashierComponents = {
  engine: InferenceEngine
  books: Books
  readChannel(channelId: bigint): Promise<ChannelOnChain>
}

export type CashierInit = {
  signer: LocalAccount
  operator: Address
  prices: Prices
  chainId: number
  voucherDomain: TypedDataDomainParameters
  receiptDomain: TypedDataDomainParameters
  /**
   * An open channel whose last read from the chain is older than this is read again behind the request that found
   * it so (the request goes on at once); older than `statusWaitMs`, the request waits for the read.
   */
  statusMaxAgeMs?: number
  statusWaitMs?: number
  now?: () => number
  /** A receipt was signed (the settlement loop schedules anchoring; the Node view refreshes). */
  onReceipt?: (signed: SignedReceipt, result: InferenceResult) => void
  onRefusal?: () => void
}

/** A request's payment context; `prices` are an async job's claimed prices (`src/node/jobs.ts`) instead of the live ones. */
export type CashierContext = PaymentContext & { prices?: Prices }

export type Cashier = Omit<PaymentPolicy, 'admit'> & {
  admit(context: CashierContext): Promise<Admission>
  quoteFor(request: InferenceRequest, model?: LoadedModel, prices?: Prices): Promise<Quote>
  /** Marks a channel closing (the settlement loop saw `ChannelCloseStarted`): no more admissions on it. */
  markClosing(channelId: bigint): void
  /** Requests admitted and not settled yet, per channel (reserved maxima). */
  reserved(channelId: string): bigint
  /** Runs `work` alone on the channel: admissions, settlements and final vouchers of one channel never interleave. */
  exclusive<T>(channelId: string, work: () => Promise<T>): Promise<T>
}

export function createCashier({ engine, books, readChannel }: CashierComponents, init: CashierInit): Cashier {
  const now = init.now ?? Date.now
  const statusMaxAgeMs = init.statusMaxAgeMs ?? PROVIDER_DEFAULTS.statusMaxAgeMs
  const statusWaitMs = init.statusWaitMs ?? PROVIDER_DEFAULTS.statusWaitMs
  /** Channels being read again behind a request (`readBehind`). */
  const readingBehind = new Set<string>()
  /** Consumers' keys, once seen on their channel: each later voucher's signature is checked against the key. */
  const signers = createSignerCache()
  const reservations = new Map<string, bigint>()
  /** Admissions, settlements and final vouchers of one channel never interleave. */
  const exclusive = keyedQueue()

  const ledgerOf = (book: ChannelBook): ChannelLedger => ({
    channelId: book.channelId,
    consumer: book.consumer,
    deposit: book.deposit,
    voucher: book.voucher,
    settled: book.settled,
    reserved: reservations.get(book.channelId.toString()) ?? 0n,
  })
  const withLedger = (book: ChannelBook, ledger: ChannelLedger): ChannelBook => {
    reservations.set(book.channelId.toString(), ledger.reserved)
    return { ...book, voucher: ledger.voucher, settled: ledger.settled, deposit: ledger.deposit }
  }

  // A paid request usually repeats the text of the quote request just before it: keep the last counts.
  const counts = new Map<string, number>()
  async function countTokens(text: string): Promise<number> {
    const known = counts.get(text)
    if (known !== undefined) return known
    const count = await engine.countTokens(text)
    counts.set(text, count)
    if (counts.size > 64) counts.delete(counts.keys().next().value as string)
    return count
  }

  async function quoteFor(
    request: InferenceRequest,
    model?: LoadedModel,
    prices: Prices = init.prices,
  ): Promise<Quote> {
    const loaded = model ?? (await engine.current())
    if (!loaded) throw new Error('no model loaded')
    return createQuote({
      model: loaded.id,
      modelHash: loaded.contentHash as Hex,
      inputTokens: await countTokens(quotedText(request)),
      maxTokens: request.max_tokens ?? PROVIDER_DEFAULTS.defaultMaxTokens,
      pricePerMillionInput: prices.pricePerMillionInput,
      pricePerMillionOutput: prices.pricePerMillionOutput,
      node: init.operator,
      signer: init.signer.address,
      chainId: init.chainId,
    })
  }

  /** The channel as the chain has it now, refused unless it is open and pays us. */
  async function refresh(channelId: bigint, known: ChannelBook | undefined): Promise<ChannelBook> {
    const onChain = await readChannel(channelId)
    if (onChain.status === 0)
      throw new VoucherRejectedError({ reason: 'wrong-channel', details: `channel ${channelId} does not exist` })
    if (onChain.node.toLowerCase() !== init.operator.toLowerCase())
      throw new VoucherRejectedError({
        reason: 'wrong-channel',
        details: `channel ${channelId} pays ${onChain.node}, not this node's operator ${init.operator}`,
      })
    const book = known
      ? { ...known, deposit: onChain.deposit, redeemed: onChain.redeemed, status: onChain.status, checkedAt: now() }
      : newChannelBook({
          channelId,
          consumer: onChain.consumer,
          deposit: onChain.deposit,
          redeemed: onChain.redeemed,
          status: onChain.status,
          checkedAt: now(),
        })
    if (known && onChain.status !== known.status) await books.putChannel(book)
    return book
  }

  /**
   * Reads an open channel again without holding up the request that found its read old: the read happens outside
   * the channel's lock and is applied under it, unless a newer read got there first; a channel never goes back to
   * open. A close seen here stops admissions at once, as the close watcher's mark does (which also redeems it).
   */
  function readBehind(channelId: bigint): void {
    const id = channelId.toString()
    if (readingBehind.has(id)) return
    readingBehind.add(id)
    const startedAt = now()
    void readChannel(channelId)
      .then((onChain) =>
        exclusive(id, async () => {
          const book = books.channel(id)
          if (!book || book.checkedAt >= startedAt) return
          const status = book.status === 1 ? onChain.status : book.status
          await books.putChannel({
            ...book,
            deposit: onChain.deposit,
            redeemed: onChain.redeemed,
            status,
            checkedAt: now(),
          })
        }),
      )
      .catch(() => {
        // The chain is out of reach: the next request past statusWaitMs waits for a read (and is refused if it fails).
      })
      .finally(() => readingBehind.delete(id))
  }

  function refuse(
    error: VoucherRejectedError,
    quote: JsonValue | undefined,
    book: ChannelBook | undefined,
  ): Promise<never> {
    init.onRefusal?.()
    const behind = error.reason === 'replayed' || error.reason === 'insufficient' || error.reason === 'stale'
    const settlement = behind && book?.lastReceipt ? books.receipt(book.lastReceipt) : Promise.resolve(undefined)
    return settlement.then((receipt) => {
      throw new PaymentRefusedError({
        details: `${error.reason}: ${error.details ?? error.shortMessage}`,
        quote,
        settlement: receipt,
      })
    })
  }

  async function admit({ request, payment, model, prices }: CashierContext): Promise<Admission> {
    // The quote bounds the output, so the request must name the bound it is quoted for.
    request.max_tokens ??= PROVIDER_DEFAULTS.defaultMaxTokens
    // Unpaid: refused before any work (a quote costs a token count, so it has its own budget as a quote-only request).
    if (payment === null) {
      init.onRefusal?.()
      throw new PaymentRefusedError({
        details: 'this node serves paid requests only: ask for a quote (a quote-only request) and pay with a voucher',
      })
    }
    // Everything that needs no channel state first: an unpayable request costs a decode and one signature recovery.
    let p
    let recoveredSigner: Address
    try {
      p = decodePayment(payment)
      checkPaymentDomain(p, init.voucherDomain)
      recoveredSigner = await recoverVoucherSigner(p.voucher, p.signature, init.voucherDomain, {
        signers,
        expected: books.channel(p.voucher.channelId.toString())?.consumer,
      })
    } catch (error) {
      if (error instanceof VoucherRejectedError) {
        init.onRefusal?.()
        throw new PaymentRefusedError({ details: `${error.reason}: ${error.details ?? error.shortMessage}` })
      }
      throw error
    }
    const payment_ = p
    const id = payment_.voucher.channelId.toString()

    return exclusive(id, async () => {
      let book = books.channel(id)
      let wireQuote: JsonValue | undefined
      let quote: Quote
      try {
        const age = book ? now() - book.checkedAt : Number.POSITIVE_INFINITY
        if (!book || book.status !== 1 || age > statusWaitMs || payment_.voucher.cumulativeAmount > book.deposit)
          book = await refresh(payment_.voucher.channelId, book)
        // Only the consumer can start a close, and the node redeems up to the end of the challenge period (minutes at
        // least): a read a few seconds old need not hold up a typing user's request; it is renewed behind it.
        else if (age > statusMaxAgeMs) readBehind(payment_.voucher.channelId)
        if (book.status !== 1)
          throw new VoucherRejectedError({
            reason: 'closed',
            details: `channel ${id} is ${['missing', 'open', 'closing', 'closed'][book.status] ?? 'unknown'}`,
          })
        // Only the channel's consumer gets as far as a token count.
        if (recoveredSigner.toLowerCase() !== book.consumer.toLowerCase())
          throw new VoucherRejectedError({
            reason: 'forged',
            details: `signed by ${recoveredSigner}, not the channel's consumer ${book.consumer}`,
          })
        quote = await quoteFor(request, model, prices)
        wireQuote = encodeQuote(quote)
        const ledger = acceptVoucher(
          ledgerOf(book),
          {
            channelId: payment_.voucher.channelId,
            cumulativeAmount: payment_.voucher.cumulativeAmount,
            signature: payment_.signature,
            recoveredSigner,
          },
          quote.maxCost,
        )
        book = withLedger(book, ledger)
      } catch (error) {
        if (error instanceof VoucherRejectedError) return refuse(error, wireQuote, book)
        throw error
      }
      try {
        await books.putChannel(book)
      } catch (error) {
        // Not stored, not admitted: the reservation goes back and the consumer may retry with the same voucher.
        reservations.set(id, (reservations.get(id) ?? 0n) - quote.maxCost)
        throw error
      }
      return admission(id, book.consumer, quote, wireQuote, request, model.deterministic === true)
    })
  }

  function admission(
    id: string,
    consumer: Address,
    quote: Quote,
    wireQuote: JsonValue,
    request: InferenceRequest,
    engineDeterministic: boolean,
  ): Admission {
    let ended = false
    return {
      quote: wireQuote,
      settle: (result) => {
        if (ended) throw new Error('an admission ends once')
        ended = true
        return exclusive(id, () => settle(id, consumer, quote, request, result, engineDeterministic))
      },
      release() {
        if (ended) return
        ended = true
        void exclusive(id, async () => {
          const book = books.channel(id)
          if (book) reservations.set(id, releaseRequest(ledgerOf(book), quote.maxCost).reserved)
        })
      },
    }
  }

  async function settle(
    id: string,
    consumer: Address,
    quote: Quote,
    request: InferenceRequest,
    result: InferenceResult,
    engineDeterministic: boolean,
  ): Promise<JsonValue> {
    const book = books.channel(id) as ChannelBook
    const receipt = buildReceipt({
      request,
      text: result.text,
      promptTokens: quote.inputTokens,
      completionTokens: result.usage.completion_tokens,
      quote,
      channelId: BigInt(id),
      consumer,
      settledBefore: book.settled,
      timestamp: Math.floor(now() / 1000),
      // A settlement of fewer tokens than the engine made (a cancel bills what was sent) is never deterministic.
      finishReason: result.finish_reason,
      engineDeterministic,
    })
    const ledger = settleRequest(ledgerOf(book), quote.maxCost, receipt.cost)
    const signature = await init.signer.signTypedData(receiptTypedData(receipt, init.receiptDomain))
    const signed: SignedReceipt = { receipt, receiptHash: hashReceipt(receipt, init.receiptDomain), signature }
    const encoded = encodeSignedReceipt(signed)
    // The receipt is stored before the ledger that points to it; the ledger's settled total includes it at once in
    // memory, so a request admitted meanwhile already needs a voucher that covers it.
    const next = { ...withLedger(book, ledger), lastReceipt: signed.receiptHash }
    books.work.pending.push({ receiptHash: signed.receiptHash, signedAt: now() })
    books.work.jobsServed++
    books.work.tokensGenerated += result.usage.completion_tokens
    await books.putReceipt(signed.receiptHash, encoded)
    await books.putChannel(next)
    await books.saveWork()
    init.onReceipt?.(signed, result)
    return encoded
  }

  return {
    admit,
    async quote({ request, model }) {
      request.max_tokens ??= PROVIDER_DEFAULTS.defaultMaxTokens
      return encodeQuote(await quoteFor(request, model))
    },
    quoteFor,
    markClosing(channelId) {
      const id = channelId.toString()
      void exclusive(id, async () => {
        const book = books.channel(id)
        if (book && book.status === 1) await books.putChannel({ ...book, status: 2, checkedAt: now() })
      })
    },
    reserved: (id) => reservations.get(id) ?? 0n,
    exclusive,
  }
}
