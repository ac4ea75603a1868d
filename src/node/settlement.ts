/**
 * Settlement: turning signed receipts and vouchers into money on-chain. Receipts are anchored in Merkle batches
 * (every N receipts or T minutes; a batch is stored before its transaction, so a retry resends the same root), and
 * vouchers are redeemed. The node watches `ChannelCloseStarted` from the last block it saw (so it also catches up
 * after downtime) and redeems a closing channel at once. A consumer that is done hands the node a final voucher for
 * exactly the settled total; the node redeems that one rather than its highest voucher (which also holds the
 * consumer's unspent credit) unless the channel is closing without one. Failed chain work retries with back-off.
 */
import type { Address, Client, Hex } from 'viem'
import { anchorReceipts } from '../chain/actions/anchorReceipts.ts'
import { getAnchor } from '../chain/actions/getAnchor.ts'
import { getChannel } from '../chain/actions/getChannel.ts'
import { getCloseStarts } from '../chain/actions/getCloseStarts.ts'
import type { WalletClient } from '../chain/actions/internal.ts'
import { redeemVouchers } from '../chain/actions/redeemVouchers.ts'
import { batchDue, batchProof, cutBatch, type BatchPolicy } from '../core/batch.ts'
import { redeemable } from '../core/credit.ts'
import { PaymentRefusedError, VoucherRejectedError } from '../core/errors/payments.ts'
import { checkPaymentDomain, decodePayment, recoverVoucherSigner } from '../core/payment.ts'
import type { TypedDataDomainParameters } from '../core/receipt.ts'
import type { ProofAnswer } from '../p2p/receipt-proof.ts'
import type { Books, ChannelBook } from './books.ts'
import type { Cashier } from './cashier.ts'
import { PROVIDER_DEFAULTS } from './constants.ts'

export type SettlementComponents = {
  books: Books
  cashier: Cashier
  /** Sends anchoring and redemption transactions (the node signer). */
  wallet: WalletClient
  reader: Client
}

export type SettlementInit = {
  operator: Address
  channels: Address
  anchor: Address
  voucherDomain: TypedDataDomainParameters
  batch: BatchPolicy
  redeemThreshold: bigint
  /** First block to watch for closes when the books have none (the deployment's start block). */
  startBlock: bigint
  tickMs?: number
  /** How often to look for channel closes (two RPC calls each time). */
  closeWatchMs?: number
  now?: () => number
  onChange?: () => void
}

export type Settlement = {
  start(): void
  stop(): Promise<void>
  /** Runs the loop soon (a receipt was signed). */
  poke(): void
  anchorNow(): Promise<void>
  /** Redeems every channel whose voucher would pay something. */
  redeemNow(): Promise<bigint>
  /** Takes a consumer's final voucher (`/modelex/final-voucher/1.0.0`): it must be for exactly the settled total. */
  acceptFinalVoucher(payment: unknown): Promise<{ settled: bigint }>
  proof(receiptHash: Hex): Promise<ProofAnswer>
  /** Channels in their challenge window, for the Node view's warning. */
  closing(): ChannelBook[]
  readonly lastError: string | null
}

export function createSettlement(
  { books, cashier, wallet, reader }: SettlementComponents,
  init: SettlementInit,
): Settlement {
  const now = init.now ?? Date.now
  let timer: ReturnType<typeof setTimeout> | undefined
  let running = false
  let retryAt = 0
  let retryDelay: number = PROVIDER_DEFAULTS.retryMs
  let working: Promise<unknown> = Promise.resolve()
  let lastError: string | null = null
  let watchedAt = Number.NEGATIVE_INFINITY

  function serial<T>(work: () => Promise<T>): Promise<T> {
    const next = working.then(work, work)
    working = next.catch(() => {})
    return next
  }

  /** Anchors the batch cut earlier, if any, else cuts one when due (or when `force`). Never re-cuts a receipt. */
  async function anchorStep(force: boolean): Promise<void> {
    for (;;) {
      let batch = books.batches.find((b) => b.status === 'cut')
      if (!batch) {
        if (!(force ? books.work.pending.length > 0 : batchDue(books.work.pending, init.batch, now()))) return
        const cut = cutBatch(books.work.pending, init.batch)
        books.work.pending = cut.rest
        // Stored before the transaction: a retry resends this root, it never cuts these receipts again.
        await books.putBatch(cut.batch)
        await books.saveWork()
        batch = cut.batch
      }
      const onChain = await getAnchor(reader, { anchor: init.anchor, operator: init.operator, root: batch.root })
      if (!onChain.anchored) {
        const { transactionHash } = await anchorReceipts(wallet, {
          anchor: init.anchor,
          receiptHashes: batch.receiptHashes,
        })
        batch.transactionHash = transactionHash
      }
      batch.status = 'anchored'
      batch.anchoredAt = now()
      await books.putBatch(batch)
      init.onChange?.()
    }
  }

  /** Looks for closes since the last block seen; a closing channel is marked and redeemed at once. */
  async function watchCloses(): Promise<Set<string>> {
    const from = books.work.closeWatchFrom ?? init.startBlock
    const { closes, toBlock } = await getCloseStarts(reader, { channels: init.channels, fromBlock: from })
    const closing = new Set<string>()
    for (const { channelId } of closes) {
      const id = channelId.toString()
      if (!books.channel(id)) continue
      cashier.markClosing(channelId)
      closing.add(id)
    }
    books.work.closeWatchFrom = toBlock + 1n
    // Kept in memory otherwise, stored with the next save of the work record: after a restart the watch only looks
    // again at a few blocks, and marking a channel closing twice changes nothing.
    if (closes.length > 0) await books.saveWork()
    return closing
  }

  /** The voucher an honest node redeems now for a channel, or null (see the module comment). */
  function voucherToRedeem(
    book: ChannelBook,
    threshold: bigint,
    closing: boolean,
  ): { cumulativeAmount: bigint; signature: Hex } | null {
    if (!book.voucher) return null
    const id = book.channelId.toString()
    const idle = cashier.reserved(id) === 0n
    // The consumer said it is done and settled: what its highest voucher holds beyond that is its credit, not ours.
    if (book.final && idle && book.final.cumulativeAmount === book.settled)
      return book.final.cumulativeAmount > book.redeemed ? book.final : null
    const amount = redeemable({ ...book, reserved: 0n }, book.redeemed)
    if (amount === 0n) return null
    // The consumer's unspent credit is in the highest voucher: take it only when the channel closes without a final
    // voucher (or when asked to), else only once the highest voucher holds no credit.
    if (closing || book.status === 2 || threshold <= 1n) return book.voucher
    if (amount >= threshold && book.voucher.cumulativeAmount === book.settled) return book.voucher
    return null
  }

  async function redeemStep(threshold: bigint, closingNow: Set<string>): Promise<bigint> {
    const due: { book: ChannelBook; voucher: { cumulativeAmount: bigint; signature: Hex } }[] = []
    for (const [id, book] of books.channels) {
      const voucher = voucherToRedeem(book, threshold, closingNow.has(id))
      if (voucher) due.push({ book, voucher })
    }
    if (due.length === 0) return 0n
    let paid = 0n
    try {
      paid = (
        await redeemVouchers(wallet, {
          channels: init.channels,
          vouchers: due.map(({ book, voucher }) => ({
            voucher: { channelId: book.channelId, cumulativeAmount: voucher.cumulativeAmount },
            signature: voucher.signature,
          })),
        })
      ).paid
    } catch (error) {
      // A redemption that landed before its reply was lost reverts as stale now: re-read and carry on.
      if ((error as { errorName?: string }).errorName !== 'StaleVoucher') throw error
    }
    for (const { book } of due) {
      const onChain = await getChannel(reader, { channels: init.channels, channelId: book.channelId })
      const id = book.channelId.toString()
      await cashier.exclusive(id, async () => {
        const current = books.channel(id) ?? book
        await books.putChannel({ ...current, redeemed: onChain.redeemed, status: onChain.status, checkedAt: now() })
      })
    }
    books.work.earningsRedeemed += paid
    await books.saveWork()
    init.onChange?.()
    return paid
  }

  async function tick(): Promise<void> {
    timer = undefined
    if (!running) return
    if (now() >= retryAt) {
      await serial(async () => {
        try {
          let closing = new Set<string>()
          if (now() - watchedAt >= (init.closeWatchMs ?? PROVIDER_DEFAULTS.closeWatchMs)) {
            closing = await watchCloses()
            watchedAt = now()
          }
          await anchorStep(false)
          await redeemStep(init.redeemThreshold, closing)
          lastError = null
          retryDelay = PROVIDER_DEFAULTS.retryMs
        } catch (error) {
          lastError = (error as Error).message.split('\n')[0] ?? 'error'
          retryAt = now() + retryDelay
          retryDelay = Math.min(retryDelay * 2, PROVIDER_DEFAULTS.maxRetryMs)
          init.onChange?.()
        }
      })
    }
    schedule(init.tickMs ?? PROVIDER_DEFAULTS.tickMs)
  }

  function schedule(ms: number): void {
    if (!running) return
    if (timer !== undefined) {
      if (ms > 0) return
      clearTimeout(timer)
    }
    timer = setTimeout(() => void tick(), ms)
  }

  return {
    start() {
      running = true
      schedule(0)
    },
    async stop() {
      running = false
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      await working
    },
    poke: () => schedule(0),
    anchorNow: () => serial(() => anchorStep(true)),
    redeemNow: () => serial(() => redeemStep(1n, new Set())),
    async acceptFinalVoucher(value) {
      let payment
      try {
        payment = decodePayment(value)
        checkPaymentDomain(payment, init.voucherDomain)
      } catch (error) {
        if (error instanceof VoucherRejectedError) throw error
        throw new VoucherRejectedError({ reason: 'malformed', details: (error as Error).message })
      }
      const signer = await recoverVoucherSigner(payment.voucher, payment.signature, init.voucherDomain)
      const id = payment.voucher.channelId.toString()
      return cashier.exclusive(id, async () => {
        const book = books.channel(id)
        if (!book)
          throw new VoucherRejectedError({ reason: 'wrong-channel', details: `no channel ${id} with this node` })
        if (signer.toLowerCase() !== book.consumer.toLowerCase())
          throw new VoucherRejectedError({
            reason: 'forged',
            details: `signed by ${signer}, not the channel's consumer`,
          })
        if (cashier.reserved(id) > 0n)
          throw new VoucherRejectedError({
            reason: 'insufficient',
            details: 'a request is still in flight on this channel',
          })
        if (payment.voucher.cumulativeAmount !== book.settled) {
          // A consumer behind the node (it missed a cancelled request's receipt) gets that receipt to catch up with.
          const settlement = book.lastReceipt ? await books.receipt(book.lastReceipt) : undefined
          throw new PaymentRefusedError({
            details: `insufficient: a final voucher is for the settled total ${book.settled}, not ${payment.voucher.cumulativeAmount}`,
            settlement,
          })
        }
        await books.putChannel({
          ...book,
          final: { cumulativeAmount: payment.voucher.cumulativeAmount, signature: payment.signature },
        })
        schedule(0)
        return { settled: book.settled }
      })
    },
    async proof(receiptHash) {
      const batch = books.batchOf(receiptHash)
      if (batch && batch.status === 'anchored')
        return { status: 'anchored', root: batch.root, proof: batchProof(batch, receiptHash.toLowerCase() as Hex) }
      return (await books.receipt(receiptHash)) !== undefined ? { status: 'pending' } : { status: 'unknown' }
    },
    closing: () => [...books.channels.values()].filter((b) => b.status === 2),
    get lastError() {
      return lastError
    },
  }
}
