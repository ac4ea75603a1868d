/**
 * Async jobs as properties. The money: random interleavings of live requests and jobs on one channel (jobs accepted,
 * settled by the node while the consumer is away, delivered in any order, some expired unrun) between an honest node
 * (`acceptVoucher`/`settleRequest`) and an honest consumer (`nextVoucherAmount`, `applyReceipt`, `applyJobReceipt`,
 * `expireJob`): the node never refuses the consumer's voucher, the consumer never refuses the node's receipt, and
 * once everything is delivered both agree on the settled total. The decoders: random and mutated jobs, claims and
 * protocol frames end in a value or a typed error.
 */
import fc from 'fast-check'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import {
  acceptVoucher,
  applyReceipt,
  newConsumerChannel,
  newLedger,
  nextVoucherAmount,
  recordVoucher,
  releaseRequest,
  settleRequest,
  type ChannelLedger,
  type ConsumerChannel,
} from './credit.ts'
import { InvalidClaimError, InvalidJobError } from './errors/jobs.ts'
import { MalformedMessageError } from './errors/p2p.ts'
import {
  addJob,
  applyJobReceipt,
  decodeClaim,
  decodeJob,
  decodeJobsAnswer,
  decodeJobsRequest,
  encodeClaim,
  encodeJob,
  expireJob,
  jobEntry,
  signClaim,
  signJob,
  type Job,
} from './jobs.ts'
import { createQuote, settleCost, type Quote } from './quote.ts'
import type { Receipt } from './receipt.ts'
import type { Hex } from 'viem'

const consumer = `0x${'c0'.repeat(20)}` as const
const node = `0x${'11'.repeat(20)}` as const
const sig = `0x${'00'.repeat(65)}` as const
const MODEL = `0x${'ab'.repeat(32)}` as const

type Op =
  | { kind: 'live' | 'job'; inputTokens: number; maxTokens: number; generated: number }
  | { kind: 'run' | 'deliver' | 'expire'; pick: number }
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('live' as const, 'job' as const),
    inputTokens: fc.integer({ min: 0, max: 500 }),
    maxTokens: fc.integer({ min: 1, max: 64 }),
    generated: fc.integer({ min: 0, max: 64 }),
  }),
  fc.record({ kind: fc.constantFrom('run' as const, 'deliver' as const, 'expire' as const), pick: fc.nat() }),
)
const prices = fc.record({
  pricePerMillionInput: fc.bigInt({ min: 1n, max: 10n ** 15n }),
  pricePerMillionOutput: fc.bigInt({ min: 1n, max: 10n ** 15n }),
})

function receiptOf(hash: Hex, quote: Quote, completion: number, cost: bigint, cumulativePaid: bigint): Receipt {
  return {
    requestHash: hash,
    outputHash: `0x${'02'.repeat(32)}`,
    modelHash: MODEL,
    nodeSigner: node,
    consumer,
    promptTokens: BigInt(quote.inputTokens),
    completionTokens: BigInt(completion),
    cost,
    channelId: 1n,
    cumulativePaid,
    timestamp: 1n,
    deterministic: false,
  }
}

describe('jobs and live requests on one channel', () => {
  it('an honest node and an honest consumer never refuse each other and end agreeing on the settled total', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), prices, (ops, p) => {
        let ledger: ChannelLedger = newLedger({ channelId: 1n, consumer, deposit: 10n ** 30n })
        let channel: ConsumerChannel = newConsumerChannel({ channelId: 1n, node, deposit: 10n ** 30n })
        type Pending = { hash: Hex; quote: Quote; generated: number }
        const accepted: Pending[] = [] // at the node, not run
        const delivered: { hash: Hex; quote: Quote; receipt: Receipt }[] = [] // settled by the node, not fetched
        let n = 0
        for (const o of ops) {
          if (o.kind === 'live' || o.kind === 'job') {
            const quote = createQuote({
              model: 'm',
              modelHash: MODEL,
              inputTokens: o.inputTokens,
              maxTokens: o.maxTokens,
              ...p,
              node,
              signer: node,
              chainId: 1,
            })
            const amount = nextVoucherAmount(channel, quote.maxCost)
            channel = recordVoucher(channel, amount)
            // The node must admit the honest voucher.
            ledger = acceptVoucher(
              ledger,
              { channelId: 1n, cumulativeAmount: amount, signature: sig, recoveredSigner: consumer },
              quote.maxCost,
            )
            const hash = `0x${(++n).toString(16).padStart(64, '0')}` as Hex
            const generated = Math.min(o.generated, o.maxTokens)
            if (o.kind === 'job') {
              channel = addJob(channel, { requestHash: hash, maxCost: quote.maxCost })
              accepted.push({ hash, quote, generated })
            } else {
              const cost = settleCost(quote, generated)
              ledger = settleRequest(ledger, quote.maxCost, cost)
              channel = applyReceipt(channel, receiptOf(hash, quote, generated, cost, ledger.settled), quote)
            }
          } else if (o.kind === 'run' && accepted.length > 0) {
            const [job] = accepted.splice(o.pick % accepted.length, 1) as [Pending]
            const cost = settleCost(job.quote, job.generated)
            ledger = settleRequest(ledger, job.quote.maxCost, cost)
            delivered.push({
              hash: job.hash,
              quote: job.quote,
              receipt: receiptOf(job.hash, job.quote, job.generated, cost, ledger.settled),
            })
          } else if (o.kind === 'deliver' && delivered.length > 0) {
            const [d] = delivered.splice(o.pick % delivered.length, 1) as [(typeof delivered)[number]]
            channel = applyJobReceipt(channel, d.receipt, d.quote)
          } else if (o.kind === 'expire' && accepted.length > 0) {
            // Past its deadline unrun: the node releases it; the consumer, having no receipt, moves it to interrupted.
            const [job] = accepted.splice(o.pick % accepted.length, 1) as [Pending]
            ledger = releaseRequest(ledger, job.quote.maxCost)
            channel = expireJob(channel, job.hash)
          }
          expect(channel.settled <= ledger.settled).toBe(true)
          expect(channel.signed).toBe(ledger.voucher?.cumulativeAmount ?? 0n)
        }
        for (const d of delivered.splice(0)) channel = applyJobReceipt(channel, d.receipt, d.quote)
        expect(channel.settled).toBe(ledger.settled)
        expect((channel.jobs ?? []).map((j) => j.requestHash).sort()).toEqual(accepted.map((j) => j.hash).sort())
        // Whatever the consumer signed is settled, reserved for jobs still at the node, or its credit.
        expect(channel.signed >= ledger.settled + ledger.reserved).toBe(true)
      }),
      { numRuns: 500 },
    )
  })

  it('a node cannot settle a job for more than its claim gives, or beyond what the consumer signed', () => {
    fc.assert(
      fc.property(
        prices,
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 64 }),
        fc.bigInt({ min: 1n, max: 10n ** 18n }),
        (p, inputTokens, maxTokens, extra) => {
          const quote = createQuote({
            model: 'm',
            modelHash: MODEL,
            inputTokens,
            maxTokens,
            ...p,
            node,
            signer: node,
            chainId: 1,
          })
          let channel = newConsumerChannel({ channelId: 1n, node, deposit: 10n ** 30n })
          channel = addJob(
            recordVoucher(channel, nextVoucherAmount(channel, quote.maxCost)),
            jobEntry({ request: { kind: 'completion', model: 'm', prompt: 'x', max_tokens: maxTokens } }, quote),
          )
          const hash = channel.jobs?.[0]?.requestHash as Hex
          const honest = settleCost(quote, maxTokens)
          expect(() =>
            applyJobReceipt(channel, receiptOf(hash, quote, maxTokens, honest + extra, honest + extra), quote),
          ).toThrow()
          expect(() =>
            applyJobReceipt(channel, receiptOf(hash, quote, maxTokens, honest, channel.signed + extra), quote),
          ).toThrow()
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('decoders', () => {
  const account = privateKeyToAccount(`0x${'a1'.repeat(32)}`)
  const PEER = '12D3KooWGzBqcH5PNFwn7ZJ3wrb5eCXN9X5aLX2MKDNrfDvqfj6p'
  const typed = (error: unknown) =>
    error instanceof InvalidJobError || error instanceof InvalidClaimError || error instanceof MalformedMessageError

  it('random and mutated job bytes decode to a job or an InvalidJobError', async () => {
    const job: Job = await signJob(account, {
      v: 1,
      chainId: 1,
      consumer: account.address,
      peerId: PEER,
      modelHash: MODEL,
      request: { kind: 'completion', model: 'm', prompt: 'p', max_tokens: 8 },
      maxPricePerMillionInput: 1n,
      maxPricePerMillionOutput: 2n,
      createdAt: 1,
      deadline: 60_001,
      nonce: 3,
    })
    const bytes = encodeJob(job)
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }),
          fc
            .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 })
            .map((edits) => {
              const out = Uint8Array.from(bytes)
              for (const [at, value] of edits) out[at % out.length] = value
              return out
            }),
        ),
        (input) => {
          try {
            decodeJob(input)
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidJobError)
          }
        },
      ),
      { numRuns: 3_000 },
    )
  })

  it('random JSON as claims, requests and answers ends in a value or a typed error', async () => {
    const quote = createQuote({
      model: 'm',
      modelHash: MODEL,
      inputTokens: 3,
      maxTokens: 8,
      pricePerMillionInput: 1n,
      pricePerMillionOutput: 2n,
      node,
      signer: account.address,
      chainId: 1,
    })
    const claim = encodeClaim(
      await signClaim(account, { v: 1, jobId: MODEL, peerId: PEER, quote, acceptBy: 5 }),
    ) as Record<string, unknown>
    const mutated = fc
      .record({ key: fc.constantFrom(...Object.keys(claim)), value: fc.jsonValue() })
      .map(({ key, value }) => ({ ...claim, [key]: value }))
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), mutated), (value) => {
        for (const decode of [
          decodeClaim,
          decodeJobsRequest,
          decodeJobsAnswer,
          (v: unknown) => decodeJobsRequest({ type: 'claim', claim: v }),
        ]) {
          try {
            decode(value)
          } catch (error) {
            expect(typed(error)).toBe(true)
          }
        }
      }),
      { numRuns: 3_000 },
    )
  })
})
