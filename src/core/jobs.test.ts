import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { inputTokenBound } from './bounds.ts'
import { credit, newConsumerChannel, nextVoucherAmount, recordVoucher, applyReceipt } from './credit.ts'
import { InvalidClaimError, InvalidJobError } from './errors/jobs.ts'
import { InvalidReceiptError, SpendLimitError } from './errors/payments.ts'
import {
  addJob,
  applyJobReceipt,
  checkClaim,
  checkJobTiming,
  claimRefusal,
  decodeClaim,
  decodeJob,
  decodeJobsAnswer,
  decodeJobsRequest,
  encodeClaim,
  encodeJob,
  encodeJobsRequest,
  expireJob,
  fetchHashOf,
  jobEntry,
  JOB_LIMITS,
  mayRun,
  pickClaim,
  signClaim,
  signJob,
  validateJob,
  verifyClaimSignature,
  type Claim,
  type Job,
  type JobOffer,
} from './jobs.ts'
import { requestHash } from './payment.ts'
import { createQuote, settleCost, type Quote } from './quote.ts'
import type { Receipt } from './receipt.ts'

const consumer = privateKeyToAccount(`0x${'a1'.repeat(32)}`)
const nodeSigner = privateKeyToAccount(`0x${'b2'.repeat(32)}`)
const operator = `0x${'0e'.repeat(20)}` as const
const MODEL_HASH = `0x${'11'.repeat(32)}` as const
const PEER = '12D3KooWGzBqcH5PNFwn7ZJ3wrb5eCXN9X5aLX2MKDNrfDvqfj6p'
const NOW = 1_700_000_000_000
const limits = {
  maxSpendPerRequest: 10n ** 18n,
  maxDeposit: 10n ** 19n,
  maxPricePerMillionInput: 10n ** 18n,
  maxPricePerMillionOutput: 10n ** 18n,
}

function offer(over: Partial<JobOffer> = {}): JobOffer {
  return {
    v: 1,
    chainId: 31337,
    consumer: consumer.address,
    peerId: PEER,
    modelHash: MODEL_HASH,
    request: {
      kind: 'chat',
      model: 'memory-tiny',
      messages: [{ role: 'user', content: 'summarise this later' }],
      max_tokens: 16,
      seed: 7,
    },
    maxPricePerMillionInput: 5n * 10n ** 14n,
    maxPricePerMillionOutput: 10n ** 15n,
    createdAt: NOW,
    deadline: NOW + 60_000,
    nonce: 1,
    ...over,
  }
}

function quoteFor(job: Job, over: Partial<Parameters<typeof createQuote>[0]> = {}): Quote {
  return createQuote({
    model: job.request.model,
    modelHash: job.modelHash,
    inputTokens: 9,
    maxTokens: job.request.max_tokens,
    pricePerMillionInput: 4n * 10n ** 14n,
    pricePerMillionOutput: 8n * 10n ** 14n,
    node: operator,
    signer: nodeSigner.address,
    chainId: 31337,
    ...over,
  })
}

const registered = { active: true, signer: nodeSigner.address, servesModel: true }

describe('jobs', () => {
  it('signs, encodes, decodes and verifies a job; its id is the hash of its contents', async () => {
    const job = await signJob(consumer, offer())
    const decoded = decodeJob(encodeJob(job))
    expect(decoded).toEqual(job)
    await expect(validateJob(encodeJob(job), { now: NOW + 1_000 })).resolves.toEqual(job)
  })

  it('refuses a job altered after signing (its id no longer matches), one signed by someone else, and one with a recomputed id', async () => {
    const job = await signJob(consumer, offer())
    const altered = { ...job, maxPricePerMillionOutput: 10n ** 16n }
    expect(() => decodeJob(encodeJob(altered))).toThrow(InvalidJobError)
    // Signed by another key than the consumer it names.
    const forged = await signJob(nodeSigner, offer())
    await expect(validateJob(encodeJob(forged), { now: NOW })).rejects.toMatchObject({ reason: 'signer-mismatch' })
    // A valid signature moved onto another job.
    const other = await signJob(consumer, offer({ nonce: 2 }))
    expect(() => decodeJob(encodeJob({ ...other, id: job.id }))).toThrow(
      expect.objectContaining({ reason: 'id-mismatch' }),
    )
    await expect(validateJob(encodeJob({ ...other, signature: job.signature }), { now: NOW })).rejects.toMatchObject({
      reason: 'signer-mismatch',
    })
  })

  it('applies the timing rules: lifetime in range, not ahead of the clock, not expired, this chain', async () => {
    expect(() => checkJobTiming(offer({ deadline: NOW + 1_000 }), { now: NOW })).toThrow(
      expect.objectContaining({ reason: 'deadline' }),
    )
    expect(() => checkJobTiming(offer({ deadline: NOW + JOB_LIMITS.maxTtlMs + 1 }), { now: NOW })).toThrow(
      expect.objectContaining({ reason: 'deadline' }),
    )
    expect(() =>
      checkJobTiming(offer({ createdAt: NOW + 10 * 60_000, deadline: NOW + 20 * 60_000 }), { now: NOW }),
    ).toThrow(expect.objectContaining({ reason: 'clock' }))
    expect(() => checkJobTiming(offer(), { now: NOW + 60_000 })).toThrow(expect.objectContaining({ reason: 'expired' }))
    expect(() => checkJobTiming(offer(), { now: NOW, chainId: 1 })).toThrow(
      expect.objectContaining({ reason: 'wrong-chain' }),
    )
    expect(() => checkJobTiming(offer(), { now: NOW })).not.toThrow()
  })

  it('refuses oversized jobs before parsing, and jobs without a bounded max_tokens', async () => {
    expect(() => decodeJob(new Uint8Array(JOB_LIMITS.maxJobBytes + 1))).toThrow(
      expect.objectContaining({ reason: 'too-large' }),
    )
    await expect(
      signJob(
        consumer,
        offer({ request: { kind: 'completion', model: 'm', prompt: 'x', max_tokens: JOB_LIMITS.maxTokens + 1 } }),
      ),
    ).rejects.toThrow(InvalidJobError)
    const job = await signJob(consumer, offer())
    const raw = JSON.parse(new TextDecoder().decode(encodeJob(job))) as Record<string, unknown>
    expect(() => decodeJob(new TextEncoder().encode(JSON.stringify({ ...raw, extra: 1 })))).toThrow(
      expect.objectContaining({ reason: 'schema' }),
    )
  })
})

describe('claims', () => {
  async function claimFor(job: Job, over: Partial<Quote> = {}, acceptBy = NOW + 30_000): Promise<Claim> {
    return signClaim(nodeSigner, { v: 1, jobId: job.id, peerId: PEER, quote: { ...quoteFor(job), ...over }, acceptBy })
  }

  it('a valid claim passes the consumer rule; its wire form decodes to the same claim and its signature verifies', async () => {
    const job = await signJob(consumer, offer())
    const claim = await claimFor(job)
    expect(decodeClaim(JSON.parse(JSON.stringify(encodeClaim(claim))))).toEqual(claim)
    await verifyClaimSignature(claim)
    expect(checkClaim(claim, job, { registered, chainId: 31337, limits, now: NOW })).toEqual(claim.quote)
  })

  it('refuses each broken rule with its reason', async () => {
    const job = await signJob(consumer, offer())
    const check =
      (claim: Claim, r = registered, now = NOW) =>
      () =>
        checkClaim(claim, job, { registered: r, chainId: 31337, limits, now })
    const other = await signJob(consumer, offer({ nonce: 2 }))
    expect(check(await claimFor(other))).toThrow(expect.objectContaining({ reason: 'wrong-job' }))
    expect(check(await claimFor(job, quoteFor(job, { maxTokens: 17 })))).toThrow(
      expect.objectContaining({ reason: 'wrong-job' }),
    )
    expect(check(await claimFor(job, quoteFor(job, { inputTokens: inputTokenBound(job.request) + 1 })))).toThrow(
      expect.objectContaining({ reason: 'quote' }),
    )
    expect(
      check(await claimFor(job, quoteFor(job, { pricePerMillionOutput: job.maxPricePerMillionOutput + 1n }))),
    ).toThrow(expect.objectContaining({ reason: 'price' }))
    expect(check(await claimFor(job), { ...registered, active: false })).toThrow(
      expect.objectContaining({ reason: 'unregistered' }),
    )
    expect(check(await claimFor(job), { ...registered, servesModel: false })).toThrow(
      expect.objectContaining({ reason: 'unregistered' }),
    )
    expect(check(await claimFor(job), { ...registered, signer: consumer.address })).toThrow(
      expect.objectContaining({ reason: 'unregistered' }),
    )
    expect(check(await claimFor(job, {}, NOW - 1))).toThrow(expect.objectContaining({ reason: 'expired' }))
    expect(() =>
      checkClaim(quoteClaimAbove(job), job, {
        registered,
        chainId: 31337,
        limits: { ...limits, maxSpendPerRequest: 1n },
        now: NOW,
      }),
    ).toThrow(SpendLimitError)
    function quoteClaimAbove(j: Job): Claim {
      return {
        v: 1,
        jobId: j.id,
        peerId: PEER,
        quote: quoteFor(j),
        acceptBy: NOW + 1,
        signature: `0x${'00'.repeat(65)}`,
      }
    }
  })

  it('refuses a claim whose quote hides a surcharge, and one signed by another key than its quote names', async () => {
    const job = await signJob(consumer, offer())
    const claim = await claimFor(job)
    const wire = encodeClaim(claim) as { quote: Record<string, unknown> }
    expect(() => decodeClaim({ ...wire, quote: { ...wire.quote, maxCost: '999999999' } })).toThrow(
      expect.objectContaining({ reason: 'quote' }),
    )
    const byConsumer = await signClaim(consumer, {
      v: 1,
      jobId: job.id,
      peerId: PEER,
      quote: quoteFor(job),
      acceptBy: NOW + 1,
    })
    await expect(verifyClaimSignature(byConsumer)).rejects.toMatchObject({ reason: 'bad-signature' })
    await expect(verifyClaimSignature({ ...claim, acceptBy: claim.acceptBy + 1 })).rejects.toBeInstanceOf(
      InvalidClaimError,
    )
  })

  it('picks the cheapest claim', async () => {
    const job = await signJob(consumer, offer())
    const a = await claimFor(job, quoteFor(job, { pricePerMillionOutput: 8n * 10n ** 14n }))
    const b = await claimFor(job, quoteFor(job, { pricePerMillionOutput: 5n * 10n ** 14n }))
    expect(pickClaim([a, b])).toBe(b)
    expect(pickClaim([])).toBeUndefined()
  })
})

describe("the node's rules", () => {
  const policy = {
    enabled: true,
    prices: { pricePerMillionInput: 4n * 10n ** 14n, pricePerMillionOutput: 8n * 10n ** 14n },
    modelHash: MODEL_HASH,
    maxTokens: 4096,
    minTimeLeftMs: 5_000,
  }
  it('claims only what its configuration takes', async () => {
    const job = await signJob(consumer, offer())
    expect(claimRefusal(job, policy, NOW)).toBeNull()
    expect(claimRefusal(job, { ...policy, enabled: false }, NOW)).toBe('disabled')
    expect(claimRefusal(job, { ...policy, modelHash: `0x${'22'.repeat(32)}` }, NOW)).toBe('model')
    expect(
      claimRefusal(job, { ...policy, prices: { ...policy.prices, pricePerMillionOutput: 2n * 10n ** 15n } }, NOW),
    ).toBe('price')
    expect(claimRefusal(job, { ...policy, maxTokens: 8 }, NOW)).toBe('max-tokens')
    expect(claimRefusal(job, policy, job.deadline - 1_000)).toBe('deadline')
    expect(mayRun(job, job.deadline - 1)).toBe(true)
    expect(mayRun(job, job.deadline)).toBe(false)
  })
})

describe("the consumer's channel", () => {
  const job = offer()
  const quote = createQuote({
    model: 'memory-tiny',
    modelHash: MODEL_HASH,
    inputTokens: 9,
    maxTokens: 16,
    pricePerMillionInput: 10n ** 15n,
    pricePerMillionOutput: 3n * 10n ** 15n,
    node: operator,
    signer: nodeSigner.address,
    chainId: 31337,
  })
  const receipt = (
    cost: bigint,
    cumulativePaid: bigint,
    completion: number,
    hash = requestHash(job.request),
  ): Receipt => ({
    requestHash: hash,
    outputHash: `0x${'02'.repeat(32)}`,
    modelHash: MODEL_HASH,
    nodeSigner: nodeSigner.address,
    consumer: consumer.address,
    promptTokens: 9n,
    completionTokens: BigInt(completion),
    cost,
    channelId: 1n,
    cumulativePaid,
    timestamp: 1n,
    deterministic: false,
  })

  it('a later voucher covers the undelivered job; its receipt settles it exactly like a live one', () => {
    let channel = newConsumerChannel({ channelId: 1n, node: operator, deposit: 10n ** 18n })
    const amount = nextVoucherAmount(channel, quote.maxCost)
    channel = addJob(recordVoucher(channel, amount), jobEntry(job, quote))
    // A live request now must also cover the job's reserve.
    expect(nextVoucherAmount(channel, 100n)).toBe(quote.maxCost + 100n)
    const cost = settleCost(quote, 5)
    channel = applyJobReceipt(channel, receipt(cost, cost, 5), quote)
    expect(channel.settled).toBe(cost)
    expect(channel.jobs).toEqual([])
    expect(credit(channel)).toBe(quote.maxCost - cost)
  })

  it('a live receipt that settled the job first absorbs it; the job receipt fetched later changes nothing but is still checked', () => {
    let channel = newConsumerChannel({ channelId: 1n, node: operator, deposit: 10n ** 18n })
    channel = addJob(recordVoucher(channel, quote.maxCost), jobEntry(job, quote))
    const jobCost = settleCost(quote, 5)
    const live = createQuote({ ...quote, inputTokens: 3, maxTokens: 4 })
    channel = recordVoucher(channel, nextVoucherAmount(channel, live.maxCost))
    const liveCost = settleCost(live, 4)
    channel = applyReceipt(
      channel,
      { ...receipt(liveCost, jobCost + liveCost, 4, `0x${'09'.repeat(32)}`), promptTokens: 3n },
      live,
    )
    expect(channel.settled).toBe(jobCost + liveCost)
    // Still listed: which undelivered job the gap was is known only from the job's own receipt.
    expect(channel.jobs).toEqual([jobEntry(job, quote)])
    expect(applyJobReceipt(channel, receipt(jobCost, jobCost, 5), quote)).toEqual({ ...channel, jobs: [] })
    expect(() => applyJobReceipt(channel, receipt(jobCost + 1n, jobCost + 1n, 5), quote)).toThrow(InvalidReceiptError)
  })

  it('refuses a job receipt that bills more than the claim gives or settles beyond what was signed', () => {
    let channel = newConsumerChannel({ channelId: 1n, node: operator, deposit: 10n ** 18n })
    channel = addJob(recordVoucher(channel, quote.maxCost), jobEntry(job, quote))
    expect(() => applyJobReceipt(channel, receipt(quote.maxCost + 1n, quote.maxCost + 1n, 16), quote)).toThrow(
      InvalidReceiptError,
    )
    expect(() => applyJobReceipt(channel, receipt(settleCost(quote, 5), quote.maxCost + 1n, 5), quote)).toThrow(
      InvalidReceiptError,
    )
  })

  it('an expired job becomes an interrupted request: catchable up to its maximum, no longer covered by later vouchers', () => {
    let channel = newConsumerChannel({ channelId: 1n, node: operator, deposit: 10n ** 18n })
    channel = addJob(recordVoucher(channel, quote.maxCost), jobEntry(job, quote))
    channel = expireJob(channel, requestHash(job.request))
    expect(channel.jobs).toEqual([])
    expect(channel.interrupted).toEqual([jobEntry(job, quote)])
    expect(nextVoucherAmount(channel, 100n)).toBe(quote.maxCost)
  })
})

describe('protocol messages', () => {
  it('round-trip and refuse unknown fields', async () => {
    const job = await signJob(consumer, offer())
    const claim = await signClaim(nodeSigner, {
      v: 1,
      jobId: job.id,
      peerId: PEER,
      quote: quoteFor(job),
      acceptBy: NOW + 1,
    })
    const secret = `0x${'5e'.repeat(32)}` as const
    for (const message of [
      { type: 'claim', claim } as const,
      { type: 'accept', job, claim, payment: { any: 'thing' }, fetchHash: fetchHashOf(secret) } as const,
      { type: 'fetch', jobId: job.id, secret } as const,
    ]) {
      expect(decodeJobsRequest(JSON.parse(JSON.stringify(encodeJobsRequest(message))))).toEqual(message)
    }
    expect(() => decodeJobsRequest({ type: 'fetch', jobId: job.id, secret, more: 1 })).toThrow()
    expect(decodeJobsAnswer({ ok: true, status: 'pending' })).toEqual({ ok: true, status: 'pending' })
    expect(decodeJobsAnswer({ ok: false, code: 'payment', message: 'm', quote: { q: 1 } })).toEqual({
      ok: false,
      code: 'payment',
      message: 'm',
      quote: { q: 1 },
    })
    expect(() => decodeJobsAnswer({ ok: false, code: 'nope', message: 'm' })).toThrow()
    expect(() =>
      decodeJobsAnswer({
        ok: true,
        status: 'done',
        result: {
          text: 'x'.repeat(JOB_LIMITS.maxResultChars + 1),
          finish_reason: 'stop',
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
          receipt: {},
        },
      }),
    ).toThrow()
  })
})
