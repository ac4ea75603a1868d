/**
 * The money path between strangers: each test plays one attack from the "safe between strangers" issue against the
 * honest SDK or provider, on a real anvil chain and a real relay, with a malicious peer built from the real code
 * with one rule broken (`peers.ts`). Each records what the honest side lost in AI wei against what the issue allows
 * (`outcomes.ts`); `npm run test:adversarial` prints one line per attack and the total.
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createPublicClient,
  createWalletClient,
  http,
  keccak256,
  parseEther,
  stringToHex,
  type Address,
  type Hex,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount, toAccount } from 'viem/accounts'
import { readContract } from 'viem/actions'
import { afterAll, afterEach, beforeAll, describe, expect, inject, test } from 'vitest'
import { anchorReceipts } from '../chain/actions/anchorReceipts.ts'
import { getChannel } from '../chain/actions/getChannel.ts'
import { proveEquivocation } from '../chain/actions/proveEquivocation.ts'
import { registerNode } from '../chain/actions/registerNode.ts'
import { signSignerBinding } from '../chain/actions/signSignerBinding.ts'
import { startChannelClose } from '../chain/actions/startChannelClose.ts'
import { updateNode } from '../chain/actions/updateNode.ts'
import { DEVNET_PARAMETERS } from '../chain/constants.ts'
import { nodeRegistryAbi } from '../chain/generated.ts'
import { createClient, type ModelexClient } from '../client/client.ts'
import { InferRequestError } from '../core/errors/p2p.ts'
import {
  InvalidQuoteError,
  PaidRequestInterruptedError,
  PaymentRefusedError,
  StreamLimitError,
} from '../core/errors/payments.ts'
import { decodePayment, encodeSignedReceipt } from '../core/payment.ts'
import type { InferenceEngine, InferenceRequest } from '../core/inference.ts'
import { decodeQuote, settleCost, type Quote } from '../core/quote.ts'
import { hashReceipt, receiptTypedData, type Receipt } from '../core/receipt.ts'
import { highS } from '../core/signature.fixtures.ts'
import { registerProvider } from '../node/register.ts'
import { fundAccount, startPaidProvider, TEST_PRICES, type PaidProvider } from '../node/testing.ts'
import { connectToPeer } from '../p2p/dial.ts'
import { askQuote, infer } from '../p2p/infer-client.ts'
import { peerIdBytes } from '../p2p/registry.ts'
import { startConsumer, TEST_MODEL, until, type Consumer } from '../p2p/testing.ts'
import { freePort } from '../server/lib/ports.ts'
import { startGateway } from '../server/programs/gateway.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { memoryStore } from '../store/payments.ts'
import { recordOutcome } from './outcomes.ts'
import {
  rogueConsumer,
  slowRpc,
  startRogueProvider,
  type RogueProvider,
  type RogueProviderParameters,
} from './peers.ts'

const base = inject('deployment')
const models = [{ id: TEST_MODEL.id, contentHash: TEST_MODEL.contentHash as Hex }]
const model = TEST_MODEL.id
let deployment: typeof base
let dir: string
let relay: RelayProcess
let attacker: Consumer
const stops: (() => Promise<void>)[] = []
/** What one attack started (peers, clients, gateways), stopped after it so attacks do not load each other. */
const cleanups: (() => Promise<void>)[] = []
const transport = () => http(deployment.rpcUrl)
const reader = () => createPublicClient({ transport: transport(), pollingInterval: 50 })

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-adversarial-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  deployment = { ...base, relay: relay.multiaddr }
  attacker = await startConsumer({ relay: relay.multiaddr })
  stops.push(() => attacker.stop())
})

afterEach(async () => {
  for (const stop of cleanups.splice(0).reverse()) await stop().catch(() => {})
})

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  await rm(dir, { recursive: true, force: true })
})

async function honestProvider(options: Partial<Parameters<typeof startPaidProvider>[0]> = {}): Promise<PaidProvider> {
  const p = await startPaidProvider({ deployment, relay: relay.multiaddr, maxReceipts: 100, ...options })
  cleanups.push(() => p.stop())
  return p
}
async function rogueProvider(options: Omit<RogueProviderParameters, 'deployment' | 'relay'>): Promise<RogueProvider> {
  const p = await startRogueProvider({ deployment, relay: relay.multiaddr, ...options })
  cleanups.push(() => p.stop())
  return p
}
async function honestClient(extra: Partial<Parameters<typeof createClient>[0]> = {}): Promise<ModelexClient> {
  const account = privateKeyToAccount(generatePrivateKey())
  await fundAccount(deployment, account.address, parseEther('100'))
  const client = createClient({
    deployment,
    wallet: createWalletClient({ account, transport: transport(), pollingInterval: 50 }),
    models,
    channelDeposit: parseEther('1'),
    ...extra,
  })
  cleanups.push(() => client.stop())
  return client
}
const redeemedOf = async (channelId: bigint) =>
  (await getChannel(reader(), { channels: deployment.contracts.PaymentChannels as Address, channelId })).redeemed
const receiptsValue = async (client: ModelexClient) => (await client.receipts()).reduce((sum, r) => sum + r.cost, 0n)
const completion = (prompt: string, max_tokens: number): InferenceRequest => ({
  kind: 'completion',
  model,
  prompt,
  max_tokens,
  temperature: 0,
  seed: 0,
})
const engineWith = (honest: InferenceEngine, overrides: Partial<InferenceEngine>): InferenceEngine =>
  new Proxy(honest, {
    get: (target, key) => (key in overrides ? overrides[key as keyof InferenceEngine] : Reflect.get(target, key)),
  })

function record(attack: string, outcome: string, lostWei: bigint, allowedWei: bigint): void {
  recordOutcome({ attack, outcome, lostWei, allowedWei })
  expect(lostWei <= allowedWei, `${attack}: lost ${lostWei} wei, allowed ${allowedWei}`).toBe(true)
}

describe('consumer money', () => {
  test('inflated quote: a node counting 2^32 input tokens for a 2-token prompt gets no voucher, by quote or by prepayment', async () => {
    const rogue = await rogueProvider({ engine: (e) => engineWith(e, { countTokens: async () => 2 ** 32 }) })
    const client = await honestClient()
    const node = rogue.node.peerId.toString()
    await expect(client.completions.create({ model, prompt: 'hi', max_tokens: 8, node })).rejects.toThrow(
      InvalidQuoteError,
    )
    // Prepaying the consumer's own bound: the node cannot fit its inflated quote under it and refuses.
    const prepaid = await client.completions
      .create({ model, prompt: 'hi', max_tokens: 8, node, prepay: true })
      .catch((e: unknown) => e)
    expect(prepaid).toBeInstanceOf(InferRequestError)
    const taken = await rogue.redeemAll()
    record(
      'inflated quote (2^32 input tokens)',
      `refused: ${(await client.receipts()).length} receipts, node redeemed ${taken}`,
      taken - (await receiptsValue(client)),
      0n,
    )
  })

  test('inflated quote through the gateway (--route network): the OpenAI client gets a 502, the wallet pays nothing', async () => {
    const rogue = await rogueProvider({ engine: (e) => engineWith(e, { countTokens: async () => 2 ** 32 }) })
    const account = privateKeyToAccount(generatePrivateKey())
    await fundAccount(deployment, account.address, parseEther('1000'))
    const gateway = await startGateway({
      port: 0,
      route: 'network',
      network: {
        deployment,
        wallet: createWalletClient({ account, transport: transport(), pollingInterval: 50 }),
        models,
        store: memoryStore(),
      },
    })
    cleanups.push(() => gateway.close())
    const response = await fetch(`${gateway.url}/v1/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, prompt: 'hi', max_tokens: 8, modelex_node: rogue.node.peerId.toString() }),
    })
    expect(response.status).toBe(502)
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/input tokens quoted/)
    const taken = await rogue.redeemAll()
    record('inflated quote through the gateway', `HTTP ${response.status}; node redeemed ${taken}`, taken, 0n)
  })

  test('prices above the registered ones, or above the consumer maximum, are refused before anything is signed', async () => {
    const rogue = await rogueProvider({
      served: {
        pricePerMillionInput: TEST_PRICES.pricePerMillionInput * 1000n,
        pricePerMillionOutput: TEST_PRICES.pricePerMillionOutput * 1000n,
      },
    })
    const client = await honestClient()
    await expect(
      client.completions.create({ model, prompt: 'hi', max_tokens: 8, node: rogue.node.peerId.toString() }),
    ).rejects.toThrow(/registered/)
    const greedy = await rogueProvider({
      registered: { pricePerMillionInput: parseEther('100'), pricePerMillionOutput: parseEther('100') },
    })
    await expect(
      client.completions.create({ model, prompt: 'hi', max_tokens: 8, node: greedy.node.peerId.toString() }),
    ).rejects.toMatchObject({ name: 'SpendLimitError' })
    const taken = (await rogue.redeemAll()) + (await greedy.redeemAll())
    record(
      'price above registered / above max',
      `refused: ${Object.keys(await client.channels()).length} channels opened`,
      taken,
      0n,
    )
  })

  test('unbounded stream: a node sending past max_tokens is cut at the limit and its receipt refused', async () => {
    const rogue = await rogueProvider({
      engine: (e) =>
        engineWith(e, {
          complete: (request, options) =>
            e.complete({ ...request, max_tokens: (request.max_tokens ?? 16) * 8 }, options),
        }),
      tokenDelayMs: 2,
    })
    const client = await honestClient()
    const node = rogue.node.peerId.toString()
    const { quote } = await client.quote({ model, prompt: 'go on', max_tokens: 8, node })
    const error = await client.completions
      .create({ model, prompt: 'go on', max_tokens: 8, node })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StreamLimitError)
    const kept = (error as StreamLimitError).kept
    const taken = await rogue.redeemAll()
    // It can redeem that one request's voucher (what the consumer authorized); the consumer kept the tokens within
    // max_tokens, so only what it paid beyond their price is lost, and that is bounded by the quote's maximum.
    const value = settleCost(quote, kept)
    record(
      'unbounded stream (8x max_tokens)',
      `cut after ${kept} of ${quote.maxTokens} tokens, receipt refused; node redeemed ${taken}`,
      taken > value ? taken - value : 0n,
      quote.maxCost,
    )
  })

  test('invented settlements: a node refusing every voucher with a receipt it made up cannot ratchet the consumer into signing more', async () => {
    const client = await honestClient()
    const rogue = await rogueProvider({
      // It takes the voucher, serves nothing, and refuses with a signed "receipt" settling all of it.
      policy: (honest, { account, receiptDomain }) => ({
        quote: (context) => honest.quote!(context),
        async admit(context) {
          const admission = await honest.admit(context)
          admission.release()
          const offered = decodePayment(context.payment)
          const receipt: Receipt = {
            requestHash: keccak256(stringToHex(`made up ${offered.voucher.cumulativeAmount}`)),
            outputHash: keccak256(stringToHex('')),
            modelHash: TEST_MODEL.contentHash as Hex,
            nodeSigner: account.address,
            consumer: client.account,
            promptTokens: 0n,
            completionTokens: 0n,
            cost: offered.voucher.cumulativeAmount,
            channelId: offered.voucher.channelId,
            cumulativePaid: offered.voucher.cumulativeAmount,
            timestamp: 1n,
            deterministic: false,
          }
          const signed = {
            receipt,
            receiptHash: hashReceipt(receipt, receiptDomain),
            signature: await account.signTypedData(receiptTypedData(receipt, receiptDomain)),
          }
          throw new PaymentRefusedError({
            details: 'replayed: you are behind',
            settlement: encodeSignedReceipt(signed),
          })
        },
      }),
    })
    const node = rogue.node.peerId.toString()
    // Prepaid (no quote round trips, so the node's quote budget is not what stops the loop).
    const attempt = () =>
      expect(client.completions.create({ model, prompt: 'pay me', max_tokens: 8, node, prepay: true })).rejects.toThrow(
        /not for a request of this consumer/,
      )
    await attempt()
    const first = (await client.channels())[rogue.operator.toLowerCase()]!.signed
    for (let i = 0; i < 3; i++) await attempt()
    expect((await client.channels())[rogue.operator.toLowerCase()]!.signed).toBe(first)
    const taken = await rogue.redeemAll()
    record(
      'invented settlements (x4)',
      `every fake receipt refused; the consumer never signed beyond its first voucher (${first}); node redeemed ${taken}`,
      taken,
      first,
    )
  })

  test('unspent credit: a consumer done with a node hands it a final voucher; the honest node redeems exactly the receipts', async () => {
    const provider = await honestProvider({ tokenDelayMs: 5 })
    const client = await honestClient()
    const node = provider.node.peerId.toString()
    await client.completions.create({ model, prompt: 'one', max_tokens: 6, node })
    const controller = new AbortController()
    const stream = await client.completions.create({
      model,
      prompt: 'two',
      max_tokens: 200,
      node,
      stream: true,
      signal: controller.signal,
    })
    let chunks = 0
    await expect(
      (async () => {
        for await (const _ of stream) if (++chunks === 3) controller.abort()
      })(),
    ).rejects.toThrow(PaidRequestInterruptedError)
    // Done: the final voucher (if the cancel's receipt had been missed, finish catches up with it first).
    const confirmed = await client.finish({ operator: provider.operator, peer: node, signer: provider.signer })
    const channel = (await client.channels())[provider.operator.toLowerCase()]!
    expect(channel.signed - channel.settled).toBeGreaterThan(0n)
    expect(confirmed).toBe(channel.settled)
    await provider.service.redeemNow()
    const redeemed = await redeemedOf(channel.channelId)
    expect(redeemed).toBe(await receiptsValue(client))
    record(
      'unspent credit (cancel, then done)',
      `final voucher redeemed ${redeemed}; credit ${channel.signed - channel.settled} left unredeemed`,
      redeemed - (await receiptsValue(client)),
      0n,
    )
  })
})

describe('provider money and capacity', () => {
  test('malleable vouchers: a consumer signing its vouchers in the other form (high s: valid to viem, refused on-chain) still pays the node', async () => {
    const provider = await honestProvider()
    // The real SDK with one rule broken: its wallet hands out every typed-data signature in the high-s form.
    const key = privateKeyToAccount(generatePrivateKey())
    await fundAccount(deployment, key.address, parseEther('100'))
    const bent = toAccount({
      address: key.address,
      signMessage: (args) => key.signMessage(args),
      signTransaction: (transaction, options) => key.signTransaction(transaction, options),
      signTypedData: async (typedData) => highS(await key.signTypedData(typedData)),
    })
    const client = createClient({
      deployment,
      wallet: createWalletClient({ account: bent, transport: transport(), pollingInterval: 50 }),
      models,
      channelDeposit: parseEther('1'),
    })
    cleanups.push(() => client.stop())
    const node = provider.node.peerId.toString()
    await client.completions.create({ model, prompt: 'one', max_tokens: 6, node })
    await client.completions.create({ model, prompt: 'two', max_tokens: 6, node, prepay: true })
    await client.finish({ operator: provider.operator, peer: node, signer: provider.signer })
    const channel = (await client.channels())[provider.operator.toLowerCase()]!
    await provider.service.redeemNow()
    const owed = await receiptsValue(client)
    const redeemed = await redeemedOf(channel.channelId)
    expect(owed).toBeGreaterThan(0n)
    record(
      'malleable vouchers (high-s signatures)',
      `redeemed ${redeemed} of ${owed} owed`,
      owed > redeemed ? owed - redeemed : 0n,
      0n,
    )
  })

  test('cancel before the receipt: resetting just before done and replaying the voucher is served once and billed', async () => {
    const provider = await honestProvider({ tokenDelayMs: 5 })
    const peer = provider.node.peerId.toString()
    const request = completion('free lunch', 16)
    const quote: Quote = decodeQuote(await askQuote(attacker.node, { peer, request }))
    const rogue = await rogueConsumer(deployment, provider.operator, parseEther('1'))
    const payment = await rogue.payment(quote.maxCost)
    let servedValue = 0n
    let answers = 0
    for (let attempt = 0; attempt < 5; attempt++) {
      let tokens = 0
      try {
        for await (const delta of infer(attacker.node, { peer, request, payment })) {
          tokens += delta.tokens
          if (tokens >= 15) break
        }
      } catch (error) {
        expect(error).toBeInstanceOf(InferRequestError)
        continue
      }
      if (tokens > 0) answers++
      servedValue += settleCost(quote, tokens)
    }
    expect(answers).toBe(1)
    await until(() => provider.service.metrics().active === 0, 5_000, 'the node to settle the cancel')
    await provider.service.redeemNow()
    const paid = await redeemedOf(rogue.channelId)
    const lost = servedValue > paid ? servedValue - paid : 0n
    record(
      'cancel before receipt (reset + replay x5)',
      `${answers} of 5 answered; ${servedValue} worth served, ${paid} redeemed`,
      lost,
      0n,
    )
  })

  test('an honest consumer whose cancel crossed the receipt catches up from the refusal and is served again', async () => {
    const provider = await honestProvider({ tokenDelayMs: 5 })
    const client = await honestClient()
    const node = provider.node.peerId.toString()
    const stream = await client.completions.create({ model, prompt: 'cut', max_tokens: 100, node, stream: true })
    let chunks = 0
    await expect(
      (async () => {
        for await (const _ of stream) if (++chunks === 3) await client.p2p!.libp2p.hangUp(provider.node.peerId)
      })(),
    ).rejects.toThrow(PaidRequestInterruptedError)
    await until(() => provider.service.metrics().active === 0, 5_000, 'the node to settle the reset')
    const again = await client.completions.create({ model, prompt: 'again', max_tokens: 4, node })
    expect(again.modelex.receipt.receipt.cost).toBeGreaterThan(0n)
    const channel = (await client.channels())[provider.operator.toLowerCase()]!
    const nodeSide = provider.service.metrics().earningsSettled
    expect(channel.settled).toBe(nodeSide)
    record('honest cancel crossing the receipt', 'refused once with the missed receipt, caught up, served', 0n, 0n)
  })

  test('concurrent first requests on a fresh channel: one voucher admits one request', async () => {
    // A slow RPC (300 ms a call) keeps every request waiting on the chain at the same time: the race's window.
    const rpc = await slowRpc(deployment.rpcUrl, 300)
    cleanups.push(() => rpc.close())
    const provider = await honestProvider({ tokenDelayMs: 2, rpcUrl: rpc.url })
    const peer = provider.node.peerId.toString()
    const request = completion('all at once', 12)
    const quote = decodeQuote(await askQuote(attacker.node, { peer, request }))
    const rogue = await rogueConsumer(deployment, provider.operator, parseEther('1'))
    const payment = await rogue.payment(quote.maxCost)
    await connectToPeer(attacker.node, peer)
    const results = await Promise.all(
      Array.from({ length: 4 }, async () => {
        let tokens = 0
        try {
          for await (const delta of infer(attacker.node, { peer, request, payment })) tokens += delta.tokens
          return tokens
        } catch (error) {
          return error instanceof InferRequestError ? error.code : String(error)
        }
      }),
    )
    const answered = results.filter((t): t is number => typeof t === 'number')
    expect(answered).toHaveLength(1)
    expect(results.filter((t) => t === 'PAYMENT_REQUIRED')).toHaveLength(3)
    const servedValue = answered.reduce((sum, t) => sum + settleCost(quote, t), 0n)
    await provider.service.redeemNow()
    const paid = await redeemedOf(rogue.channelId)
    record(
      'concurrent first requests (4 on one voucher)',
      `${answered.length} of 4 admitted; ${paid} redeemed`,
      servedValue > paid ? servedValue - paid : 0n,
      0n,
    )
  })

  test('channel closed under the node: the node sees the close, redeems at once and admits nothing more on it', async () => {
    const provider = await honestProvider()
    const peer = provider.node.peerId.toString()
    const request = completion('then close', 8)
    const quote = decodeQuote(await askQuote(attacker.node, { peer, request }))
    const rogue = await rogueConsumer(deployment, provider.operator, parseEther('1'))
    for await (const _ of infer(attacker.node, { peer, request, payment: await rogue.payment(quote.maxCost) })) void _
    await startChannelClose(rogue.wallet, {
      channels: deployment.contracts.PaymentChannels as Address,
      channelId: rogue.channelId,
    })
    await until(() => provider.service.metrics().closingChannels === 1, 10_000, 'the node to see the close')
    const refused = await (async () => {
      try {
        for await (const _ of infer(attacker.node, { peer, request, payment: await rogue.payment(quote.maxCost * 3n) }))
          void _
        return null
      } catch (error) {
        return error as InferRequestError
      }
    })()
    expect(refused?.code).toBe('PAYMENT_REQUIRED')
    await until(
      async () => (await redeemedOf(rogue.channelId)) >= quote.maxCost,
      10_000,
      'the node to redeem the closing channel',
    )
    const settled = provider.service.metrics().earningsSettled
    const paid = await redeemedOf(rogue.channelId)
    record(
      'channel closed under the node',
      `closing seen, ${paid} redeemed at once, next request refused (${refused?.details?.split(':')[0] ?? refused?.code})`,
      settled > paid ? settled - paid : 0n,
      0n,
    )
  })

  test('free quotes as a denial of service: a flood of 200 KiB quote requests from several peers does not starve a paid request', async () => {
    const provider = await honestProvider()
    const peer = provider.node.peerId.toString()
    const client = await honestClient()
    const floodPeers = [
      attacker,
      await startConsumer({ relay: relay.multiaddr }),
      await startConsumer({ relay: relay.multiaddr }),
    ]
    for (const p of floodPeers.slice(1)) cleanups.push(() => p.stop())
    const big = completion('x'.repeat(200 * 1024), 16)
    // Each flooding peer connects first, so the flood reaches the node rather than racing its own dials.
    for (const p of floodPeers) await connectToPeer(p.node, peer)
    const started = performance.now()
    const flood = floodPeers.flatMap((p) =>
      Array.from({ length: 12 }, () =>
        askQuote(p.node, { peer, request: big }).then(
          () => 'quoted',
          (e: { code?: string; name?: string; reason?: string; details?: string }) =>
            e.code ?? `${e.name}:${e.reason}:${e.details?.slice(0, 60)}`,
        ),
      ),
    )
    const paid = await client.completions.create({ model, prompt: 'paying customer', max_tokens: 4, node: peer })
    const ms = Math.round(performance.now() - started)
    const outcomes = await Promise.all(flood)
    const seconds = (performance.now() - started) / 1000
    expect(paid.modelex.receipt.receipt.cost).toBeGreaterThan(0n)
    // The quote budget bounds what the flood got, however the requests spread in time: per peer a burst of 4 and 2/s.
    const quoted = outcomes.filter((o) => o === 'quoted').length
    const budget = floodPeers.length * Math.ceil(4 + 2 * seconds)
    expect(quoted).toBeLessThanOrEqual(budget)
    const tally = Object.entries(
      outcomes.reduce<Record<string, number>>((t, o) => ({ ...t, [o]: (t[o] ?? 0) + 1 }), {}),
    )
      .map(([o, n]) => `${n} ${o}`)
      .join(', ')
    record(
      'free-quote flood (36 x 200 KiB from 3 peers)',
      `${tally} (budget ${budget}); the paid request was served in ${ms} ms`,
      0n,
      0n,
    )
  })
})

describe('contracts', () => {
  const registry = () => deployment.contracts.NodeRegistry as Address
  const anchorAddress = () => deployment.contracts.ReceiptAnchor as Address

  async function registered() {
    const operator = privateKeyToAccount(generatePrivateKey())
    const signer = privateKeyToAccount(generatePrivateKey())
    await fundAccount(deployment, operator.address, DEVNET_PARAMETERS.minStake)
    await fundAccount(deployment, signer.address, 0n)
    const peerId = `12D3KooW${keccak256(stringToHex(operator.address)).slice(2, 46)}`
    await registerProvider(
      createWalletClient({ account: operator, transport: transport(), pollingInterval: 50 }),
      reader(),
      {
        deployment,
        signer,
        peerId,
        models: [TEST_MODEL.contentHash as Hex],
        prices: TEST_PRICES,
        stake: DEVNET_PARAMETERS.minStake,
      },
    )
    return { operator, signer, peerId }
  }

  test('signer rotation does not escape slashing, and a cheater proving itself keeps at most 10%', async () => {
    const { operator, signer, peerId } = await registered()
    const domain = { chainId: deployment.chainId, verifyingContract: anchorAddress() }
    const receipt = (output: string): Receipt => ({
      requestHash: keccak256(stringToHex('same request')),
      outputHash: keccak256(stringToHex(output)),
      modelHash: TEST_MODEL.contentHash as Hex,
      nodeSigner: signer.address,
      consumer: operator.address,
      promptTokens: 1n,
      completionTokens: 1n,
      cost: 1n,
      channelId: 1n,
      cumulativePaid: 1n,
      timestamp: 1n,
      deterministic: true,
    })
    const a = {
      receipt: receipt('one answer'),
      signature: await signer.signTypedData(receiptTypedData(receipt('one answer'), domain)),
    }
    const b = {
      receipt: receipt('another'),
      signature: await signer.signTypedData(receiptTypedData(receipt('another'), domain)),
    }
    // The cheater rotates its signer before anyone proves anything.
    const next = privateKeyToAccount(generatePrivateKey())
    const signerProof = await signSignerBinding(reader(), {
      registry: registry(),
      chainId: deployment.chainId,
      operator: operator.address,
      peerId: peerIdBytes(peerId),
      account: next,
    })
    await updateNode(createWalletClient({ account: operator, transport: transport(), pollingInterval: 50 }), {
      registry: registry(),
      signerProof,
      node: {
        peerId: peerIdBytes(peerId),
        signer: next.address,
        models: [TEST_MODEL.contentHash as Hex],
        pricePerMillionInput: TEST_PRICES.pricePerMillionInput,
        pricePerMillionOutput: TEST_PRICES.pricePerMillionOutput,
        metadataURI: '',
      },
    })
    // It proves its own equivocation from a fresh address, hoping for the prover's reward.
    const accomplice = privateKeyToAccount(generatePrivateKey())
    await fundAccount(deployment, accomplice.address, 0n)
    const { slashed, reward } = await proveEquivocation(
      createWalletClient({ account: accomplice, transport: transport(), pollingInterval: 50 }),
      { anchor: anchorAddress(), a, b },
    )
    expect(slashed).toBe(DEVNET_PARAMETERS.minStake)
    expect(reward * 10n <= slashed).toBe(true)
    record(
      'signer rotation before the proof',
      `slashed ${slashed} after rotation; the self-prover got back ${reward}`,
      0n,
      0n,
    )
  })

  test('signer squatting: binding a signer without its consent reverts', async () => {
    const victim = privateKeyToAccount(generatePrivateKey())
    const squatter = privateKeyToAccount(generatePrivateKey())
    await fundAccount(deployment, squatter.address, DEVNET_PARAMETERS.minStake)
    const peerId = peerIdBytes(`12D3KooWsquat${squatter.address.slice(2, 20)}`)
    const forged = await signSignerBinding(reader(), {
      registry: registry(),
      chainId: deployment.chainId,
      operator: squatter.address,
      peerId,
      account: squatter,
    })
    const error = await registerNode(
      createWalletClient({ account: squatter, transport: transport(), pollingInterval: 50 }),
      {
        token: deployment.contracts.AIToken as Address,
        registry: registry(),
        stake: DEVNET_PARAMETERS.minStake,
        signerProof: forged,
        node: {
          peerId,
          signer: victim.address,
          models: [TEST_MODEL.contentHash as Hex],
          pricePerMillionInput: 1n,
          pricePerMillionOutput: 1n,
          metadataURI: '',
        },
      },
    ).catch((e: unknown) => e)
    expect((error as { errorName?: string }).errorName).toBe('InvalidSignerProof')
    expect(
      await readContract(reader(), {
        address: registry(),
        abi: nodeRegistryAbi,
        functionName: 'slashableOperatorOf',
        args: [victim.address],
      }),
    ).toBe('0x0000000000000000000000000000000000000000')
    record('signer squatting', 'reverted InvalidSignerProof; the signer stays free', 0n, 0n)
  })

  test('anchor front-running: another node anchoring the root first does not take the receipt from its node', async () => {
    const provider = await honestProvider()
    const rogue = await startRogueProvider({ deployment, relay: relay.multiaddr })
    cleanups.push(() => rogue.stop())
    const client = await honestClient()
    const answer = await client.completions.create({
      model,
      prompt: 'anchor me',
      max_tokens: 4,
      node: provider.node.peerId.toString(),
    })
    const rogueSigner = createWalletClient({
      account: rogue.signerAccount,
      transport: transport(),
      pollingInterval: 50,
    })
    await anchorReceipts(rogueSigner, { anchor: anchorAddress(), receiptHashes: [answer.modelex.receipt.receiptHash] })
    await provider.service.anchorNow()
    const verification = await client.verify(answer.modelex)
    expect(verification).toMatchObject({ anchored: true, verified: true })
    record(
      'anchor front-running',
      'the node anchored its own root after the attacker; verify checks the operator: verified',
      0n,
      0n,
    )
  })
})
