/**
 * Async jobs on the real relay (child process) and the integration suite's anvil, with the production provider
 * service (in-memory engine) and SDK: a consumer posts a job, the provider claims it, the consumer accepts with a
 * voucher and goes offline, the provider runs it and keeps the result, the consumer comes back (a new client from the
 * same store and wallet), fetches the result with a valid receipt, and the chain moves exactly the receipt's cost.
 * Live requests come first; a job past its deadline is never run; forged jobs and claims are refused.
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, createWalletClient, http, parseEther, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { readContract } from 'viem/actions'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { getChannel } from '../chain/actions/getChannel.ts'
import { DEVNET_PARAMETERS } from '../chain/constants.ts'
import { aiTokenAbi } from '../chain/generated.ts'
import { createClient, type ModelexClient } from '../client/index.ts'
import { JobRefusedError } from '../core/errors/jobs.ts'
import { fetchHashOf, signClaim, signJob, type JobOffer } from '../core/jobs.ts'
import { requestHash } from '../core/payment.ts'
import { createQuote, settleCost } from '../core/quote.ts'
import { createMemoryEngine } from '../engine/memory/memory-engine.ts'
import { askJobs, publishJob } from '../p2p/jobs.ts'
import { createModelexNode, type ModelexNode } from '../p2p/node.ts'
import { createPeer } from '../p2p/peer.ts'
import { TEST_MODEL, until } from '../p2p/testing.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import type { KeyValueStore } from '../store/kv.ts'
import { memoryStore } from '../store/payments.ts'
import { createProviderService, type ProviderService } from './provider.ts'
import { registerProvider } from './register.ts'
import { fundAccount, TEST_PRICES } from './testing.ts'

const deployment = inject('deployment')
const transport = http(deployment.rpcUrl)
const publicClient = createPublicClient({ transport, pollingInterval: 50 })
const token = deployment.contracts.AIToken as Address
const channels = deployment.contracts.PaymentChannels as Address
/** Job prices: half the live ones. */
const JOB_PRICES = {
  pricePerMillionInput: TEST_PRICES.pricePerMillionInput / 2n,
  pricePerMillionOutput: TEST_PRICES.pricePerMillionOutput / 2n,
}

let dir: string
let relay: RelayProcess
const stops: (() => Promise<void>)[] = []
const balanceOf = (address: Address) =>
  readContract(publicClient, { address: token, abi: aiTokenAbi, functionName: 'balanceOf', args: [address] })

type JobsProvider = { service: ProviderService; peerId: string; operator: Address; signer: Address }

/** A registered provider (production service, in-memory engine) with async jobs on at `JOB_PRICES`. */
async function startJobsProvider(tokenDelayMs: number): Promise<JobsProvider> {
  const operator = privateKeyToAccount(generatePrivateKey())
  const signerKey = generatePrivateKey()
  const signer = { privateKey: signerKey, address: privateKeyToAccount(signerKey).address }
  await fundAccount(deployment, operator.address, DEVNET_PARAMETERS.minStake)
  await fundAccount(deployment, signer.address, 0n)
  const peer = await createPeer({ relays: [relay.multiaddr], node: { runtime: 'node' } })
  stops.push(() => peer.stop())
  await peer.node.waitForReservation(15_000)
  const engine = createMemoryEngine({ tokenDelayMs })
  await engine.load(TEST_MODEL)
  await registerProvider(createWalletClient({ account: operator, transport, pollingInterval: 50 }), publicClient, {
    deployment,
    signer: privateKeyToAccount(signerKey),
    peerId: peer.node.peerId.toString(),
    models: [TEST_MODEL.contentHash],
    prices: TEST_PRICES,
    stake: DEVNET_PARAMETERS.minStake,
  })
  const service = createProviderService(
    { peer, engine, deployment, transport: http(deployment.rpcUrl, { retryCount: 0 }), store: memoryStore() },
    {
      signer,
      operator: operator.address,
      prices: TEST_PRICES,
      batch: { maxReceipts: 100, maxAgeMs: 60 * 60_000 },
      redeemThreshold: 10n ** 30n,
      tickMs: 100,
      closeWatchMs: 100,
      announceIntervalMs: 1_000,
      jobs: { enabled: true, prices: JOB_PRICES, sweepMs: 100 },
    },
  )
  await service.start()
  stops.push(() => service.stop())
  return { service, peerId: peer.node.peerId.toString(), operator: operator.address, signer: signer.address }
}

type Consumer = {
  client: ModelexClient
  wallet: ReturnType<typeof createWalletClient>
  store: KeyValueStore
  address: Address
}

async function startConsumer(reuse?: Omit<Consumer, 'client'>): Promise<Consumer> {
  const account = reuse
    ? (reuse.wallet.account as ReturnType<typeof privateKeyToAccount>)
    : privateKeyToAccount(generatePrivateKey())
  if (!reuse) await fundAccount(deployment, account.address, parseEther('100'))
  const wallet = reuse?.wallet ?? createWalletClient({ account, transport, pollingInterval: 50 })
  const store = reuse?.store ?? memoryStore()
  const client = createClient({
    deployment,
    wallet: wallet as never,
    store,
    relay: relay.multiaddr,
    models: [{ id: TEST_MODEL.id, contentHash: TEST_MODEL.contentHash }],
    channelDeposit: parseEther('1'),
    finishAfterIdleMs: null,
  })
  stops.push(() => client.stop())
  await client.start()
  await (client.p2p as ModelexNode).waitForReservation(15_000)
  return { client, wallet, store, address: account.address }
}

const jobRequest = (content: string, max_tokens = 16) => ({
  model: TEST_MODEL.id,
  messages: [{ role: 'user' as const, content }],
  max_tokens,
  temperature: 0,
  seed: 3,
})
const jobOptions = (deadlineInMs = 60_000) => ({
  deadline: Date.now() + deadlineInMs,
  maxPricePerMillionIn: JOB_PRICES.pricePerMillionInput,
  maxPricePerMillionOut: JOB_PRICES.pricePerMillionOutput,
  collectMs: 300,
})

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-jobs-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
})

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('async jobs (integration)', () => {
  it('a consumer posts a job and goes offline; it comes back, fetches the result with a valid receipt, and the chain moves exactly its cost', async () => {
    const provider = await startJobsProvider(5)
    const first = await startConsumer()
    const handle = await first.client.jobs.post(jobRequest('summarise the quarter while I am away'), jobOptions())
    expect(handle.published).toBeGreaterThan(0)
    await until(
      () => handle.status() === 'accepted',
      30_000,
      'the provider to claim the job and the consumer to accept it',
    )
    const [claim] = handle.claims()
    expect(claim?.quote.node).toBe(provider.operator)
    // Claimed at the job prices, below the live ones.
    expect(claim?.quote.pricePerMillionOutput).toBe(JOB_PRICES.pricePerMillionOutput)
    expect(JOB_PRICES.pricePerMillionOutput < TEST_PRICES.pricePerMillionOutput).toBe(true)
    // The consumer goes offline before it has the result.
    await first.client.stop()
    await until(() => provider.service.jobs?.stats().done === 1, 30_000, 'the provider to run the job')
    const away = (await first.client.jobs.list()).find((j) => j.id === handle.id)
    expect(away?.status).toBe('accepted')

    // Back: a new client from the same store and wallet fetches what was delivered meanwhile.
    const back = await startConsumer(first)
    const delivered = await back.client.jobs.fetch()
    const result =
      delivered.find((r) => r.jobId === handle.id) ??
      (await back.client.jobs.list()).find((j) => j.id === handle.id)?.result
    expect(result).toBeDefined()
    if (!result) return
    expect(result.receipt.receipt.nodeSigner).toBe(provider.signer)
    expect(result.receipt.receipt.requestHash).toBe(requestHash(handle.job.request))
    expect(result.cost).toBe(settleCost(result.quote, result.usage.completion_tokens))
    expect(result.text.length).toBeGreaterThan(0)
    const channel = (await back.client.channels())[provider.operator.toLowerCase()]
    expect(channel?.settled).toBe(result.cost)
    expect(channel?.jobs ?? []).toEqual([])
    expect((await back.client.receipts()).some((r) => r.receipt.receiptHash === result.receipt.receiptHash)).toBe(true)

    // The money: a final voucher for the settled total, then the node redeems exactly the receipt's cost.
    await back.client.finish({ operator: provider.operator, peer: provider.peerId, signer: provider.signer })
    const before = await balanceOf(provider.operator)
    const paid = await provider.service.redeemNow()
    expect(paid).toBe(result.cost)
    expect((await balanceOf(provider.operator)) - before).toBe(result.cost)
    const onChain = await getChannel(publicClient, { channels, channelId: channel?.channelId as bigint })
    expect(onChain.redeemed).toBe(result.cost)
  })

  it('live requests come first; a job past its deadline is never run and costs nothing', async () => {
    const provider = await startJobsProvider(50)
    const live = await startConsumer()
    const poster = await startConsumer()
    // A long live request keeps the provider busy until it is cancelled.
    const cancel = new AbortController()
    const stream = await live.client.chat.completions.create({
      model: TEST_MODEL.id,
      messages: [{ role: 'user', content: 'a long live answer' }],
      max_tokens: 2_000,
      stream: true,
      node: provider.peerId,
      signal: cancel.signal,
    })
    const reading = (async () => {
      for await (const _chunk of stream) void _chunk
    })().catch(() => {})
    await until(() => provider.service.server.stats().active === 1, 20_000, 'the live request to run')

    const short = await poster.client.jobs.post(jobRequest('expires while the node is busy'), {
      ...jobOptions(11_000),
      autoAccept: false,
    })
    const long = await poster.client.jobs.post(jobRequest('waits for an idle moment'), {
      ...jobOptions(120_000),
      autoAccept: false,
    })
    // Providers of the tests before are still online and idle: accept this one's claims.
    const ours = (handle: typeof short) => handle.claims().find((c) => c.quote.node === provider.operator)
    await until(
      () => ours(short) !== undefined && ours(long) !== undefined,
      30_000,
      'the busy provider to claim both jobs',
    )
    await short.accept(ours(short))
    await long.accept(ours(long))
    expect([short.status(), long.status()]).toEqual(['accepted', 'accepted'])
    // Accepted, waiting behind the live request.
    expect(provider.service.jobs?.stats()).toMatchObject({ running: false, done: 0 })
    await until(() => provider.service.jobs?.stats().expired === 1, 30_000, 'the short job to expire unrun')
    expect(provider.service.jobs?.stats().done).toBe(0)
    expect(provider.service.server.stats().active).toBe(1)

    cancel.abort()
    await reading
    await until(() => provider.service.jobs?.stats().done === 1, 30_000, 'the waiting job to run once the node is idle')
    expect(provider.service.jobs?.stats().expired).toBe(1)

    const result = await long.result({ pollMs: 100 })
    expect(result.receipt.receipt.requestHash).toBe(requestHash(long.job.request))
    await expect(short.result({ pollMs: 100 })).rejects.toMatchObject({
      name: 'JobNotDeliveredError',
      reason: 'expired',
    })
    // The expired job left the undelivered list for the interrupted requests; only the delivered one is settled.
    const channel = (await poster.client.channels())[provider.operator.toLowerCase()]
    expect(channel?.settled).toBe(result.cost)
    expect(channel?.jobs ?? []).toEqual([])
    expect(channel?.interrupted?.map((r) => r.requestHash)).toContain(requestHash(short.job.request))
  })

  it('refuses forged jobs, forged claims, acceptances of claims it did not issue, and fetches without the secret', async () => {
    const provider = await startJobsProvider(0)
    const victim = await startConsumer()
    const node = await createModelexNode({ relays: [relay.multiaddr], runtime: 'node' })
    stops.push(() => node.stop())
    await node.start()
    await node.waitForReservation(15_000)
    const forger = privateKeyToAccount(generatePrivateKey())
    const offer = (over: Partial<JobOffer> = {}): JobOffer => ({
      v: 1,
      chainId: deployment.chainId,
      consumer: victim.address,
      peerId: node.peerId.toString(),
      modelHash: TEST_MODEL.contentHash,
      request: { kind: 'chat', ...jobRequest('forged') },
      maxPricePerMillionInput: JOB_PRICES.pricePerMillionInput,
      maxPricePerMillionOutput: JOB_PRICES.pricePerMillionOutput,
      createdAt: Date.now(),
      deadline: Date.now() + 60_000,
      nonce: 1,
      ...over,
    })

    // A job in the victim's name signed by another key: the relay rejects it and no node claims it.
    const claimedBefore = provider.service.jobs?.stats().claimed ?? 0
    await publishJob(node, await signJob(forger, offer()), { timeoutMs: 5_000 })
    await until(
      async () => ((await relay.metrics())['jobs'] as { rejected: number } | undefined)?.rejected === 1,
      10_000,
      'the relay to reject the forged job',
    )
    // A genuine job posted after it is claimed: gossip works, and the forgery was never claimed.
    const genuine = await victim.client.jobs.post(jobRequest('genuine'), { ...jobOptions(), autoAccept: false })
    // (Providers of the tests before are still online and claim it too.)
    const ours = () => genuine.claims().find((c) => c.quote.node === provider.operator)
    await until(() => ours() !== undefined, 30_000, 'the claim on the genuine job')
    expect(provider.service.jobs?.stats().claimed).toBe(claimedBefore + 1)

    // A claim on the victim's job from a key the registry does not know: refused by the consumer.
    const job = genuine.job
    const quote = createQuote({
      model: TEST_MODEL.id,
      modelHash: TEST_MODEL.contentHash,
      inputTokens: 4,
      maxTokens: 16,
      ...JOB_PRICES,
      node: forger.address,
      signer: forger.address,
      chainId: deployment.chainId,
    })
    const forgedClaim = await signClaim(forger, {
      v: 1,
      jobId: job.id,
      peerId: node.peerId.toString(),
      quote,
      acceptBy: Date.now() + 30_000,
    })
    await expect(
      askJobs(node, (victim.client.p2p as ModelexNode).peerId.toString(), { type: 'claim', claim: forgedClaim }),
    ).rejects.toBeInstanceOf(JobRefusedError)
    expect(genuine.claims().some((c) => c.quote.node === forger.address)).toBe(false)

    // An acceptance of a claim the provider never issued: refused before any voucher is looked at.
    const payment = {
      v: 1,
      chainId: deployment.chainId,
      channels,
      channelId: '1',
      cumulativeAmount: '1',
      signature: `0x${'11'.repeat(65)}`,
    }
    await expect(
      askJobs(node, provider.peerId, {
        type: 'accept',
        job,
        claim: forgedClaim,
        payment,
        fetchHash: fetchHashOf(`0x${'01'.repeat(32)}`),
      }),
    ).rejects.toMatchObject({ code: 'unknown-claim' })

    // Accepted for real, then fetched by someone who knows the (public) job id but not the secret.
    await genuine.accept(ours())
    await genuine.result({ pollMs: 100 })
    await expect(
      askJobs(node, provider.peerId, { type: 'fetch', jobId: job.id, secret: `0x${'02'.repeat(32)}` as Hex }),
    ).rejects.toMatchObject({ code: 'forbidden' })
  })
})
