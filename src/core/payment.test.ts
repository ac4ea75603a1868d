import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { batchDue, batchProof, cutBatch } from './batch.ts'
import { InvalidReceiptError, VoucherRejectedError } from './errors/payments.ts'
import type { InferenceRequest } from './inference.ts'
import { verifyMerkleProof, receiptLeaf } from './merkle.ts'
import {
  buildReceipt,
  receiptIsDeterministic,
  checkPaymentDomain,
  decodePayment,
  decodeSignedReceipt,
  encodePayment,
  encodeSignedReceipt,
  recoverVoucherSigner,
  requestHash,
  verifySignedReceipt,
  type SignedReceipt,
} from './payment.ts'
import { createQuote } from './quote.ts'
import { hashReceipt, receiptTypedData } from './receipt.ts'
import { highS } from './signature.fixtures.ts'
import { voucherTypedData } from './voucher.ts'

const nodeSigner = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d')
const consumer = privateKeyToAccount('0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a')
const anchorDomain = { chainId: 31337, verifyingContract: '0x0000000000000000000000000000000000000a11' } as const
const channelsDomain = { chainId: 31337, verifyingContract: '0x0000000000000000000000000000000000000c11' } as const
const request: InferenceRequest = {
  kind: 'chat',
  model: 'm',
  messages: [{ role: 'user', content: 'hello' }],
  max_tokens: 8,
}
const quote = createQuote({
  model: 'm',
  modelHash: `0x${'ab'.repeat(32)}`,
  inputTokens: 3,
  maxTokens: 8,
  pricePerMillionInput: 10n ** 12n,
  pricePerMillionOutput: 2n * 10n ** 12n,
  node: nodeSigner.address,
  signer: nodeSigner.address,
  chainId: 31337,
})

async function signed(text = 'hi there'): Promise<SignedReceipt> {
  const receipt = buildReceipt({
    request,
    text,
    promptTokens: 5,
    completionTokens: 4,
    quote,
    channelId: 3n,
    consumer: consumer.address,
    settledBefore: 100n,
    timestamp: 1_700_000_000,
  })
  const signature = await nodeSigner.signTypedData(receiptTypedData(receipt, anchorDomain))
  return { receipt, receiptHash: hashReceipt(receipt, anchorDomain), signature }
}

describe('payment messages and receipts', () => {
  it('a receipt bills the quoted input and the tokens generated, continuing the channel', async () => {
    const { receipt } = await signed()
    expect(receipt.cost).toBe(3_000_000n + 8_000_000n)
    expect(receipt.cumulativePaid).toBe(11_000_100n)
    expect(receipt.requestHash).toBe(requestHash({ ...request, stream: true } as InferenceRequest))
  })

  it('the request hash covers the prompt and every sampling field, seed included', () => {
    const base: InferenceRequest = {
      kind: 'completion',
      model: 'm',
      prompt: 'p',
      suffix: 's',
      max_tokens: 8,
      temperature: 0,
      top_p: 1,
      seed: 7,
      stop: ['x'],
      response_format: { type: 'text' },
    }
    const variants: InferenceRequest[] = [
      { ...base, model: 'n' },
      { ...base, prompt: 'q' },
      { ...base, suffix: 't' },
      { ...base, max_tokens: 9 },
      { ...base, temperature: 0.5 },
      { ...base, top_p: 0.9 },
      { ...base, seed: 8 },
      { ...base, stop: ['y'] },
      { ...base, response_format: { type: 'json_object' } },
    ]
    const hashes = new Set([base, ...variants].map(requestHash))
    expect(hashes.size).toBe(variants.length + 1)
  })

  it('a receipt is deterministic only for a greedy seeded request, on an engine that promises it, run to its end', () => {
    const greedy: InferenceRequest = { ...request, temperature: 0, seed: 1 }
    expect(receiptIsDeterministic(greedy, { finishReason: 'stop', engineDeterministic: true })).toBe(true)
    expect(receiptIsDeterministic(greedy, { finishReason: 'length', engineDeterministic: true })).toBe(true)
    expect(receiptIsDeterministic(greedy, { finishReason: 'abort', engineDeterministic: true })).toBe(false)
    expect(receiptIsDeterministic(greedy, { finishReason: 'stop', engineDeterministic: false })).toBe(false)
    expect(receiptIsDeterministic(greedy, {})).toBe(false)
    expect(
      receiptIsDeterministic({ ...greedy, temperature: 0.7 }, { finishReason: 'stop', engineDeterministic: true }),
    ).toBe(false)
    const { seed: _, ...unseeded } = greedy
    expect(receiptIsDeterministic(unseeded, { finishReason: 'stop', engineDeterministic: true })).toBe(false)
  })

  it('verifies a signed receipt through the wire and refuses a forged or altered one', async () => {
    const s = await signed()
    const back = decodeSignedReceipt(JSON.parse(JSON.stringify(encodeSignedReceipt(s))))
    expect(back).toEqual(s)
    await verifySignedReceipt(back, anchorDomain, {
      signer: nodeSigner.address,
      consumer: consumer.address,
      request,
      text: 'hi there',
    })
    const altered = { ...back, receipt: { ...back.receipt, cost: back.receipt.cost - 1n } }
    await expect(
      verifySignedReceipt(altered, anchorDomain, { signer: nodeSigner.address, consumer: consumer.address }),
    ).rejects.toThrow(InvalidReceiptError)
    const forged = { ...back, signature: await consumer.signTypedData(receiptTypedData(back.receipt, anchorDomain)) }
    await expect(
      verifySignedReceipt(forged, anchorDomain, { signer: nodeSigner.address, consumer: consumer.address }),
    ).rejects.toThrow(InvalidReceiptError)
    const otherChain = { chainId: 1, verifyingContract: anchorDomain.verifyingContract }
    await expect(
      verifySignedReceipt(back, otherChain, { signer: nodeSigner.address, consumer: consumer.address }),
    ).rejects.toThrow(InvalidReceiptError)
    await expect(
      verifySignedReceipt(back, anchorDomain, {
        signer: nodeSigner.address,
        consumer: consumer.address,
        text: 'other',
      }),
    ).rejects.toThrow(InvalidReceiptError)
    expect(() => decodeSignedReceipt({ receipt: {}, receiptHash: '0x', signature: '0x' })).toThrow(InvalidReceiptError)
  })

  it('a voucher signed for another chain is refused by domain, or recovers to a stranger', async () => {
    const voucher = { channelId: 3n, cumulativeAmount: 50n }
    const signature = await consumer.signTypedData(
      voucherTypedData(voucher, { chainId: 1, verifyingContract: channelsDomain.verifyingContract }),
    )
    const payment = decodePayment(
      JSON.parse(
        JSON.stringify(encodePayment({ chainId: 1, channels: channelsDomain.verifyingContract, voucher, signature })),
      ),
    )
    expect(() => checkPaymentDomain(payment, channelsDomain)).toThrow(VoucherRejectedError)
    // A payment that lies about its chain passes the domain check but recovers to someone else.
    expect(await recoverVoucherSigner(voucher, signature, channelsDomain)).not.toBe(consumer.address)
    const honest = await consumer.signTypedData(voucherTypedData(voucher, channelsDomain))
    expect(await recoverVoucherSigner(voucher, honest, channelsDomain)).toBe(consumer.address)
    expect(() => decodePayment({ v: 1 })).toThrow(VoucherRejectedError)
  })

  it('a voucher signature in its other form (high s, or v of 0 or 1) is decoded into the one the contract redeems, same signer', async () => {
    const voucher = { channelId: 3n, cumulativeAmount: 50n }
    const signature = await consumer.signTypedData(voucherTypedData(voucher, channelsDomain))
    const wire = (sig: Hex) =>
      JSON.parse(
        JSON.stringify(
          encodePayment({ chainId: 31337, channels: channelsDomain.verifyingContract, voucher, signature: sig }),
        ),
      )
    const bent = highS(signature)
    const v01 = `${signature.slice(0, 130)}${signature.slice(130) === '1b' ? '00' : '01'}` as Hex
    for (const form of [signature, bent, v01]) {
      const payment = decodePayment(wire(form))
      expect(payment.signature).toBe(signature.toLowerCase())
      expect(await recoverVoucherSigner(voucher, payment.signature, channelsDomain)).toBe(consumer.address)
    }
    // viem takes the other form as it is: without the decode, the node would hold a voucher the contract refuses.
    expect(await recoverVoucherSigner(voucher, bent, channelsDomain)).toBe(consumer.address)
  })

  it('cuts batches on count or age, and proves every receipt of a batch', () => {
    const pending = Array.from({ length: 5 }, (_, i) => ({
      receiptHash: `0x${(i + 1).toString(16).padStart(64, '0')}` as const,
      signedAt: 1000 + i,
    }))
    expect(batchDue(pending.slice(0, 2), { maxReceipts: 3, maxAgeMs: 60_000 }, 2000)).toBe(false)
    expect(batchDue(pending.slice(0, 3), { maxReceipts: 3, maxAgeMs: 60_000 }, 2000)).toBe(true)
    expect(batchDue(pending.slice(0, 1), { maxReceipts: 3, maxAgeMs: 500 }, 1500)).toBe(true)
    expect(batchDue([], { maxReceipts: 1, maxAgeMs: 0 }, 1500)).toBe(false)
    const { batch, rest } = cutBatch(pending, { maxReceipts: 3, maxAgeMs: 0 })
    expect(batch.receiptHashes).toHaveLength(3)
    expect(rest.map((r) => r.receiptHash)).toEqual([pending[3]?.receiptHash, pending[4]?.receiptHash])
    for (const hash of batch.receiptHashes)
      expect(verifyMerkleProof(batch.root, receiptLeaf(hash), batchProof(batch, hash))).toBe(true)
  })
})
