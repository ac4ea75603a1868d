/**
 * `npm run bench:payments`: what paying costs a request. (1) The per-request CPU overhead of the payment path, each
 * step as the provider service and the SDK run it: the node's quote (tokenizer count + quote), its voucher check
 * (decode, domain, signature recovery, credit rules), its receipt signing; the consumer's voucher signing and
 * receipt verification. (2) The amortized on-chain gas per paid request when one anchor and one redemption are
 * shared by a batch of 1, 16 and 256 requests, measured on a real anvil (free port, stopped by PID) through the same
 * chain actions the provider uses.
 */
import { createPublicClient, createWalletClient, http, parseEther, type Address, type Hex } from 'viem'
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { anchorReceipts } from '../chain/actions/anchorReceipts.ts'
import { openChannel } from '../chain/actions/openChannel.ts'
import { redeemVouchers } from '../chain/actions/redeemVouchers.ts'
import { DEVNET_PARAMETERS } from '../chain/constants.ts'
import { acceptVoucher, applyReceipt, newConsumerChannel, newLedger, nextVoucherAmount, recordVoucher, settleRequest } from '../core/credit.ts'
import type { InferenceRequest } from '../core/inference.ts'
import { buildReceipt, checkPaymentDomain, decodePayment, decodeSignedReceipt, encodePayment, encodeSignedReceipt, recoverVoucherSigner, verifySignedReceipt } from '../core/payment.ts'
import { createQuote, decodeQuote, encodeQuote, quotedText } from '../core/quote.ts'
import { hashReceipt, receiptTypedData } from '../core/receipt.ts'
import { voucherTypedData } from '../core/voucher.ts'
import { createMemoryEngine } from '../engine/memory/memory-engine.ts'
import { registerProvider } from '../node/register.ts'
import { TEST_MODEL } from '../p2p/testing.ts'
import { DEVNET_MNEMONIC, DEVNET_PRIVATE_KEYS, startAnvil } from './anvil.ts'
import { deployContracts } from './contracts.ts'
import { freePort } from './ports.ts'

const ITERATIONS = 300

async function timeIt(label: string, run: (i: number) => Promise<unknown>): Promise<{ label: string; medianMs: number; p95Ms: number }> {
  for (let i = 0; i < 20; i++) await run(i) // warm-up
  const samples: number[] = []
  for (let i = 0; i < ITERATIONS; i++) {
    const started = performance.now()
    await run(i)
    samples.push(performance.now() - started)
  }
  samples.sort((a, b) => a - b)
  return { label, medianMs: samples[Math.floor(samples.length / 2)] ?? 0, p95Ms: samples[Math.floor(samples.length * 0.95)] ?? 0 }
}

async function overhead(): Promise<void> {
  const engine = createMemoryEngine()
  await engine.load(TEST_MODEL)
  const node = privateKeyToAccount(generatePrivateKey())
  const consumer = privateKeyToAccount(generatePrivateKey())
  const voucherDomain = { chainId: 31337, verifyingContract: '0x0000000000000000000000000000000000000c11' as Address }
  const anchorDomain = { chainId: 31337, verifyingContract: '0x0000000000000000000000000000000000000a11' as Address }
  const prices = { pricePerMillionInput: 10n ** 15n, pricePerMillionOutput: 2n * 10n ** 15n }
  const request: InferenceRequest = { kind: 'chat', model: TEST_MODEL.id, messages: [{ role: 'user', content: 'A typical prompt of a few dozen words, asking the node to explain something in a paragraph or two. '.repeat(3) }], max_tokens: 128 }
  const quote = createQuote({ model: TEST_MODEL.id, modelHash: TEST_MODEL.contentHash as Hex, inputTokens: await engine.countTokens(quotedText(request)), maxTokens: 128, ...prices, node: node.address, signer: node.address, chainId: 31337 })
  // Vouchers for a long channel: each iteration checks a fresh, higher one, as in a real session.
  const deposit = 10n ** 30n
  const vouchers = await Promise.all(
    Array.from({ length: ITERATIONS + 20 }, async (_, i) => {
      const voucher = { channelId: 1n, cumulativeAmount: quote.maxCost * BigInt(i + 1) }
      return encodePayment({ chainId: 31337, channels: voucherDomain.verifyingContract, voucher, signature: await consumer.signTypedData(voucherTypedData(voucher, voucherDomain)) })
    }),
  )
  const receiptFor = (i: number) => buildReceipt({ request, text: 'an answer of some length '.repeat(10), promptTokens: quote.inputTokens, completionTokens: 128, quote, channelId: 1n, consumer: consumer.address, settledBefore: quote.maxCost * BigInt(i), timestamp: 1_700_000_000 + i })
  const signedReceipt = await (async () => {
    const receipt = receiptFor(0)
    return encodeSignedReceipt({ receipt, receiptHash: hashReceipt(receipt, anchorDomain), signature: await node.signTypedData(receiptTypedData(receipt, anchorDomain)) })
  })()

  const rows = [
    await timeIt('node: quote (count tokens, price, encode)', async () => {
      const q = createQuote({ model: TEST_MODEL.id, modelHash: TEST_MODEL.contentHash as Hex, inputTokens: await engine.countTokens(quotedText(request)), maxTokens: 128, ...prices, node: node.address, signer: node.address, chainId: 31337 })
      return encodeQuote(q)
    }),
    await timeIt('node: voucher check (decode, domain, recover, credit)', async (i) => {
      const p = decodePayment(vouchers[i])
      checkPaymentDomain(p, voucherDomain)
      const recoveredSigner = await recoverVoucherSigner(p.voucher, p.signature, voucherDomain)
      const ledger = { ...newLedger({ channelId: 1n, consumer: consumer.address, deposit }), settled: quote.maxCost * BigInt(i) }
      return settleRequest(acceptVoucher(ledger, { channelId: 1n, cumulativeAmount: p.voucher.cumulativeAmount, signature: p.signature, recoveredSigner }, quote.maxCost), quote.maxCost, quote.maxCost)
    }),
    await timeIt('node: receipt (build, hash, sign, encode)', async (i) => {
      const receipt = receiptFor(i)
      return encodeSignedReceipt({ receipt, receiptHash: hashReceipt(receipt, anchorDomain), signature: await node.signTypedData(receiptTypedData(receipt, anchorDomain)) })
    }),
    await timeIt('consumer: decode quote, sign voucher', async (i) => {
      const q = decodeQuote(encodeQuote(quote))
      const channel = { ...newConsumerChannel({ channelId: 1n, node: node.address, deposit }), settled: q.maxCost * BigInt(i), signed: q.maxCost * BigInt(i) }
      const amount = nextVoucherAmount(channel, q.maxCost)
      recordVoucher(channel, amount)
      return consumer.signTypedData(voucherTypedData({ channelId: 1n, cumulativeAmount: amount }, voucherDomain))
    }),
    await timeIt('consumer: verify receipt (decode, hash, recover, rules)', async () => {
      const s = decodeSignedReceipt(signedReceipt)
      await verifySignedReceipt(s, anchorDomain, { signer: node.address, consumer: consumer.address, request })
      return applyReceipt({ ...newConsumerChannel({ channelId: 1n, node: node.address, deposit }), signed: quote.maxCost }, s.receipt, quote)
    }),
  ]
  console.log(`Per-request payment overhead (CPU, this machine, ${ITERATIONS} runs each, in-memory tokenizer):`)
  for (const r of rows) console.log(`  ${r.label.padEnd(58)} median ${r.medianMs.toFixed(3)} ms   p95 ${r.p95Ms.toFixed(3)} ms`)
  const nodeTotal = rows.slice(0, 3).reduce((s, r) => s + r.medianMs, 0)
  const consumerTotal = rows.slice(3).reduce((s, r) => s + r.medianMs, 0)
  console.log(`  node total ${nodeTotal.toFixed(2)} ms, consumer total ${consumerTotal.toFixed(2)} ms per paid request (medians)`)
}

async function gas(): Promise<void> {
  const anvil = await startAnvil({ port: await freePort() })
  try {
    const { contracts } = await deployContracts({ rpcUrl: anvil.rpcUrl, privateKey: DEVNET_PRIVATE_KEYS[0] })
    const deployment = { version: 1 as const, chainId: anvil.chainId, rpcUrl: anvil.rpcUrl, startBlock: 0, contracts, relay: null }
    const transport = http(anvil.rpcUrl)
    const reader = createPublicClient({ transport, pollingInterval: 20 })
    const operator = createWalletClient({ account: mnemonicToAccount(DEVNET_MNEMONIC, { addressIndex: 1 }), transport, pollingInterval: 20 })
    const signer = createWalletClient({ account: mnemonicToAccount(DEVNET_MNEMONIC, { addressIndex: 2 }), transport, pollingInterval: 20 })
    const consumer = createWalletClient({ account: mnemonicToAccount(DEVNET_MNEMONIC, { addressIndex: 3 }), transport, pollingInterval: 20 })
    await registerProvider(operator, reader, { deployment, signer: signer.account, peerId: 'bench-peer', models: [TEST_MODEL.contentHash as Hex], prices: { pricePerMillionInput: 1n, pricePerMillionOutput: 1n }, stake: DEVNET_PARAMETERS.minStake })
    const channels = contracts.PaymentChannels as Address
    const anchor = contracts.ReceiptAnchor as Address
    const { channelId } = await openChannel(consumer, { token: contracts.AIToken as Address, channels, node: operator.account.address, deposit: parseEther('100') })
    const domain = { chainId: anvil.chainId, verifyingContract: anchor }
    const quote = createQuote({ model: TEST_MODEL.id, modelHash: TEST_MODEL.contentHash as Hex, inputTokens: 10, maxTokens: 10, pricePerMillionInput: 10n ** 15n, pricePerMillionOutput: 10n ** 15n, node: operator.account.address, signer: signer.account.address, chainId: anvil.chainId })
    let cumulative = 0n
    let serial = 0
    console.log('\nAmortized gas per paid request (one anchor + one redeem per batch, anvil):')
    for (const size of [1, 16, 256]) {
      const hashes: Hex[] = []
      for (let i = 0; i < size; i++) {
        const receipt = buildReceipt({ request: { kind: 'completion', model: TEST_MODEL.id, prompt: `request ${serial}`, max_tokens: 10 }, text: `answer ${serial}`, promptTokens: 10, completionTokens: 10, quote, channelId, consumer: consumer.account.address, settledBefore: cumulative, timestamp: 1_700_000_000 + serial++ })
        cumulative += receipt.cost
        hashes.push(hashReceipt(receipt, domain))
      }
      const anchored = await anchorReceipts(signer, { anchor, receiptHashes: hashes })
      const voucher = { channelId, cumulativeAmount: cumulative }
      const signature = await consumer.signTypedData({ account: consumer.account, ...voucherTypedData(voucher, { chainId: anvil.chainId, verifyingContract: channels }) })
      const redeemed = await redeemVouchers(signer, { channels, vouchers: [{ voucher, signature }] })
      const perRequest = Number(anchored.gasUsed + redeemed.gasUsed) / size
      console.log(`  batch ${String(size).padStart(3)}: anchor ${anchored.gasUsed} gas + redeem ${redeemed.gasUsed} gas = ${Math.round(perRequest).toLocaleString('en-US')} gas per request`)
    }
  } finally {
    await anvil.stop()
  }
}

await overhead()
await gas()
