/**
 * `npm run bench:payments`: what paying costs a request. (1) The per-request CPU overhead of the payment path, each
 * step as the provider service and the SDK run it: the node's quote (tokenizer count + quote), its voucher check
 * (decode, domain, signature recovery, credit rules), its receipt signing; the consumer's voucher signing and
 * receipt verification. (2) The two ways the SDK pays, end to end against one registered provider (real relay as a
 * child process, real anvil, the production provider service with the in-memory engine): the quote path (a
 * quote-only round trip, then the paid request) and the prepay path (the consumer prepays its own input bound, one
 * round trip), and the prepay path again from a consumer that keeps no node warm (each request opens its stream: a
 * negotiation round trip first), interleaved on open channels: round trips to the node per request (the provider's
 * infer-server counters), how many went out on a stream opened ahead, time to first chunk and total time. (3) The
 * amortized on-chain gas per paid request when one anchor and one redemption are shared by a batch of 1, 16 and 256
 * requests, through the same chain actions the provider uses.
 * anvil (free port) and the relay are stopped by PID.
 */
import '../lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, createWalletClient, http, parseEther, type Address, type Hex } from 'viem'
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { anchorReceipts } from '../../chain/actions/anchorReceipts.ts'
import { openChannel } from '../../chain/actions/openChannel.ts'
import { redeemVouchers } from '../../chain/actions/redeemVouchers.ts'
import { DEVNET_PARAMETERS } from '../../chain/constants.ts'
import {
  acceptVoucher,
  applyReceipt,
  newConsumerChannel,
  newLedger,
  nextVoucherAmount,
  recordVoucher,
  settleRequest,
} from '../../core/credit.ts'
import type { InferenceRequest } from '../../core/inference.ts'
import {
  buildReceipt,
  checkPaymentDomain,
  decodePayment,
  decodeSignedReceipt,
  encodePayment,
  encodeSignedReceipt,
  recoverVoucherSigner,
  verifySignedReceipt,
} from '../../core/payment.ts'
import { createQuote, decodeQuote, encodeQuote, quotedText, tokenCost } from '../../core/quote.ts'
import { hashReceipt, receiptTypedData } from '../../core/receipt.ts'
import { voucherTypedData } from '../../core/voucher.ts'
import { createClient, type ModelexClient, type PaidResult } from '../../client/index.ts'
import { inputTokenBound } from '../../core/bounds.ts'
import type { Deployment } from '../../core/deployment.ts'
import { createMemoryEngine } from '../../engine/memory/memory-engine.ts'
import { registerProvider } from '../../node/register.ts'
import { fundAccount, startPaidProvider, TEST_PRICES, type PaidProvider } from '../../node/testing.ts'
import { TEST_MODEL } from '../../p2p/testing.ts'
import { memoryStore } from '../../store/payments.ts'
import { DEVNET_MNEMONIC } from '../lib/anvil.ts'
import { startLocalChain } from '../lib/local-chain.ts'
import { createSignerCache } from '../../core/signature.ts'
import { freePort } from '../lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../lib/relay-process.ts'

const ITERATIONS = 300

async function timeIt(
  label: string,
  run: (i: number) => Promise<unknown>,
): Promise<{ label: string; medianMs: number; p95Ms: number }> {
  for (let i = 0; i < 20; i++) await run(i) // warm-up
  const samples: number[] = []
  for (let i = 0; i < ITERATIONS; i++) {
    const started = performance.now()
    await run(i)
    samples.push(performance.now() - started)
  }
  samples.sort((a, b) => a - b)
  return {
    label,
    medianMs: samples[Math.floor(samples.length / 2)] ?? 0,
    p95Ms: samples[Math.floor(samples.length * 0.95)] ?? 0,
  }
}

async function overhead(): Promise<void> {
  const engine = createMemoryEngine()
  await engine.load(TEST_MODEL)
  const node = privateKeyToAccount(generatePrivateKey())
  const consumer = privateKeyToAccount(generatePrivateKey())
  const voucherDomain = { chainId: 31337, verifyingContract: '0x0000000000000000000000000000000000000c11' as Address }
  const anchorDomain = { chainId: 31337, verifyingContract: '0x0000000000000000000000000000000000000a11' as Address }
  const prices = { pricePerMillionInput: 10n ** 15n, pricePerMillionOutput: 2n * 10n ** 15n }
  const request: InferenceRequest = {
    kind: 'chat',
    model: TEST_MODEL.id,
    messages: [
      {
        role: 'user',
        content:
          'A typical prompt of a few dozen words, asking the node to explain something in a paragraph or two. '.repeat(
            3,
          ),
      },
    ],
    max_tokens: 128,
  }
  const quote = createQuote({
    model: TEST_MODEL.id,
    modelHash: TEST_MODEL.contentHash as Hex,
    inputTokens: await engine.countTokens(quotedText(request)),
    maxTokens: 128,
    ...prices,
    node: node.address,
    signer: node.address,
    chainId: 31337,
  })
  // Vouchers for a long channel: each iteration checks a fresh, higher one, as in a real session. The cashier keeps
  // the consumer's key once seen (`createSignerCache`): every voucher after a channel's first is checked against it.
  const signers = createSignerCache()
  /** The SDK's: node signers' keys once seen (`ClientContext.signers`). */
  const nodeKeys = createSignerCache()
  const deposit = 10n ** 30n
  const vouchers = await Promise.all(
    Array.from({ length: ITERATIONS + 20 }, async (_, i) => {
      const voucher = { channelId: 1n, cumulativeAmount: quote.maxCost * BigInt(i + 1) }
      return encodePayment({
        chainId: 31337,
        channels: voucherDomain.verifyingContract,
        voucher,
        signature: await consumer.signTypedData(voucherTypedData(voucher, voucherDomain)),
      })
    }),
  )
  /** The node's voucher check as the cashier runs it: decode, domain, the signer (recovered, or checked against a kept key), credit. */
  const checkVoucher = async (i: number, known?: Parameters<typeof recoverVoucherSigner>[3]) => {
    const p = decodePayment(vouchers[i])
    checkPaymentDomain(p, voucherDomain)
    const recoveredSigner = await recoverVoucherSigner(p.voucher, p.signature, voucherDomain, known)
    const ledger = {
      ...newLedger({ channelId: 1n, consumer: consumer.address, deposit }),
      settled: quote.maxCost * BigInt(i),
    }
    return settleRequest(
      acceptVoucher(
        ledger,
        { channelId: 1n, cumulativeAmount: p.voucher.cumulativeAmount, signature: p.signature, recoveredSigner },
        quote.maxCost,
      ),
      quote.maxCost,
      quote.maxCost,
    )
  }
  const receiptFor = (i: number) =>
    buildReceipt({
      request,
      text: 'an answer of some length '.repeat(10),
      promptTokens: quote.inputTokens,
      completionTokens: 128,
      quote,
      channelId: 1n,
      consumer: consumer.address,
      settledBefore: quote.maxCost * BigInt(i),
      timestamp: 1_700_000_000 + i,
    })
  const signedReceipt = await (async () => {
    const receipt = receiptFor(0)
    return encodeSignedReceipt({
      receipt,
      receiptHash: hashReceipt(receipt, anchorDomain),
      signature: await node.signTypedData(receiptTypedData(receipt, anchorDomain)),
    })
  })()

  const rows = [
    await timeIt('node: quote (count tokens, price, encode)', async () => {
      const q = createQuote({
        model: TEST_MODEL.id,
        modelHash: TEST_MODEL.contentHash as Hex,
        inputTokens: await engine.countTokens(quotedText(request)),
        maxTokens: 128,
        ...prices,
        node: node.address,
        signer: node.address,
        chainId: 31337,
      })
      return encodeQuote(q)
    }),
    await timeIt("node: voucher check, a channel's first (recovers the signer)", (i) => checkVoucher(i)),
    await timeIt('node: voucher check, later ones (consumer key known)', (i) =>
      checkVoucher(i, { signers, expected: consumer.address }),
    ),
    await timeIt('node: receipt (build, hash, sign, encode)', async (i) => {
      const receipt = receiptFor(i)
      return encodeSignedReceipt({
        receipt,
        receiptHash: hashReceipt(receipt, anchorDomain),
        signature: await node.signTypedData(receiptTypedData(receipt, anchorDomain)),
      })
    }),
    await timeIt('consumer: decode quote, sign voucher', async (i) => {
      const q = decodeQuote(encodeQuote(quote))
      const channel = {
        ...newConsumerChannel({ channelId: 1n, node: node.address, deposit }),
        settled: q.maxCost * BigInt(i),
        signed: q.maxCost * BigInt(i),
      }
      const amount = nextVoucherAmount(channel, q.maxCost)
      recordVoucher(channel, amount)
      return consumer.signTypedData(voucherTypedData({ channelId: 1n, cumulativeAmount: amount }, voucherDomain))
    }),
    await timeIt('consumer: verify receipt (node key known; hash, rules)', async () => {
      const s = decodeSignedReceipt(signedReceipt)
      await verifySignedReceipt(
        s,
        anchorDomain,
        { signer: node.address, consumer: consumer.address, request },
        nodeKeys,
      )
      return applyReceipt(
        { ...newConsumerChannel({ channelId: 1n, node: node.address, deposit }), signed: quote.maxCost },
        s.receipt,
        quote,
      )
    }),
  ]
  console.log(`Per-request payment overhead (CPU, this machine, ${ITERATIONS} runs each, in-memory tokenizer):`)
  for (const r of rows)
    console.log(`  ${r.label.padEnd(58)} median ${r.medianMs.toFixed(3)} ms   p95 ${r.p95Ms.toFixed(3)} ms`)
  // A request on a channel in use: quote, a later voucher's check, receipt.
  const nodeTotal = [rows[0], rows[2], rows[3]].reduce((s, r) => s + (r?.medianMs ?? Number.NaN), 0)
  const consumerTotal = rows.slice(4).reduce((s, r) => s + r.medianMs, 0)
  console.log(
    `  node total ${nodeTotal.toFixed(2)} ms, consumer total ${consumerTotal.toFixed(2)} ms per paid request (medians)`,
  )
}

async function gas(deployment: Deployment): Promise<void> {
  const { contracts, chainId } = deployment
  const transport = http(deployment.rpcUrl)
  const reader = createPublicClient({ transport, pollingInterval: 20 })
  const operator = createWalletClient({
    account: mnemonicToAccount(DEVNET_MNEMONIC, { addressIndex: 1 }),
    transport,
    pollingInterval: 20,
  })
  const signer = createWalletClient({
    account: mnemonicToAccount(DEVNET_MNEMONIC, { addressIndex: 2 }),
    transport,
    pollingInterval: 20,
  })
  const consumer = createWalletClient({
    account: mnemonicToAccount(DEVNET_MNEMONIC, { addressIndex: 3 }),
    transport,
    pollingInterval: 20,
  })
  await registerProvider(operator, reader, {
    deployment,
    signer: signer.account,
    peerId: 'bench-peer',
    models: [TEST_MODEL.contentHash as Hex],
    prices: { pricePerMillionInput: 1n, pricePerMillionOutput: 1n },
    stake: DEVNET_PARAMETERS.minStake,
  })
  const channels = contracts.PaymentChannels as Address
  const anchor = contracts.ReceiptAnchor as Address
  const { channelId } = await openChannel(consumer, {
    token: contracts.AIToken as Address,
    channels,
    node: operator.account.address,
    deposit: parseEther('100'),
  })
  const domain = { chainId, verifyingContract: anchor }
  const quote = createQuote({
    model: TEST_MODEL.id,
    modelHash: TEST_MODEL.contentHash as Hex,
    inputTokens: 10,
    maxTokens: 10,
    pricePerMillionInput: 10n ** 15n,
    pricePerMillionOutput: 10n ** 15n,
    node: operator.account.address,
    signer: signer.account.address,
    chainId,
  })
  let cumulative = 0n
  let serial = 0
  console.log('\nAmortized gas per paid request (one anchor + one redeem per batch, anvil):')
  for (const size of [1, 16, 256]) {
    const hashes: Hex[] = []
    for (let i = 0; i < size; i++) {
      const receipt = buildReceipt({
        request: { kind: 'completion', model: TEST_MODEL.id, prompt: `request ${serial}`, max_tokens: 10 },
        text: `answer ${serial}`,
        promptTokens: 10,
        completionTokens: 10,
        quote,
        channelId,
        consumer: consumer.account.address,
        settledBefore: cumulative,
        timestamp: 1_700_000_000 + serial++,
      })
      cumulative += receipt.cost
      hashes.push(hashReceipt(receipt, domain))
    }
    const anchored = await anchorReceipts(signer, { anchor, receiptHashes: hashes })
    const voucher = { channelId, cumulativeAmount: cumulative }
    const signature = await consumer.signTypedData({
      account: consumer.account,
      ...voucherTypedData(voucher, { chainId, verifyingContract: channels }),
    })
    const redeemed = await redeemVouchers(signer, { channels, vouchers: [{ voucher, signature }] })
    const perRequest = Number(anchored.gasUsed + redeemed.gasUsed) / size
    console.log(
      `  batch ${String(size).padStart(3)}: anchor ${anchored.gasUsed} gas + redeem ${redeemed.gasUsed} gas = ${Math.round(perRequest).toLocaleString('en-US')} gas per request`,
    )
  }
}

const PATH_WARM_UP = 5
const PATH_RUNS = 40
const PATH_MAX_TOKENS = 32
/**
 * The in-memory engine's pace in the paths part. The provider runs in this process: at full speed it would make the
 * whole answer and sign its receipt before this process could read the first token, so the time to first token would
 * be the node's whole request. Any real engine yields between tokens.
 */
const PATH_TOKEN_DELAY_MS = 1
/**
 * Request starts are spaced this far apart: the node's per-peer limits (`INFER_SERVER_DEFAULTS`: 5 streams/s after a
 * burst of 10, quote-only 2/s after 4) refuse back-to-back requests BUSY, the quote path's first (it spends 2 streams
 * and a quote each). Interleaved, a pair every 2 × 450 ms spends 3.3 streams/s and 1.1 quotes/s.
 */
const PATH_SPACING_MS = 450

/**
 * `prepay, cold`: the prepay path from a second consumer that keeps no node warm (`keepWarmMs: null`), so each of its
 * requests opens its stream first (a protocol negotiation round trip); the other two keep the node warm (the default).
 */
type Path = 'quote' | 'prepay' | 'prepay, cold'
/** `inputBound`: what the prepay path pays the input as (`inputTokenBound`), beside the node's count in `result.quote`. */
type PaidSample = {
  ttftMs: number
  totalMs: number
  roundTrips: number
  quoteOnly: number
  inputBound: number
  result: PaidResult
}
type PathFigures = { path: Path; samples: PaidSample[] }

/** Nearest-rank percentile. */
const percentile = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
}
const mean = (values: readonly number[]) => values.reduce((s, v) => s + v, 0) / values.length
const ms = (value: number) => `${value.toFixed(1)} ms`
const count = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(2))

/** A prompt of a few dozen words, different each time so no count is reused across requests. */
const promptFor = (serial: number) =>
  `Request ${serial}: a typical prompt of a few dozen words, asking the node to explain something in a paragraph or two. `.repeat(
    3,
  )

/** Infer streams the provider saw end (quote-only, served, refused, cancelled): one per round trip to the node. */
function streamsSeen(provider: PaidProvider): { quoteOnly: number; all: number } {
  const stats = provider.service.server.stats()
  const refused = Object.values(stats.refused).reduce((s, n) => s + n, 0)
  return { quoteOnly: stats.quoted, all: stats.quoted + stats.served + stats.cancelled + refused }
}

/** One streamed paid request through the SDK, timed from `create` to the first chunk and to the settled result. */
async function paidRequest(
  client: ModelexClient,
  provider: PaidProvider,
  path: Path,
  serial: number,
): Promise<PaidSample> {
  const prompt = promptFor(serial)
  const before = streamsSeen(provider)
  const started = performance.now()
  const stream = await client.completions.create({
    model: TEST_MODEL.id,
    prompt,
    max_tokens: PATH_MAX_TOKENS,
    stream: true,
    node: provider.node.peerId.toString(),
    prepay: path !== 'quote',
  })
  let ttftMs = Number.NaN
  for await (const chunk of stream) {
    if (Number.isNaN(ttftMs) && (chunk.choices[0]?.text ?? '') !== '') ttftMs = performance.now() - started
  }
  const result = await stream.result
  const totalMs = performance.now() - started
  const after = streamsSeen(provider)
  const inputBound = inputTokenBound({ kind: 'completion', model: TEST_MODEL.id, prompt, max_tokens: PATH_MAX_TOKENS })
  return {
    ttftMs,
    totalMs,
    roundTrips: after.all - before.all,
    quoteOnly: after.quoteOnly - before.quoteOnly,
    inputBound,
    result,
  }
}

const sleep = (duration: number) => new Promise((resolve) => setTimeout(resolve, duration))
let lastStart = Number.NEGATIVE_INFINITY
async function paced<T>(work: () => Promise<T>): Promise<T> {
  await sleep(Math.max(0, lastStart + PATH_SPACING_MS - performance.now()))
  lastStart = performance.now()
  return work()
}

/** Both payment paths against one provider, interleaved (alternating which goes first) so drift hits both alike. */
async function paths(deployment: Deployment, relay: RelayProcess): Promise<PathFigures[]> {
  // Batches far above the run, so no anchoring transaction lands in the middle of the timings; anchored at the end.
  const provider = await startPaidProvider({
    deployment,
    relay: relay.multiaddr,
    maxReceipts: 10_000,
    tokenDelayMs: PATH_TOKEN_DELAY_MS,
  })
  const toStop: ModelexClient[] = []
  try {
    const consumer = async (keepWarmMs?: null) => {
      const account = privateKeyToAccount(generatePrivateKey())
      await fundAccount(deployment, account.address, parseEther('100'))
      const wallet = createWalletClient({ account, transport: http(deployment.rpcUrl), pollingInterval: 50 })
      const client = createClient({
        deployment,
        wallet,
        store: memoryStore(),
        relay: relay.multiaddr,
        models: [{ id: TEST_MODEL.id, contentHash: TEST_MODEL.contentHash as Hex }],
        channelDeposit: parseEther('1'),
        ...(keepWarmMs === null ? { keepWarmMs } : {}),
      })
      toStop.push(client)
      await client.nodes({ model: TEST_MODEL.id })
      return client
    }
    const client = await consumer()
    const coldClient = await consumer(null)
    const clientFor = (path: Path) => (path === 'prepay, cold' ? coldClient : client)

    let serial = 0
    const first = await paced(() => paidRequest(client, provider, 'quote', serial++))
    await paced(() => paidRequest(coldClient, provider, 'prepay, cold', serial++)) // opens its channel
    const figures: PathFigures[] = [
      { path: 'quote', samples: [] },
      { path: 'prepay', samples: [] },
      { path: 'prepay, cold', samples: [] },
    ]
    for (let i = 0; i < PATH_WARM_UP; i++)
      for (const { path } of figures) await paced(() => paidRequest(clientFor(path), provider, path, serial++))
    for (let i = 0; i < PATH_RUNS; i++) {
      const order = figures.map((_, k) => figures[(i + k) % figures.length]!)
      for (const f of order)
        f.samples.push(await paced(() => paidRequest(clientFor(f.path), provider, f.path, serial++)))
    }

    // The provider service's own quote, as a quote-only request gets it (fresh text: no cached count).
    const quoteMs: number[] = []
    for (let i = 0; i < PATH_RUNS; i++) {
      const started = performance.now()
      await provider.service.quote({
        kind: 'completion',
        model: TEST_MODEL.id,
        prompt: promptFor(serial++),
        max_tokens: PATH_MAX_TOKENS,
      })
      quoteMs.push(performance.now() - started)
    }

    // The last receipt is the one the node stored, and it verifies on-chain once anchored.
    const last = figures[1]?.samples.at(-1)?.result
    if (!last) throw new Error('no paid request was measured')
    const stored = await provider.service.receipt(last.receipt.receiptHash)
    const pending = await provider.service.proof(last.receipt.receiptHash)
    await provider.service.anchorNow()
    const verification = await client.verify(last)

    const prepaid = figures[1]?.samples ?? []
    console.log(
      `\nPaid requests through the SDK, quote path vs prepay path (real relay + anvil, same provider, in-memory engine at ${PATH_TOKEN_DELAY_MS} ms/token, ${PATH_MAX_TOKENS} tokens; channel already open; ${PATH_RUNS} each after ${PATH_WARM_UP} warm-up each, interleaved, starts ${PATH_SPACING_MS} ms apart for the node's per-peer limits):`,
    )
    console.log(
      `  ${'path'.padEnd(13)} ${'round trips/request'.padEnd(26)} ${'warm'.padStart(6)} ${'TTFT p50'.padStart(10)} ${'TTFT p95'.padStart(10)} ${'total p50'.padStart(10)} ${'total p95'.padStart(10)}`,
    )
    for (const { path, samples } of figures) {
      const trips = `${count(mean(samples.map((s) => s.roundTrips)))} (quote-only ${count(mean(samples.map((s) => s.quoteOnly)))})`
      const warm = `${samples.filter((s) => s.result.transport.warm).length}/${samples.length}`
      console.log(
        `  ${path.padEnd(13)} ${trips.padEnd(26)} ${warm.padStart(6)} ${ms(
          percentile(
            samples.map((s) => s.ttftMs),
            50,
          ),
        ).padStart(10)} ${ms(
          percentile(
            samples.map((s) => s.ttftMs),
            95,
          ),
        ).padStart(10)} ${ms(
          percentile(
            samples.map((s) => s.totalMs),
            50,
          ),
        ).padStart(10)} ${ms(
          percentile(
            samples.map((s) => s.totalMs),
            95,
          ),
        ).padStart(10)}`,
      )
    }
    console.log(
      `  first request (quote path, opens the channel on-chain): ${count(first.roundTrips)} round trips, TTFT ${ms(first.ttftMs)}, total ${ms(first.totalMs)}`,
    )
    console.log(
      `  provider service.quote (count, price, as a quote-only request is answered): median ${percentile(quoteMs, 50).toFixed(3)} ms   p95 ${percentile(quoteMs, 95).toFixed(3)} ms`,
    )
    const bound = percentile(
      prepaid.map((s) => s.inputBound),
      50,
    )
    const counted = percentile(
      prepaid.map((s) => s.result.quote.inputTokens),
      50,
    )
    const maxCost = percentile(
      prepaid.map((s) => Number(tokenCost(s.inputBound, PATH_MAX_TOKENS, TEST_PRICES))),
      50,
    )
    const settled = percentile(
      prepaid.map((s) => Number(s.result.cost)),
      50,
    )
    console.log(
      `  prepay path, input: its bound ${bound} vs the node's count ${counted} tokens (x${(bound / counted).toFixed(2)}); prepaid ${maxCost.toLocaleString('en-US')} vs settled ${settled.toLocaleString('en-US')} AI wei, the rest stays credit (medians)`,
    )
    console.log(
      `  last receipt: stored by the node ${stored?.receiptHash === last.receipt.receiptHash}, proof before anchoring '${pending.status}', verified on-chain after anchoring ${verification.anchored && verification.verified}`,
    )
    return figures
  } finally {
    for (const client of toStop) await client.stop().catch(() => {})
    await provider.stop()
  }
}

const dir = await mkdtemp(join(tmpdir(), 'modelex-bench-payments-'))
const { anvil, chain } = await startLocalChain({ port: await freePort() })
let relay: RelayProcess | undefined
try {
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  const deployment: Deployment = { ...chain, relay: relay.multiaddr }
  await overhead()
  const [quoted, prepaid, cold] = await paths(deployment, relay)
  await gas(deployment)
  if (quoted && prepaid) {
    const p50 = (f: PathFigures) =>
      percentile(
        f.samples.map((s) => s.ttftMs),
        50,
      ).toFixed(1)
    const trips = (f: PathFigures) => count(mean(f.samples.map((s) => s.roundTrips)))
    console.log(
      `\nprepay vs quote: TTFT p50 ${p50(prepaid)} ms vs ${p50(quoted)} ms, round trips ${trips(prepaid)} vs ${trips(quoted)}`,
    )
    if (cold)
      console.log(
        `node kept warm vs a stream opened per request (prepay path): TTFT p50 ${p50(prepaid)} ms vs ${p50(cold)} ms`,
      )
  }
} finally {
  await relay?.process.stop()
  await anvil.stop()
  await rm(dir, { recursive: true, force: true })
}
