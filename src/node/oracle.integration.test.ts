/**
 * Oracle nodes on the real relay (child process) and the integration suite's anvil: three production provider
 * services, each on the app's WebAssembly engine in a headless Chromium page (wllama, the tiny demo model, whose
 * grammar-constrained output is an integer), opt in to the sentiment template (registered for that model) and answer
 * a SentimentConsumer deployed for it:
 *   - a request is answered by all three with commit-reveal; the median lands on-chain, equals the median of the
 *     revealed answers, and is the consumer's score; every node was paid fee / k;
 *   - a node whose RPC line is cut when a request arrives backfills it when the line comes back and still answers;
 *   - a node that is down until the commit deadline passed gets nothing, never answers late (also after it comes
 *     back and backfills), and its share is refunded to the funder;
 *   - a subscription runs rounds 0 and 1 on schedule (opened by the nodes as keepers; anvil's clock moved with
 *     evm_increaseTime, not sleeps); the data set is served by one node and fetched by hash by the others; round 2's
 *     window is empty, every node abstains, the round is finalized as missed and its whole fee is refunded.
 */
import '../server/lib/node-shims.ts'
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  http,
  parseEther,
  type Address,
  type Hex,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { getBlock, readContract, waitForTransactionReceipt } from 'viem/actions'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { cancelScoreSubscription } from '../chain/actions/cancelScoreSubscription.ts'
import { claimScoreRefund } from '../chain/actions/claimScoreRefund.ts'
import { getOracleRequest } from '../chain/actions/getOracleRequest.ts'
import { getRounds } from '../chain/actions/getRounds.ts'
import { getScore } from '../chain/actions/getScore.ts'
import { getTemplateModel, registerTemplate } from '../chain/actions/registerTemplate.ts'
import { requestScore } from '../chain/actions/requestScore.ts'
import { subscribeScore } from '../chain/actions/subscribeScore.ts'
import { aiTokenAbi, oracleRouterAbi } from '../chain/generated.ts'
import { datasetHash, encodeDataset } from '../core/datasets.ts'
import type { ModelSpec } from '../core/inference.ts'
import { DEMO_MODELS } from '../core/models.ts'
import { medianOf } from '../core/oracle-answer.ts'
import { SENTIMENT_TEMPLATE, templateId, type PromptTemplate } from '../core/templates.ts'
import { DEMO_TINY, generateDemoModel } from '../engine/demo-model/generate.ts'
import { until } from '../p2p/testing.ts'
import { ensureChromium, launchChromium } from '../server/lib/chromium.ts'
import { loadArtifact } from '../server/lib/contracts.ts'
import { startFixtureServer, type FixtureServer } from '../server/testing/fixture-server.ts'
import { DEFAULT_MODELS_DIR } from '../server/programs/model-demo.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { tcpLine, type TcpLine } from '../server/testing/tcp-line.ts'
import { createPageEngine } from '../verify/page-engine.ts'
import type { OracleJob } from './oracle.ts'
import { fundAccount, startPaidProvider, type PaidProvider } from './testing.ts'

const deployment = inject('deployment')
const transport = http(deployment.rpcUrl)
const reader = createPublicClient({ transport, pollingInterval: 50 })
const testClient = createTestClient({ mode: 'anvil', transport })
const token = deployment.contracts.AIToken as Address
const router = deployment.contracts.OracleRouter as Address
const TINY = DEMO_MODELS.find((m) => m.id === DEMO_TINY.name) as ModelSpec & { contentHash: Hex }
/** The sentiment template, registered here for the tiny demo model (a template's on-chain id names one model). */
const TEMPLATE: PromptTemplate = { ...SENTIMENT_TEMPLATE, models: [{ id: TINY.id, contentHash: TINY.contentHash }] }
const TEMPLATE_HASH = templateId(TEMPLATE)
const FEE = parseEther('3')
const DAY = 86_400

let dir: string
let relay: RelayProcess
let fixtures: FixtureServer
let browser: Browser
let line: TcpLine
let consumer: Address
const providers: PaidProvider[] = []
const stops: (() => Promise<unknown>)[] = []
const funder = privateKeyToAccount(generatePrivateKey())
const wallet = createWalletClient({ account: funder, transport, pollingInterval: 50 })

const chainNow = async () => (await getBlock(reader, { blockTag: 'latest' })).timestamp
async function advance(seconds: number): Promise<void> {
  await testClient.increaseTime({ seconds })
  await testClient.mine({ blocks: 1 })
}
const jobOf = (provider: PaidProvider, requestId: bigint): OracleJob | undefined =>
  provider.service.oracle?.jobs().find((j) => j.requestId === requestId)
const balanceOf = (address: Address) =>
  readContract(reader, { address: token, abi: aiTokenAbi, functionName: 'balanceOf', args: [address] })

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-oracle-'))
  ensureChromium()
  const modelFile = join(DEFAULT_MODELS_DIR, `${DEMO_TINY.name}.gguf`)
  if (
    !(await access(modelFile).then(
      () => true,
      () => false,
    ))
  ) {
    await mkdir(DEFAULT_MODELS_DIR, { recursive: true })
    await writeFile(modelFile, generateDemoModel(DEMO_TINY))
  }
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  fixtures = await startFixtureServer()
  stops.push(() => fixtures.close())
  browser = await launchChromium()
  stops.push(() => browser.close())
  line = await tcpLine(deployment.rpcUrl)
  stops.push(() => line.close())

  // The template, registered for the tiny model, and a SentimentConsumer that asks it.
  const governor = createWalletClient({
    account: privateKeyToAccount(generatePrivateKey()),
    transport,
    pollingInterval: 50,
  })
  await fundAccount(deployment, governor.account.address, 0n)
  if ((await getTemplateModel(reader, { router, templateHash: TEMPLATE_HASH })) === null)
    await registerTemplate(governor, { router, template: TEMPLATE, modelHash: TINY.contentHash })
  const artifact = await loadArtifact('SentimentConsumer')
  const hash = await governor.deployContract({
    abi: artifact.abi,
    bytecode: artifact.bytecode,
    args: [router, token, TEMPLATE_HASH],
    chain: null,
  })
  consumer = (await waitForTransactionReceipt(reader, { hash })).contractAddress as Address
  await fundAccount(deployment, funder.address, parseEther('1000'))

  for (let i = 0; i < 3; i++) {
    const engine = await createPageEngine({ browser, baseUrl: fixtures.url })
    await engine.load(TINY, { threads: 1 })
    const provider = await startPaidProvider({
      deployment,
      relay: relay.multiaddr,
      engine,
      ...(i === 0 ? { rpcUrl: line.url } : {}),
      oracle: { enabled: true, templates: [TEMPLATE_HASH], pollMs: 200 },
    })
    stops.push(() => provider.stop())
    providers.push(provider)
  }
}, 300_000)

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** `until`, and on a timeout what each node's oracle service holds (so a failure says where it stopped). */
async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  try {
    await until(condition, timeoutMs, what)
  } catch (error) {
    const state = providers.map((p, i) => ({
      node: i,
      metrics: p.service.oracle?.metrics(),
      jobs: p.service.oracle?.jobs().slice(-3),
    }))
    throw new Error(
      `${(error as Error).message}\n${JSON.stringify(state, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 1)}`,
      { cause: error },
    )
  }
}

async function answers(requestId: bigint): Promise<{ operators: readonly Address[]; values: readonly bigint[] }> {
  const [operators, values] = await readContract(reader, {
    address: router,
    abi: oracleRouterAbi,
    functionName: 'getAnswers',
    args: [requestId],
  })
  return { operators, values }
}

describe('oracle nodes answer OracleRouter requests with commit-reveal', () => {
  test('three nodes answer a SentimentConsumer request; the median lands on-chain and is the answers median', async () => {
    const headline = 'ACME quarterly profit jumps 40% as orders beat forecasts'
    const now = await chainNow()
    const before = await Promise.all(providers.map((p) => balanceOf(p.operator)))
    const { requestId } = await requestScore(wallet, {
      token,
      consumer,
      asset: headline,
      fee: FEE,
      k: 3,
      commitDeadline: now + 600n,
      revealDeadline: now + 1200n,
    })
    await waitFor(
      async () => (await getOracleRequest(reader, { router, requestId })).status === 'fulfilled',
      120_000,
      'the request to be fulfilled',
    )
    const request = await getOracleRequest(reader, { router, requestId })
    const { operators, values } = await answers(requestId)
    expect(new Set(operators.map((o) => o.toLowerCase()))).toEqual(
      new Set(providers.map((p) => p.operator.toLowerCase())),
    )
    expect(values.every((v) => v >= -100n && v <= 100n)).toBe(true)
    expect(request.result).toBe(medianOf(values))
    expect((await getScore(reader, { consumer, asset: headline }))?.value).toBe(request.result)
    // Each node revealed what it stored, and was paid fee / k (to its operator, whoever sent the transaction).
    for (const [i, provider] of providers.entries()) {
      // The chain settles with the last reveal; a node records its own reveal once it has read its receipt.
      await waitFor(
        () => /revealed/.test(String(jobOf(provider, requestId)?.outcome ?? jobOf(provider, requestId)?.stage)),
        30_000,
        'the node to record its reveal',
      )
      const job = jobOf(provider, requestId)
      expect(job?.outcome ?? job?.stage).toMatch(/revealed/)
      expect(values[operators.findIndex((o) => o.toLowerCase() === provider.operator.toLowerCase())]).toBe(job?.value)
      expect((await balanceOf(provider.operator)) - (before[i] as bigint)).toBe(FEE / 3n)
    }
  }, 240_000)

  test('a node whose RPC line is cut backfills the request when it returns, and answers it', async () => {
    const [a] = providers as [PaidProvider]
    await line.cut()
    const now = await chainNow()
    const { requestId } = await requestScore(wallet, {
      token,
      consumer,
      asset: 'GLOBEX swings to loss as sales collapse',
      fee: FEE,
      k: 3,
      commitDeadline: now + 600n,
      revealDeadline: now + 1200n,
    })
    await waitFor(
      async () => (await getOracleRequest(reader, { router, requestId })).commits === 2,
      120_000,
      'the two other nodes to commit',
    )
    expect(jobOf(a, requestId)).toBeUndefined()
    expect(a.service.oracle?.metrics().lastError).not.toBeNull()
    await line.restore()
    await waitFor(
      async () => (await getOracleRequest(reader, { router, requestId })).status === 'fulfilled',
      120_000,
      'the request to be fulfilled',
    )
    expect((await answers(requestId)).operators.map((o) => o.toLowerCase())).toContain(a.operator.toLowerCase())
  }, 240_000)

  test('a node down past the commit deadline gets nothing and never answers late; its share is refunded to the funder', async () => {
    const [a, b, c] = providers as [PaidProvider, PaidProvider, PaidProvider]
    await c.service.oracle?.stop()
    const cBefore = await balanceOf(c.operator)
    const now = await chainNow()
    const { requestId } = await requestScore(wallet, {
      token,
      consumer,
      asset: 'INITECH to publish quarterly results on Thursday',
      fee: FEE,
      k: 3,
      commitDeadline: now + 300n,
      revealDeadline: now + 900n,
    })
    await waitFor(
      async () => (await getOracleRequest(reader, { router, requestId })).commits === 2,
      120_000,
      'two nodes to commit',
    )
    await advance(301)
    // Commits are closed: A and B reveal; the last reveal settles with 2 answers, below the quorum of 3.
    await waitFor(
      async () => (await getOracleRequest(reader, { router, requestId })).status === 'expired',
      120_000,
      'the request to expire',
    )
    const request = await getOracleRequest(reader, { router, requestId })
    expect(request.reveals).toBe(2)
    // C comes back, backfills the request from its stored block, sees the deadline passed, and sends nothing.
    await c.service.oracle?.start()
    await waitFor(() => jobOf(c, requestId)?.stage === 'done', 60_000, 'C to see the request as missed')
    expect(jobOf(c, requestId)).toMatchObject({ outcome: 'missed', value: null })
    expect((await getOracleRequest(reader, { router, requestId, operator: c.operator })).node).toEqual({
      committed: false,
      revealed: false,
    })
    expect(await balanceOf(c.operator)).toBe(cBefore)
    // The funder gets back what the missing answer would have been paid.
    const { amount } = await claimScoreRefund(wallet, { consumer, requestId })
    expect(amount).toBe(FEE - 2n * (FEE / 3n))
    for (const p of [a, b]) expect(jobOf(p, requestId)?.paid).toBe(FEE / 3n)
  }, 240_000)

  test('a subscription runs two rounds on schedule; a round with nothing to score is missed and refunded', async () => {
    const [a, , c] = providers as [PaidProvider, PaidProvider, PaidProvider]
    const now = await chainNow()
    const start = now + 600n
    // ACME headlines in the windows of rounds 0 and 1 (one day each), none in round 2's.
    const at = (t: bigint) => new Date(Number(t) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
    const bytes = encodeDataset([
      {
        id: 'r0-a',
        date: at(start - 3_600n),
        asset: 'ACME',
        headline: 'ACME quarterly profit jumps 40% as orders beat forecasts',
      },
      { id: 'r0-b', date: at(start - 7_200n), asset: 'ACME', headline: 'ACME recalls faulty chargers, shares slide' },
      { id: 'r0-x', date: at(start - 1_800n), asset: 'GLOBEX', headline: 'GLOBEX swings to loss as sales collapse' },
      {
        id: 'r1-a',
        date: at(start + BigInt(DAY) - 3_600n),
        asset: 'ACME',
        headline: 'ACME names new chief financial officer',
      },
    ])
    const hash = datasetHash(bytes)
    // Only A has the data set: B and C fetch it by hash over /modelex/dataset/1.0.0.
    await a.service.addDataset(bytes)
    const feePerRound = parseEther('3')
    const { subscriptionId } = await subscribeScore(wallet, {
      token,
      consumer,
      asset: 'ACME',
      schedule: {
        datasetHash: hash,
        windowSeconds: DAY,
        start,
        period: DAY,
        rounds: 3,
        k: 3,
        commitWindow: 3_600,
        revealWindow: 3_600,
        feePerRound,
      },
    })
    const rounds = () => getRounds(reader, { router, subscriptionId })
    expect((await rounds()).map((r) => r.status)).toEqual(['scheduled', 'scheduled', 'scheduled'])

    await advance(601)
    await waitFor(async () => (await rounds())[0]?.status === 'fulfilled', 180_000, 'round 0 to be fulfilled')
    await advance(DAY)
    await waitFor(async () => (await rounds())[1]?.status === 'fulfilled', 180_000, 'round 1 to be fulfilled')
    const [r0, r1] = (await rounds()) as unknown as [
      { requestId: bigint; result: bigint },
      { requestId: bigint; result: bigint },
    ]
    for (const r of [r0, r1]) expect(r.result).toBe(medianOf((await answers(r.requestId)).values))
    expect((await getScore(reader, { consumer, asset: 'ACME' }))?.requestId).toBe(r1.requestId)
    expect(jobOf(c, r0.requestId)?.outcome ?? jobOf(c, r0.requestId)?.stage).toMatch(/revealed/)

    await advance(DAY)
    await waitFor(async () => (await rounds())[2]?.status === 'open', 60_000, 'round 2 to be opened')
    const r2 = (await rounds())[2]?.requestId as bigint
    await waitFor(
      () => providers.every((p) => jobOf(p, r2)?.outcome === 'abstained'),
      60_000,
      'every node to abstain on the empty window',
    )
    expect(jobOf(a, r2)?.error?.name).toBe('EmptyRoundWindowError')
    await advance(2 * 3_600 + 1)
    await waitFor(async () => (await rounds())[2]?.status === 'missed', 60_000, 'round 2 to be finalized as missed')
    // The missed round's whole fee went back to the balance: cancelling returns exactly it.
    const { amount } = await cancelScoreSubscription(wallet, { consumer, subscriptionId })
    expect(amount).toBe(feePerRound)
  }, 600_000)
})
