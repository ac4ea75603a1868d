/**
 * The cashier's receipts claim `deterministic` only when the node can stand behind it: a greedy seeded request, an
 * engine that reproduces its output bit for bit, and an output that ran to its own end. The chain read is the only
 * stand-in (a channel as `getChannel` would return it); engines, books, signer and receipts are the real ones. The
 * "GPU" engine is the in-memory engine reporting `deterministic: false`, as web-llm's does (no GPU here).
 */
import type { Address } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import type { InferenceEngine, InferenceRequest, LoadedModel } from '../core/inference.ts'
import { runInference } from '../core/inference.ts'
import { decodeSignedReceipt, encodePayment, outputHash, verifySignedReceipt } from '../core/payment.ts'
import { voucherTypedData } from '../core/voucher.ts'
import { createMemoryEngine } from '../engine/memory/memory-engine.ts'
import { TEST_MODEL, until } from '../p2p/testing.ts'
import { memoryStore } from '../store/payments.ts'
import { createBooks } from './books.ts'
import { createCashier } from './cashier.ts'

const CHAIN_ID = 31337
const voucherDomain = { chainId: CHAIN_ID, verifyingContract: '0x0000000000000000000000000000000000000c11' } as const
const receiptDomain = { chainId: CHAIN_ID, verifyingContract: '0x0000000000000000000000000000000000000a11' } as const
const prices = { pricePerMillionInput: 10n ** 12n, pricePerMillionOutput: 10n ** 12n }

/** The in-memory engine, claiming what an engine on a GPU claims: no bit-for-bit reproducibility. */
function gpuLikeEngine(inner: InferenceEngine): InferenceEngine {
  const honest = (model: LoadedModel | null): LoadedModel | null =>
    model ? { ...model, engine: 'webgpu', deterministic: false } : null
  return {
    ...inner,
    kind: 'webgpu',
    load: async (spec, options) => honest(await inner.load(spec, options)) as LoadedModel,
    current: async () => honest(await inner.current()),
  }
}

/** The loaded model, a node signer and operator, a consumer and empty books. */
async function parties(engine: InferenceEngine) {
  const model = await engine.load(TEST_MODEL)
  const signer = privateKeyToAccount(generatePrivateKey())
  const operator = privateKeyToAccount(generatePrivateKey()).address
  const consumer = privateKeyToAccount(generatePrivateKey())
  const books = createBooks(memoryStore())
  await books.load()
  return { model, signer, operator, consumer, books }
}

async function setup(kind: 'cpu' | 'gpu') {
  const memory = createMemoryEngine()
  const engine = kind === 'gpu' ? gpuLikeEngine(memory) : memory
  const { model, signer, operator, consumer, books } = await parties(engine)
  const cashier = createCashier(
    {
      engine,
      books,
      readChannel: async () => ({
        consumer: consumer.address,
        node: operator,
        deposit: 10n ** 18n,
        redeemed: 0n,
        status: 1,
      }),
    },
    { signer, operator, prices, chainId: CHAIN_ID, voucherDomain, receiptDomain },
  )
  let cumulative = 0n
  /** Admits `request` with a voucher for everything so far plus its maximum, runs it and settles `finish`. */
  async function serve(request: InferenceRequest, options: { cancelAfterTokens?: number } = {}) {
    const quote = await cashier.quoteFor(request)
    cumulative += quote.maxCost
    const voucher = { channelId: 1n, cumulativeAmount: cumulative }
    const signature = await consumer.signTypedData(voucherTypedData(voucher, voucherDomain))
    const admission = await cashier.admit({
      peer: 'p',
      request,
      payment: encodePayment({ chainId: CHAIN_ID, channels: voucherDomain.verifyingContract, voucher, signature }),
      model,
    })
    const cancel = new AbortController()
    let tokens = 0
    const result = await runInference(engine, request, {
      signal: cancel.signal,
      onDelta: (d) => {
        tokens += d.tokens
        if (options.cancelAfterTokens !== undefined && tokens >= options.cancelAfterTokens) cancel.abort()
      },
    })
    const signed = decodeSignedReceipt(await admission.settle(result))
    await verifySignedReceipt(signed, receiptDomain, {
      signer: signer.address as Address,
      consumer: consumer.address,
      request,
      text: result.text,
    })
    cumulative = signed.receipt.cumulativePaid
    return { signed, result }
  }
  return { serve, model }
}

const greedy: InferenceRequest = {
  kind: 'completion',
  model: TEST_MODEL.id,
  prompt: 'the same question',
  max_tokens: 12,
  temperature: 0,
  seed: 7,
}

describe('cashier: deterministic receipts', () => {
  it('a CPU engine that reproduces its output signs a greedy seeded request deterministic, and only that', async () => {
    const { serve, model } = await setup('cpu')
    expect(model.deterministic).toBe(true)
    const first = await serve(greedy)
    const second = await serve(greedy)
    expect(first.signed.receipt.deterministic).toBe(true)
    expect(second.signed.receipt.outputHash).toBe(first.signed.receipt.outputHash)
    expect((await serve({ ...greedy, temperature: 0.7 })).signed.receipt.deterministic).toBe(false)
    const { seed: _seed, ...unseeded } = greedy
    expect((await serve(unseeded)).signed.receipt.deterministic).toBe(false)
  })

  it('an engine that cannot promise reproducible output (web-llm on a GPU) never gets a deterministic receipt', async () => {
    const { serve, model } = await setup('gpu')
    expect(model.deterministic).toBe(false)
    for (const request of [
      greedy,
      { ...greedy, seed: 0 },
      { ...greedy, kind: 'chat' as const, messages: [{ role: 'user' as const, content: 'hi' }] },
    ]) {
      expect((await serve(request)).signed.receipt.deterministic).toBe(false)
    }
  })

  it('a cancelled request is settled for what was sent, and its receipt is not deterministic', async () => {
    const { serve } = await setup('cpu')
    const full = await serve(greedy)
    const cut = await serve(greedy, { cancelAfterTokens: 3 })
    expect(cut.result.finish_reason).toBe('abort')
    expect(cut.signed.receipt.completionTokens).toBe(3n)
    expect(cut.signed.receipt.outputHash).not.toBe(full.signed.receipt.outputHash)
    expect(cut.signed.receipt.outputHash).toBe(outputHash(cut.result.text))
    // The two receipts share a request hash and differ in output: only one of them may be deterministic.
    expect(cut.signed.receipt.requestHash).toBe(full.signed.receipt.requestHash)
    expect(cut.signed.receipt.deterministic).toBe(false)
    expect(full.signed.receipt.deterministic).toBe(true)
  })
})

describe('cashier: the channel status behind a request', () => {
  /** A cashier whose clock the test moves and whose chain reads the test answers, one by one. */
  async function channelSetup() {
    const engine = createMemoryEngine()
    const { model, signer, operator, consumer, books } = await parties(engine)
    let clock = 1_000_000
    let status = 1
    const pending: (() => void)[] = []
    let reads = 0
    const cashier = createCashier(
      {
        engine,
        books,
        readChannel: async () => {
          reads++
          await new Promise<void>((resolve) => pending.push(resolve))
          return { consumer: consumer.address, node: operator, deposit: 10n ** 18n, redeemed: 0n, status }
        },
      },
      { signer, operator, prices, chainId: CHAIN_ID, voucherDomain, receiptDomain, now: () => clock },
    )
    let cumulative = 0n
    /** Admits and settles one request; resolves only when the admission did. */
    const admit = async () => {
      const quote = await cashier.quoteFor(greedy)
      const voucher = { channelId: 1n, cumulativeAmount: cumulative + quote.maxCost }
      const signature = await consumer.signTypedData(voucherTypedData(voucher, voucherDomain))
      const admission = await cashier.admit({
        peer: 'p',
        request: greedy,
        payment: encodePayment({ chainId: CHAIN_ID, channels: voucherDomain.verifyingContract, voucher, signature }),
        model,
      })
      const signed = decodeSignedReceipt(await admission.settle(await runInference(engine, greedy, {})))
      cumulative = signed.receipt.cumulativePaid
    }
    /** Answers the oldest chain read waiting. */
    const answerRead = () => pending.shift()?.()
    return {
      admit,
      answerRead,
      books,
      get reads() {
        return reads
      },
      advance: (ms: number) => void (clock += ms),
      close: () => void (status = 2),
    }
  }

  /** Whether `promise` settles while the event loop turns a few times (it cannot, if it waits for a chain read). */
  async function settlesSoon(promise: Promise<unknown>): Promise<boolean> {
    let settled = false
    void promise.then(
      () => (settled = true),
      () => (settled = true),
    )
    for (let i = 0; i < 20 && !settled; i++) await new Promise((resolve) => setImmediate(resolve))
    return settled
  }

  it('a read a few seconds old does not hold up the request; it is renewed behind it, and a close it finds stops admissions', async () => {
    const c = await channelSetup()
    const first = c.admit()
    expect(await settlesSoon(first)).toBe(false) // a channel's first voucher waits for the chain
    c.answerRead()
    await first
    expect(c.reads).toBe(1)

    c.advance(6_000) // past statusMaxAgeMs: read again, but behind the request
    expect(await settlesSoon(c.admit())).toBe(true)
    expect(c.reads).toBe(2)
    c.close() // the consumer started closing meanwhile; the read behind the request finds it
    c.answerRead()
    await until(() => c.books.channel('1')?.status === 2, 2_000, 'the read behind the request to be applied')
    // A channel not open is read again before anything is decided: still closing, so the voucher is refused.
    const refused = expect(c.admit()).rejects.toThrow(/closed/)
    await until(() => c.reads === 3, 2_000, 'the read before the refusal')
    c.answerRead()
    await refused
  })

  it('a read older than statusWaitMs (the chain was out of reach) makes the request wait for a new one', async () => {
    const c = await channelSetup()
    const first = c.admit()
    await until(() => c.reads === 1, 2_000, 'the first read')
    c.answerRead()
    await first
    c.advance(61_000)
    const late = c.admit()
    expect(await settlesSoon(late)).toBe(false)
    expect(c.reads).toBe(2)
    c.answerRead()
    await late
  })
})
