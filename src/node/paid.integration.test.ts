/**
 * The paid journey in Node over the real relay (child process) and the real anvil of the integration suite: a
 * provider service with the in-memory engine registers and goes online; the SDK finds it, gets its quote, opens a
 * channel, sends three prompts and verifies three receipts; the provider anchors the batch and redeems; the chain's
 * balances move by exactly the receipts' total and every receipt's inclusion proof verifies on-chain. Then the
 * refusals (no payment, replayed, forged, cross-chain vouchers) and a provider that dies mid-stream.
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createPublicClient,
  createWalletClient,
  custom,
  http,
  parseEther,
  parseEventLogs,
  type Address,
  type Hex,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { getLogs, readContract } from 'viem/actions'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startChannelClose } from '../chain/actions/startChannelClose.ts'
import { aiTokenAbi, receiptAnchorAbi } from '../chain/generated.ts'
import { createClient, type CreateClientParameters, type ModelexClient, type PaidResult } from '../client/index.ts'
import { InferRequestError } from '../core/errors/p2p.ts'
import { PaidRequestInterruptedError } from '../core/errors/payments.ts'
import { encodePayment } from '../core/payment.ts'
import { voucherTypedData } from '../core/voucher.ts'
import { infer } from '../p2p/infer-client.ts'
import type { ModelexNode } from '../p2p/node.ts'
import { TEST_MODEL, until } from '../p2p/testing.ts'
import { freePort } from '../server/lib/ports.ts'
import { tcpLine } from '../server/testing/tcp-line.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import type { KeyValueStore } from '../store/kv.ts'
import { memoryStore } from '../store/payments.ts'
import {
  completionRecordingEngine,
  fundAccount,
  startPaidProvider as startTestProvider,
  TEST_PRICES,
  type PaidProvider,
  type PaidProviderParameters,
} from './testing.ts'

const deployment = inject('deployment')
const transport = http(deployment.rpcUrl)
const publicClient = createPublicClient({ transport, pollingInterval: 50 })
const token = deployment.contracts.AIToken as Address
const channels = deployment.contracts.PaymentChannels as Address
const prices = TEST_PRICES

let dir: string
let relay: RelayProcess
const stops: (() => Promise<void>)[] = []

const fund = (address: Address, ai: bigint) => fundAccount(deployment, address, ai)

const balanceOf = (address: Address) =>
  readContract(publicClient, { address: token, abi: aiTokenAbi, functionName: 'balanceOf', args: [address] })

async function startPaidProvider(
  options: Omit<PaidProviderParameters, 'deployment' | 'relay'> = {},
): Promise<PaidProvider> {
  const provider = await startTestProvider({ deployment, relay: relay.multiaddr, ...options })
  stops.push(() => provider.stop())
  return provider
}

async function startConsumerClient(
  reuse?: {
    wallet: ReturnType<typeof createWalletClient>
    store: KeyValueStore
  },
  options: Pick<CreateClientParameters, 'keepWarmMs' | 'rpc'> = {},
): Promise<{
  client: ModelexClient
  address: Address
  wallet: ReturnType<typeof createWalletClient>
  store: KeyValueStore
}> {
  const account = reuse
    ? (reuse.wallet.account as ReturnType<typeof privateKeyToAccount>)
    : privateKeyToAccount(generatePrivateKey())
  if (!reuse) await fund(account.address, parseEther('100'))
  const wallet = reuse?.wallet ?? createWalletClient({ account, transport, pollingInterval: 50 })
  const store = reuse?.store ?? memoryStore()
  const client = createClient({
    deployment,
    wallet: wallet as never,
    store,
    relay: relay.multiaddr,
    models: [{ id: TEST_MODEL.id, contentHash: TEST_MODEL.contentHash as `0x${string}` }],
    channelDeposit: parseEther('1'),
    ...options,
  })
  stops.push(() => client.stop())
  return { client, address: account.address, wallet, store }
}

/** A line to anvil that can be cut and restored: the provider's RPC goes down for real. */
const rpcLine = () => tcpLine(deployment.rpcUrl)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-paid-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
})

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('paid prompts (integration)', () => {
  it('quotes, pays, streams, verifies, anchors and redeems: balances move by exactly the receipts', async () => {
    const provider = await startPaidProvider()
    const { client, address: consumer } = await startConsumerClient()
    const nodes = await client.nodes({ model: TEST_MODEL.id })
    expect(nodes.map((n) => n.peerId)).toContain(provider.node.peerId.toString())
    const node = provider.node.peerId.toString()

    const { quote } = await client.quote({
      model: TEST_MODEL.id,
      messages: [{ role: 'user', content: 'one two three' }],
      max_tokens: 12,
      node,
    })
    expect(quote.inputTokens).toBeGreaterThan(0)
    expect(quote.maxCost).toBe(
      (BigInt(quote.inputTokens) * prices.pricePerMillionInput + 12n * prices.pricePerMillionOutput + 999_999n) /
        1_000_000n,
    )

    const operatorBefore = await balanceOf(provider.operator)
    const consumerBefore = await balanceOf(consumer)

    const results: PaidResult[] = []
    const streamed = await client.chat.completions.create({
      model: TEST_MODEL.id,
      messages: [{ role: 'user', content: 'first prompt' }],
      max_tokens: 12,
      stream: true,
      node,
    })
    let text = ''
    for await (const chunk of streamed) text += chunk.choices[0]?.delta.content ?? ''
    results.push(await streamed.result)
    expect(results[0]?.text).toBe(text)
    const second = await client.chat.completions.create({
      model: TEST_MODEL.id,
      messages: [{ role: 'user', content: 'second prompt, a bit longer' }],
      max_tokens: 8,
      node,
    })
    results.push(second.modelex)
    const third = await client.completions.create({ model: TEST_MODEL.id, prompt: 'third', max_tokens: 5, node })
    results.push(third.modelex)

    for (const r of results) {
      expect(r.receipt.receipt.cost).toBe(r.cost)
      expect(r.cost <= r.quote.maxCost).toBe(true)
      expect(r.receipt.receipt.nodeSigner).toBe(provider.signer)
    }
    const total = results.reduce((sum, r) => sum + r.cost, 0n)
    expect(results.at(-1)?.receipt.receipt.cumulativePaid).toBe(total)

    // Three receipts make a batch (maxReceipts 3): the service anchors it by itself.
    await until(() => provider.service.metrics().batchesAnchored === 1, 20_000, 'the batch to be anchored')
    const paid = await provider.service.redeemNow()
    const credit = results.at(-1)?.credit ?? 0n
    // The node redeems its latest voucher: every receipt plus the consumer's credit (zero when each answer ran to max_tokens).
    expect(paid).toBe(total + credit)
    if (results.every((r) => r.finish_reason === 'length')) expect(credit).toBe(0n)
    expect((await balanceOf(provider.operator)) - operatorBefore).toBe(paid)
    // The consumer paid the deposit into the channel; what left the channel is exactly what the node got.
    const channel = (await client.channels())[provider.operator.toLowerCase()]
    expect(channel?.settled).toBe(total)
    expect(consumerBefore - (await balanceOf(consumer))).toBe(channel?.deposit)

    for (const r of results) {
      const verification = await client.verify(r)
      expect(verification).toMatchObject({ anchored: true, verified: true })
    }
    expect(provider.service.metrics()).toMatchObject({
      jobsServed: 3,
      receiptsPending: 0,
      batchesAnchored: 1,
      earningsRedeemed: paid,
      earningsPending: 0n,
    })
  }, 120_000)

  it('answers an unpaid request with its quote and refuses replayed, forged and cross-chain vouchers', async () => {
    const provider = await startPaidProvider()
    const { client, wallet } = await startConsumerClient()
    const node = provider.node.peerId.toString()
    const first = await client.chat.completions.create({
      model: TEST_MODEL.id,
      messages: [{ role: 'user', content: 'pay me' }],
      max_tokens: 4,
      node,
    })
    const p2p = client.p2p as ModelexNode
    const request = {
      kind: 'chat' as const,
      model: TEST_MODEL.id,
      messages: [{ role: 'user' as const, content: 'again' }],
      max_tokens: 4,
    }
    const refusal = async (payment: Parameters<typeof encodePayment>[0] | null) => {
      const call = infer(p2p, { peer: node, request, payment: payment === null ? null : encodePayment(payment) })
      try {
        for await (const _ of call) void _
        await call.result
        return 'served'
      } catch (error) {
        expect(error).toBeInstanceOf(InferRequestError)
        expect((error as InferRequestError).code).toBe('PAYMENT_REQUIRED')
        return (error as InferRequestError).details ?? ''
      }
    }
    expect(await refusal(null)).toContain('quote')
    const channelId = first.modelex.channelId
    const held = first.modelex.receipt.receipt.cumulativePaid + first.modelex.credit
    const sign = (cumulativeAmount: bigint, chainId = deployment.chainId, account = wallet.account) =>
      (account as ReturnType<typeof privateKeyToAccount>).signTypedData(
        voucherTypedData({ channelId, cumulativeAmount }, { chainId, verifyingContract: channels }),
      )
    // The same voucher again: it adds nothing, and the credit left does not cover another request.
    expect(
      await refusal({
        chainId: deployment.chainId,
        channels,
        voucher: { channelId, cumulativeAmount: held },
        signature: await sign(held),
      }),
    ).toMatch(/^(replayed|insufficient)/)
    expect(
      await refusal({
        chainId: deployment.chainId,
        channels,
        voucher: { channelId, cumulativeAmount: held - 1n },
        signature: await sign(held - 1n),
      }),
    ).toMatch(/^stale/)
    const stranger = privateKeyToAccount(generatePrivateKey())
    expect(
      await refusal({
        chainId: deployment.chainId,
        channels,
        voucher: { channelId, cumulativeAmount: held + 10n ** 16n },
        signature: await sign(held + 10n ** 16n, deployment.chainId, stranger),
      }),
    ).toMatch(/^forged/)
    expect(
      await refusal({
        chainId: 1,
        channels,
        voucher: { channelId, cumulativeAmount: held + 10n ** 16n },
        signature: await sign(held + 10n ** 16n, 1),
      }),
    ).toMatch(/^wrong-chain/)
    expect(
      await refusal({
        chainId: deployment.chainId,
        channels,
        voucher: { channelId, cumulativeAmount: parseEther('1000') },
        signature: await sign(parseEther('1000')),
      }),
    ).toMatch(/^over-deposit/)
    expect(provider.service.metrics().jobsServed).toBe(1)
  }, 120_000)

  it('a provider that dies mid-stream leaves the consumer its partial text, a typed error and its credit; the node keeps a redeemable voucher', async () => {
    const provider = await startPaidProvider({ tokenDelayMs: 50 })
    const { client } = await startConsumerClient()
    const node = provider.node.peerId.toString()
    const stream = await client.chat.completions.create({
      model: TEST_MODEL.id,
      messages: [{ role: 'user', content: 'long answer please' }],
      max_tokens: 200,
      stream: true,
      node,
    })
    let text = ''
    let error: unknown
    try {
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? ''
        if (text.length > 10 && provider.node.libp2p.status === 'started') void provider.node.stop()
      }
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(PaidRequestInterruptedError)
    const interrupted = error as PaidRequestInterruptedError
    expect(interrupted.text).toBe(text)
    expect(interrupted.text.length).toBeGreaterThan(0)
    const channel = (await client.channels())[provider.operator.toLowerCase()]
    expect(interrupted.credit).toBe((channel?.signed ?? 0n) - (channel?.settled ?? 0n))
    expect(interrupted.credit > 0n).toBe(true)
    // The node holds the voucher that covered the quote: it can redeem it even though the consumer got no receipt.
    expect(await provider.service.redeemNow()).toBe(channel?.signed)
  }, 120_000)

  it('anchoring retries while the RPC is down and anchors every receipt exactly once when it is back', async () => {
    const line = await rpcLine()
    stops.push(() => line.close())
    const provider = await startPaidProvider({ rpcUrl: line.url, maxReceipts: 3 })
    const { client } = await startConsumerClient()
    const node = provider.node.peerId.toString()
    // The next block: the latest one may hold an earlier test's anchor.
    const fromBlock = (await publicClient.getBlockNumber()) + 1n
    const ask = (content: string) =>
      client.chat.completions.create({
        model: TEST_MODEL.id,
        messages: [{ role: 'user', content }],
        max_tokens: 4,
        node,
      })
    const results = [(await ask('while the chain is up')).modelex]
    await line.cut()
    results.push((await ask('rpc down 1')).modelex, (await ask('rpc down 2')).modelex)
    await until(() => provider.service.metrics().lastError !== null, 10_000, 'a failed anchoring attempt')
    expect(provider.service.metrics()).toMatchObject({ batchesAnchored: 0, receiptsPending: 3 })
    await line.restore()
    await until(() => provider.service.metrics().batchesAnchored === 1, 40_000, 'anchoring after the RPC is back')
    await provider.service.anchorNow()
    const logs = await getLogs(publicClient, {
      address: deployment.contracts.ReceiptAnchor as Address,
      fromBlock,
      toBlock: 'latest',
    })
    const anchored = parseEventLogs({ abi: receiptAnchorAbi, eventName: 'RootAnchored', logs }).filter(
      (l) => l.args.operator === provider.operator,
    )
    expect(anchored).toHaveLength(1)
    const batch = provider.service.batches()[0]
    expect(batch?.receiptHashes.sort()).toEqual(results.map((r) => r.receipt.receiptHash.toLowerCase() as Hex).sort())
    for (const r of results) expect(await client.verify(r)).toMatchObject({ anchored: true, verified: true })
  }, 120_000)

  it('channel state, vouchers and receipts survive a restart of both sides', async () => {
    const provider = await startPaidProvider({ maxReceipts: 10 })
    const consumer = await startConsumerClient()
    const node = provider.node.peerId.toString()
    const ask = (client: ModelexClient, content: string) =>
      client.chat.completions.create({
        model: TEST_MODEL.id,
        messages: [{ role: 'user', content }],
        max_tokens: 6,
        node,
      })
    const first = (await ask(consumer.client, 'before the restart')).modelex
    await consumer.client.stop()
    const restarted = await provider.restart()
    expect(restarted.metrics()).toMatchObject({ jobsServed: 1, receiptsPending: 1 })
    expect((await restarted.receipt(first.receipt.receiptHash))?.receipt.cost).toBe(first.cost)
    // A new client on the same store and wallet: same channel, history continues (the node's restored ledger agrees).
    const again = await startConsumerClient({ wallet: consumer.wallet, store: consumer.store })
    expect((await again.client.receipts()).map((r) => r.receipt.receiptHash)).toEqual([first.receipt.receiptHash])
    const second = (await ask(again.client, 'after the restart')).modelex
    expect(second.channelId).toBe(first.channelId)
    expect(second.receipt.receipt.cumulativePaid).toBe(first.cost + second.cost)
    await restarted.anchorNow()
    expect(restarted.metrics()).toMatchObject({ jobsServed: 2, receiptsPending: 0, batchesAnchored: 1 })
    expect(await again.client.verify(second)).toMatchObject({ anchored: true, verified: true })
  }, 120_000)

  it('redeems by itself once the held voucher would pay the threshold', async () => {
    const provider = await startPaidProvider({ redeemThreshold: 1n })
    const { client } = await startConsumerClient()
    const answer = (
      await client.chat.completions.create({
        model: TEST_MODEL.id,
        messages: [{ role: 'user', content: 'auto redeem' }],
        max_tokens: 3,
        node: provider.node.peerId.toString(),
      })
    ).modelex
    await until(() => provider.service.metrics().earningsRedeemed > 0n, 10_000, 'the automatic redemption')
    expect(provider.service.metrics()).toMatchObject({
      earningsRedeemed: answer.cost + answer.credit,
      earningsPending: 0n,
    })
  }, 60_000)

  it('automatic choice skips a node that left since its last announcement and is served by the next one', async () => {
    const cheap = await startPaidProvider({ prices: { pricePerMillionInput: 1n, pricePerMillionOutput: 1n } })
    const other = await startPaidProvider()
    const { client } = await startConsumerClient()
    const gone = cheap.node.peerId.toString()
    await until(
      async () => {
        const listed = (await client.nodes({ model: TEST_MODEL.id })).map((e) => e.peerId)
        return listed.includes(gone) && listed.includes(other.node.peerId.toString())
      },
      20_000,
      'both providers to be listed',
    )
    // The cheapest node goes away; the directory still lists it until its announcements are missed.
    await cheap.stop()
    expect((await client.nodes({ model: TEST_MODEL.id }))[0]?.peerId).toBe(gone)
    const answer = (
      await client.chat.completions.create({
        model: TEST_MODEL.id,
        messages: [{ role: 'user', content: 'anyone there?' }],
        max_tokens: 3,
      })
    ).modelex
    expect(answer.peer).not.toBe(gone)
    expect(answer.receipt.receipt.cost).toBe(answer.cost)
  }, 60_000)

  it('reproducible: false sends no seed, so the node may reuse its cache of this consumer; by default every request is seeded', async () => {
    const { engine, asked } = await completionRecordingEngine()
    const provider = await startPaidProvider({ engine })
    const { client } = await startConsumerClient()
    const node = provider.node.peerId.toString()
    const ask = async (options: { reproducible?: boolean; seed?: number }) => {
      const answer = await client.completions.create({
        model: TEST_MODEL.id,
        prompt: 'def add(a, b):\n    return',
        max_tokens: 3,
        temperature: 0,
        node,
        ...options,
      })
      // Paid and receipted either way; only the unseeded answer is not a deterministic one.
      expect(answer.modelex.receipt.receipt.cost).toBe(answer.modelex.cost)
      return answer.modelex.receipt.receipt.deterministic
    }
    expect(await ask({})).toBe(true)
    expect(await ask({ reproducible: false })).toBe(false)
    expect(await ask({ reproducible: false, seed: 7 })).toBe(true)
    expect(asked).toEqual([
      { seed: expect.any(Number), reusePrefix: false },
      { seed: undefined, reusePrefix: true },
      { seed: 7, reusePrefix: false },
    ])
  }, 60_000)

  it('keeps the node that answered warm: the next request goes out on a stream opened ahead, with the same answer; keepWarmMs null opens a stream per request', async () => {
    const provider = await startPaidProvider()
    const node = provider.node.peerId.toString()
    const ask = async (client: ModelexClient) => {
      const answer = await client.chat.completions.create({
        model: TEST_MODEL.id,
        messages: [{ role: 'user', content: 'warm?' }],
        max_tokens: 4,
        temperature: 0,
        seed: 1,
        node,
      })
      return { text: answer.choices[0]?.message.content, warm: answer.modelex.transport.warm }
    }
    const { client } = await startConsumerClient()
    const first = await ask(client)
    expect(first.warm).toBe(false) // nothing was warm before the first answer
    const second = await ask(client)
    expect(second).toEqual({ text: first.text, warm: true })

    const { client: cold } = await startConsumerClient(undefined, { keepWarmMs: null })
    expect(await ask(cold)).toEqual({ text: first.text, warm: false })
    expect(await ask(cold)).toEqual({ text: first.text, warm: false })
  }, 60_000)

  it('reads its channel from the chain once, not before every voucher; a channel closed behind its back is refused by the node, read again and replaced, and the request is paid once more', async () => {
    const provider = await startPaidProvider()
    const node = provider.node.peerId.toString()
    // The consumer's RPC, counting its calls to the payment channels contract.
    const base = http(deployment.rpcUrl)({})
    const channelCalls: string[] = []
    const rpc = custom({
      async request(args: { method: string; params?: unknown }) {
        const call = args.method === 'eth_call' ? (args.params as [{ to?: string; data?: string }])[0] : undefined
        if (call?.to?.toLowerCase() === channels.toLowerCase()) channelCalls.push(call.data?.slice(0, 10) ?? '')
        return base.request(args as never)
      },
    })
    const { client, wallet } = await startConsumerClient(undefined, { rpc })
    const ask = () =>
      client.chat.completions.create({
        model: TEST_MODEL.id,
        messages: [{ role: 'user', content: 'channel?' }],
        max_tokens: 4,
        temperature: 0,
        seed: 1,
        node,
        prepay: true,
      })
    const first = await ask() // opens the channel
    await ask() // reads it once
    const read = channelCalls.length
    expect(read).toBeGreaterThan(0)
    const third = await ask()
    expect(channelCalls.length).toBe(read) // nothing read before this voucher
    expect(third.modelex.channelId).toBe(first.modelex.channelId)

    // The same wallet starts closing the channel elsewhere; once the node has seen it, it refuses vouchers on it.
    const channelId = first.modelex.channelId
    await startChannelClose(wallet as never, { channels, channelId })
    await until(
      () => provider.service.closingChannels().some((book) => book.channelId === channelId),
      30_000,
      'the node to see the channel closing',
    )
    const refusedBefore = provider.service.metrics().paymentRefusals
    const fourth = await ask()
    expect(provider.service.metrics().paymentRefusals).toBe(refusedBefore + 1) // the voucher on the cached channel
    expect(channelCalls.length).toBeGreaterThan(read) // read again after the refusal
    expect(fourth.modelex.channelId).not.toBe(channelId) // a new channel
    expect(fourth.choices[0]?.message.content).toBe(first.choices[0]?.message.content)
  }, 90_000)
})
