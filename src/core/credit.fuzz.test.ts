/**
 * The payment rules as properties: random sequences of requests, honest and hostile vouchers, finished and
 * cancelled requests, checked against the invariants the issue names.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  acceptVoucher,
  applyReceipt,
  catchUp,
  credit,
  newConsumerChannel,
  newLedger,
  nextVoucherAmount,
  recordInterrupted,
  recordVoucher,
  releaseRequest,
  settleRequest,
  type ChannelLedger,
} from './credit.ts'
import { InsufficientDepositError, InvalidReceiptError, VoucherRejectedError } from './errors/payments.ts'
import { createQuote, settleCost } from './quote.ts'
import type { Receipt } from './receipt.ts'

const consumer = `0x${'c0'.repeat(20)}` as const
const stranger = `0x${'de'.repeat(20)}` as const
const node = `0x${'11'.repeat(20)}` as const
const sig = `0x${'00'.repeat(65)}` as const

const step = fc.record({
  inputTokens: fc.integer({ min: 0, max: 2000 }),
  maxTokens: fc.integer({ min: 0, max: 512 }),
  generated: fc.integer({ min: 0, max: 512 }),
  cancelled: fc.boolean(),
})
const prices = fc.record({
  pricePerMillionInput: fc.bigInt({ min: 0n, max: 10n ** 15n }),
  pricePerMillionOutput: fc.bigInt({ min: 0n, max: 10n ** 15n }),
})

function quoteFor(
  s: { inputTokens: number; maxTokens: number },
  p: { pricePerMillionInput: bigint; pricePerMillionOutput: bigint },
) {
  return createQuote({ ...s, ...p, model: 'm', modelHash: `0x${'ab'.repeat(32)}`, node, signer: node, chainId: 31337 })
}

function receiptOf(
  channelId: bigint,
  cost: bigint,
  completion: number,
  cumulativePaid: bigint,
  promptTokens: number,
): Receipt {
  return {
    requestHash: `0x${'01'.repeat(32)}`,
    outputHash: `0x${'02'.repeat(32)}`,
    modelHash: `0x${'ab'.repeat(32)}`,
    nodeSigner: node,
    consumer,
    promptTokens: BigInt(promptTokens),
    completionTokens: BigInt(completion),
    cost,
    channelId,
    cumulativePaid,
    timestamp: 1n,
    deterministic: false,
  }
}

describe('credit (properties)', () => {
  it('honest consumer and node: the node never serves beyond its vouchers, the consumer never pays more than quoted, credit never goes negative', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 18n }),
        prices,
        fc.array(step, { maxLength: 30 }),
        (deposit, p, steps) => {
          let ledger: ChannelLedger = newLedger({ channelId: 1n, consumer, deposit })
          let channel = newConsumerChannel({ channelId: 1n, node, deposit })
          let paidByReceipts = 0n
          for (const s of steps) {
            const quote = quoteFor(s, p)
            let amount: bigint
            try {
              amount = nextVoucherAmount(channel, quote.maxCost)
            } catch (error) {
              expect(error).toBeInstanceOf(InsufficientDepositError)
              expect(channel.settled + quote.maxCost > deposit).toBe(true)
              continue
            }
            expect(amount >= channel.signed).toBe(true)
            channel = recordVoucher(channel, amount)
            ledger = acceptVoucher(
              ledger,
              { channelId: 1n, cumulativeAmount: amount, signature: sig, recoveredSigner: consumer },
              quote.maxCost,
            )
            expect(ledger.settled + ledger.reserved <= (ledger.voucher?.cumulativeAmount ?? 0n)).toBe(true)
            if (s.cancelled) {
              ledger = releaseRequest(ledger, quote.maxCost)
            } else {
              const generated = Math.min(s.generated, s.maxTokens)
              const cost = settleCost(quote, generated)
              expect(cost <= quote.maxCost).toBe(true)
              const before = ledger.settled
              ledger = settleRequest(ledger, quote.maxCost, cost)
              channel = applyReceipt(channel, receiptOf(1n, cost, generated, before + cost, quote.inputTokens), quote)
              paidByReceipts += cost
            }
            expect(credit(channel) >= 0n).toBe(true)
            expect(ledger.settled).toBe(channel.settled)
            expect(ledger.settled + ledger.reserved <= (ledger.voucher?.cumulativeAmount ?? 0n)).toBe(true)
            expect((ledger.voucher?.cumulativeAmount ?? 0n) <= deposit).toBe(true)
          }
          expect(channel.settled).toBe(paidByReceipts)
        },
      ),
    )
  })

  it('refuses forged, stale, replayed, over-deposit and wrong-channel vouchers, whatever the history', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1000n, max: 10n ** 18n }),
        fc.array(fc.bigInt({ min: 1n, max: 100n }), { minLength: 1, maxLength: 10 }),
        (deposit, costs) => {
          let ledger = newLedger({ channelId: 7n, consumer, deposit })
          let cumulative = 0n
          for (const cost of costs) {
            cumulative += cost
            ledger = settleRequest(
              acceptVoucher(
                ledger,
                { channelId: 7n, cumulativeAmount: cumulative, signature: sig, recoveredSigner: consumer },
                cost,
              ),
              cost,
              cost,
            )
          }
          const reason = (f: () => unknown) => {
            try {
              f()
            } catch (error) {
              expect(error).toBeInstanceOf(VoucherRejectedError)
              return (error as VoucherRejectedError).reason
            }
            return 'accepted'
          }
          const offer = (cumulativeAmount: bigint, recoveredSigner: `0x${string}` = consumer, channelId = 7n) => ({
            channelId,
            cumulativeAmount,
            signature: sig,
            recoveredSigner,
          })
          expect(reason(() => acceptVoucher(ledger, offer(cumulative + 1n, stranger), 1n))).toBe('forged')
          expect(reason(() => acceptVoucher(ledger, offer(cumulative - 1n), 0n))).toBe('stale')
          expect(reason(() => acceptVoucher(ledger, offer(cumulative), 1n))).toBe('replayed')
          expect(reason(() => acceptVoucher(ledger, offer(deposit + 1n), 1n))).toBe('over-deposit')
          expect(reason(() => acceptVoucher(ledger, offer(cumulative + 1n, consumer, 8n), 1n))).toBe('wrong-channel')
          expect(reason(() => acceptVoucher(ledger, offer(cumulative + 1n), 2n))).toBe('insufficient')
          expect(reason(() => acceptVoucher(ledger, offer(cumulative + 2n), 2n))).toBe('accepted')
        },
      ),
    )
  })

  it('concurrent requests each need their own cover', () => {
    let ledger = newLedger({ channelId: 1n, consumer, deposit: 100n })
    ledger = acceptVoucher(
      ledger,
      { channelId: 1n, cumulativeAmount: 10n, signature: sig, recoveredSigner: consumer },
      10n,
    )
    expect(() =>
      acceptVoucher(ledger, { channelId: 1n, cumulativeAmount: 10n, signature: sig, recoveredSigner: consumer }, 5n),
    ).toThrow(VoucherRejectedError)
    ledger = acceptVoucher(
      ledger,
      { channelId: 1n, cumulativeAmount: 15n, signature: sig, recoveredSigner: consumer },
      5n,
    )
    expect(ledger.reserved).toBe(15n)
  })

  it('a consumer refuses a receipt that bills more than the quote or breaks the cumulative history', () => {
    fc.assert(
      fc.property(prices, step, fc.bigInt({ min: 1n, max: 1000n }), (p, s, extra) => {
        const quote = quoteFor(s, p)
        let channel = newConsumerChannel({ channelId: 1n, node, deposit: 10n ** 30n })
        channel = recordVoucher(channel, nextVoucherAmount(channel, quote.maxCost))
        const generated = Math.min(s.generated, s.maxTokens)
        const cost = settleCost(quote, generated)
        expect(() =>
          applyReceipt(channel, receiptOf(1n, cost + extra, generated, cost + extra, quote.inputTokens), quote),
        ).toThrow(InvalidReceiptError)
        expect(() =>
          applyReceipt(channel, receiptOf(1n, cost, generated, channel.signed + extra, quote.inputTokens), quote),
        ).toThrow(InvalidReceiptError)
        expect(() => applyReceipt(channel, receiptOf(2n, cost, generated, cost, quote.inputTokens), quote)).toThrow(
          InvalidReceiptError,
        )
        expect(() =>
          applyReceipt(channel, receiptOf(1n, cost, s.maxTokens + 1, cost, quote.inputTokens), quote),
        ).toThrow(InvalidReceiptError)
        expect(applyReceipt(channel, receiptOf(1n, cost, generated, cost, quote.inputTokens), quote).settled).toBe(cost)
      }),
    )
  })

  it('a receipt that bills another input count than the quote is refused', () => {
    fc.assert(
      fc.property(prices, step, fc.integer({ min: 1, max: 100 }), (p, s, extra) => {
        const quote = quoteFor(s, p)
        let channel = newConsumerChannel({ channelId: 1n, node, deposit: 10n ** 30n })
        channel = recordVoucher(channel, nextVoucherAmount(channel, quote.maxCost))
        const cost = settleCost(quote, 0)
        expect(() => applyReceipt(channel, receiptOf(1n, cost, 0, cost, quote.inputTokens + extra), quote)).toThrow(
          InvalidReceiptError,
        )
      }),
    )
  })

  it('cancel settlement: the node settles what it sent, the consumer that missed it catches up, nobody gets more than the voucher', () => {
    fc.assert(
      fc.property(
        prices,
        fc.array(step, { minLength: 1, maxLength: 20 }),
        fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
        (p, steps, missed) => {
          const deposit = 10n ** 30n
          let ledger: ChannelLedger = newLedger({ channelId: 1n, consumer, deposit })
          let channel = newConsumerChannel({ channelId: 1n, node, deposit })
          for (const [i, s] of steps.entries()) {
            const quote = quoteFor(s, p)
            const amount = nextVoucherAmount(channel, quote.maxCost)
            channel = recordVoucher(channel, amount)
            let accepted: ChannelLedger
            try {
              accepted = acceptVoucher(
                ledger,
                { channelId: 1n, cumulativeAmount: amount, signature: sig, recoveredSigner: consumer },
                quote.maxCost,
              )
            } catch (error) {
              // Only a consumer that is behind the node is refused; the refusal's receipt lets it catch up.
              expect((error as VoucherRejectedError).reason).toMatch(/replayed|insufficient/)
              channel = catchUp(channel, receiptOf(1n, 0n, 0, ledger.settled, 0))
              expect(channel.interrupted).toEqual([])
              expect(channel.settled).toBe(ledger.settled)
              const again = nextVoucherAmount(channel, quote.maxCost)
              channel = recordVoucher(channel, again)
              accepted = acceptVoucher(
                ledger,
                { channelId: 1n, cumulativeAmount: again, signature: sig, recoveredSigner: consumer },
                quote.maxCost,
              )
            }
            // The node sends some tokens, then the consumer cancels (or it finishes): the node settles what it sent.
            const sent = Math.min(s.generated, s.maxTokens)
            const cost = sent === 0 ? 0n : settleCost(quote, sent)
            const before = accepted.settled
            ledger = settleRequest(accepted, quote.maxCost, cost)
            expect(ledger.settled <= (ledger.voucher?.cumulativeAmount ?? 0n)).toBe(true)
            // The consumer sees the receipt unless the cancel was a reset that crossed it.
            if (!missed[i % missed.length] && cost > 0n)
              channel = applyReceipt(channel, receiptOf(1n, cost, sent, before + cost, quote.inputTokens), quote)
            else if (cost > 0n)
              channel = recordInterrupted(channel, { requestHash: `0x${'01'.repeat(32)}`, maxCost: quote.maxCost })
            expect(channel.settled <= ledger.settled).toBe(true)
            expect(credit(channel) >= 0n).toBe(true)
          }
        },
      ),
    )
  })

  it('catching up never moves backwards nor past what was signed', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc.bigInt({ min: 0n, max: 10n ** 21n }),
        (settled, creditLeft, claimed) => {
          const channel = {
            ...newConsumerChannel({ channelId: 1n, node, deposit: 10n ** 22n }),
            settled,
            signed: settled + creditLeft,
          }
          const receipt = receiptOf(1n, 0n, 0, claimed, 0)
          // Without an interrupted request of its own, no settlement is accepted at all.
          expect(() => catchUp(channel, receipt)).toThrow(InvalidReceiptError)
          const interrupted = recordInterrupted(channel, { requestHash: receipt.requestHash, maxCost: creditLeft })
          if (claimed <= settled || claimed > settled + creditLeft)
            expect(() => catchUp(interrupted, receipt)).toThrow(InvalidReceiptError)
          else expect(catchUp(interrupted, receipt)).toMatchObject({ settled: claimed, interrupted: [] })
        },
      ),
    )
  })

  it('a node cannot claim the credit by a jump in cumulativePaid that no interrupted request explains', () => {
    fc.assert(
      fc.property(prices, step, fc.bigInt({ min: 1n, max: 10n ** 12n }), (p, s, jump) => {
        const quote = quoteFor(s, p)
        let channel = newConsumerChannel({ channelId: 1n, node, deposit: 10n ** 30n })
        channel = recordVoucher(channel, nextVoucherAmount(channel, quote.maxCost) + jump)
        const cost = settleCost(quote, 0)
        expect(() => applyReceipt(channel, receiptOf(1n, cost, 0, cost + jump, quote.inputTokens), quote)).toThrow(
          InvalidReceiptError,
        )
        const explained = recordInterrupted(channel, { requestHash: `0x${'09'.repeat(32)}`, maxCost: jump })
        expect(applyReceipt(explained, receiptOf(1n, cost, 0, cost + jump, quote.inputTokens), quote)).toMatchObject({
          settled: cost + jump,
          interrupted: [],
        })
      }),
    )
  })
})
