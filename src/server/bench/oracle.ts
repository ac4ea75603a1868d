/**
 * `npm run bench:oracle`: how long an oracle request takes from the request transaction to the median on-chain, and
 * what it costs in gas, for k = 3 and k = 7. Seven real provider nodes on the local stack (anvil, the relay as a
 * child process, the production provider service with its oracle service, each on the WebAssembly engine in a
 * headless Chromium page running the tiny demo model) opt in to the sentiment template (registered for that
 * model); a SentimentConsumer deployed for it asks scores of headlines: the project's labelled headlines, or the
 * Financial PhraseBank read in place with `--data-dir` (never copied). For each request it measures:
 *   - latency: blocks and wall-clock seconds from the request's block to the block where the median landed
 *     (the nodes poll the chain every `--poll-ms`);
 *   - gas: every commit and reveal of the request (per answer: commit + reveal, the last reveal paying for the
 *     median and the callback), and per round: the request transaction plus all its commits and reveals.
 * With k = 3 all seven nodes race to commit; the router closes commits at the third, the others are refused
 * before they send (their simulation reverts), so they spend no gas.
 *
 * Then a subscription per k (SentimentConsumer `subscribeScore`: a 90-day window, a one-day period, 2 rounds) over a
 * data set of dated headlines: a bounded sample (`--items` per k) of the same labelled set, which has no usable dates
 * for a chain whose clock is now (the PhraseBank has none at all), so they are assigned deterministically: for each k
 * its own made-up asset (`BENCH.K3`, `BENCH.K7`, disjoint samples so no node's score cache helps the second k), the
 * items spread evenly over the 90 days before round 0 opens, the last one inside round 1's day (round 1 scores one
 * new item; the rest come from the nodes' score caches, as rolling windows do). The generated JSON lines are
 * written only to a temp folder outside the repo (deleted at the end) and served by one node; the others fetch them
 * by hash. The nodes open the rounds as keepers once anvil's clock is moved (evm_increaseTime + evm_mine, no waits
 * on the schedule). Per round: blocks and seconds (block timestamps) from `RoundOpened` to the median on-chain,
 * and gas of `openRound` + the k commits + k reveals.
 *
 * Options: --requests N (per k, default 5), --poll-ms N (default 200), --data-dir DIR (the PhraseBank),
 * --items N (headlines per subscription, default 30), --rounds-only (skip the single requests; the last line then
 * reports nothing). anvil, the relay and Chromium are stopped by PID.
 */
import '../lib/node-shims.ts'
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  http,
  keccak256,
  parseEther,
  type Address,
  type Hash,
  type Hex,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { getBlock, getContractEvents, getTransactionReceipt, waitForTransactionReceipt } from 'viem/actions'
import { getOracleRequest } from '../../chain/actions/getOracleRequest.ts'
import { getRounds } from '../../chain/actions/getRounds.ts'
import { getTemplateModel, registerTemplate } from '../../chain/actions/registerTemplate.ts'
import { requestScore } from '../../chain/actions/requestScore.ts'
import { subscribeScore } from '../../chain/actions/subscribeScore.ts'
import { oracleRouterAbi } from '../../chain/generated.ts'
import { datasetHash } from '../../core/datasets.ts'
import type { Deployment } from '../../core/deployment.ts'
import type { ModelSpec } from '../../core/inference.ts'
import { DEMO_MODELS } from '../../core/models.ts'
import { SENTIMENT_TEMPLATE, templateId, type PromptTemplate } from '../../core/templates.ts'
import { DEMO_TINY, generateDemoModel } from '../../engine/demo-model/generate.ts'
import { fundAccount, startPaidProvider, type PaidProvider } from '../../node/testing.ts'
import { createPageEngine } from '../../verify/page-engine.ts'
import { ensureChromium, launchChromium } from '../lib/chromium.ts'
import { loadArtifact } from '../lib/contracts.ts'
import { startFixtureServer } from '../testing/fixture-server.ts'
import { startLocalChain } from '../lib/local-chain.ts'
import { DEFAULT_MODELS_DIR } from '../programs/model-demo.ts'
import { datedSample, SAMPLE_WINDOW_DAYS } from './oracle-data.ts'
import { DEFAULT_HEADLINES_FILE, phraseBankCandidates, readHeadlines, readPhraseBank } from '../evals/phrasebank.ts'
import { freePort } from '../lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../lib/relay-process.ts'

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '5' },
    'poll-ms': { type: 'string', default: '200' },
    'data-dir': { type: 'string' },
    items: { type: 'string', default: '30' },
    'rounds-only': { type: 'boolean', default: false },
  },
})
const REQUESTS = args['rounds-only'] ? 0 : Number(args.requests)
const ITEMS = Number(args.items)
const DAY = 86_400
const KS = [3, 7] as const
const ASSETS: Record<(typeof KS)[number], string> = { 3: 'BENCH.K3', 7: 'BENCH.K7' }
const POLL_MS = Number(args['poll-ms'])
const NODES = 7
const FEE = parseEther('7')
const TINY = DEMO_MODELS.find((m) => m.id === DEMO_TINY.name) as ModelSpec & { contentHash: Hex }
const TEMPLATE: PromptTemplate = { ...SENTIMENT_TEMPLATE, models: [{ id: TINY.id, contentHash: TINY.contentHash }] }
const TEMPLATE_HASH = templateId(TEMPLATE)

type Sample = { blocks: bigint; seconds: number; answers: number; answerGas: bigint[]; roundGas: bigint }
type RoundSample = {
  blocks: bigint
  seconds: number
  dueSeconds: number
  items: number
  answerGas: bigint[]
  roundGas: bigint
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

ensureChromium()
const headlines = args['data-dir'] ? await readPhraseBank({ dataDir: args['data-dir'] }) : await readHeadlines()
const sourceFile = args['data-dir']
  ? (
      await Promise.all(
        phraseBankCandidates({ dataDir: args['data-dir'] }).map(async (f) =>
          (await access(f).then(
            () => true,
            () => false,
          ))
            ? f
            : null,
        ),
      )
    ).find((f) => f !== null)
  : DEFAULT_HEADLINES_FILE
const source = args['data-dir']
  ? `Financial PhraseBank (${sourceFile}, read in place)`
  : 'data/financial-headlines.jsonl'
const sourceHash = sourceFile ? keccak256(await readFile(sourceFile)) : 'unknown'
const dir = await mkdtemp(join(tmpdir(), 'modelex-bench-oracle-'))
const { anvil, chain } = await startLocalChain({ port: await freePort() })
let relay: RelayProcess | undefined
const cleanup: (() => Promise<unknown>)[] = []
try {
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  const deployment: Deployment = { ...chain, relay: relay.multiaddr }
  const transport = http(deployment.rpcUrl)
  const reader = createPublicClient({ transport, pollingInterval: 50 })
  const testClient = createTestClient({ mode: 'anvil', transport })
  const token = deployment.contracts.AIToken as Address
  const router = deployment.contracts.OracleRouter as Address
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

  const requester = createWalletClient({
    account: privateKeyToAccount(generatePrivateKey()),
    transport,
    pollingInterval: 50,
  })
  await fundAccount(deployment, requester.account.address, parseEther('10000'))
  if ((await getTemplateModel(reader, { router, templateHash: TEMPLATE_HASH })) === null)
    await registerTemplate(requester, { router, template: TEMPLATE, modelHash: TINY.contentHash })
  const artifact = await loadArtifact('SentimentConsumer')
  const deployed = await requester.deployContract({
    abi: artifact.abi,
    bytecode: artifact.bytecode,
    args: [router, token, TEMPLATE_HASH],
    chain: null,
  })
  const consumer = (await waitForTransactionReceipt(reader, { hash: deployed })).contractAddress as Address

  const fixtures = await startFixtureServer()
  cleanup.push(() => fixtures.close())
  const browser = await launchChromium()
  cleanup.push(() => browser.close())
  const providers: PaidProvider[] = []
  for (let i = 0; i < NODES; i++) {
    const engine = await createPageEngine({ browser, baseUrl: fixtures.url })
    await engine.load(TINY, { threads: 1 })
    const provider = await startPaidProvider({
      deployment,
      relay: relay.multiaddr,
      engine,
      oracle: { enabled: true, templates: [TEMPLATE_HASH], pollMs: POLL_MS },
    })
    cleanup.push(() => provider.stop())
    providers.push(provider)
  }

  const gasOf = async (hash: Hash) => (await getTransactionReceipt(reader, { hash })).gasUsed
  /** Gas of each answering operator's commit + reveal of `requestId`, and the block where the median landed. */
  const answerGasOf = async (requestId: bigint, fromBlock: bigint) => {
    const range = { address: router, abi: oracleRouterAbi, args: { requestId }, fromBlock, strict: true } as const
    const [commits, reveals, fulfilled] = await Promise.all([
      getContractEvents(reader, { ...range, eventName: 'OracleCommitted' }),
      getContractEvents(reader, { ...range, eventName: 'OracleRevealed' }),
      getContractEvents(reader, { ...range, eventName: 'OracleFulfilled' }),
    ])
    const byOperator = new Map<string, bigint>()
    for (const log of [...commits, ...reveals])
      byOperator.set(
        log.args.operator.toLowerCase(),
        (byOperator.get(log.args.operator.toLowerCase()) ?? 0n) + (await gasOf(log.transactionHash)),
      )
    return {
      answerGas: [...byOperator.values()],
      reveals: reveals.length,
      fulfilledBlock: fulfilled[0]?.blockNumber ?? fromBlock,
    }
  }
  let next = 0
  const results = new Map<number, Sample[]>()
  for (const k of KS) {
    const samples: Sample[] = []
    for (let r = 0; r < REQUESTS; r++) {
      const item = headlines[next++ % headlines.length] as { text: string }
      const now = (await getBlock(reader, { blockTag: 'latest' })).timestamp
      const started = performance.now()
      const { requestId, transactionHash } = await requestScore(requester, {
        token,
        consumer,
        asset: item.text.slice(0, 500),
        fee: FEE,
        k,
        commitDeadline: now + 600n,
        revealDeadline: now + 1200n,
      })
      const requestReceipt = await getTransactionReceipt(reader, { hash: transactionHash })
      let settled = await getOracleRequest(reader, { router, requestId })
      for (let polls = 0; settled.status === 'open'; polls++) {
        if (polls > 6_000) throw new Error(`request ${requestId} (k=${k}) did not settle in 5 minutes`)
        await new Promise((resolve) => setTimeout(resolve, 50))
        settled = await getOracleRequest(reader, { router, requestId })
      }
      const seconds = (performance.now() - started) / 1000
      if (settled.status !== 'fulfilled') throw new Error(`request ${requestId} settled ${settled.status}`)
      const { answerGas, reveals, fulfilledBlock } = await answerGasOf(requestId, requestReceipt.blockNumber)
      const roundGas = requestReceipt.gasUsed + answerGas.reduce((a, b) => a + b, 0n)
      const blocks = fulfilledBlock - requestReceipt.blockNumber
      samples.push({ blocks, seconds, answers: reveals, answerGas, roundGas })
      console.log(
        `k=${k} request ${requestId}: median ${settled.result} of ${reveals} answers, ${blocks} blocks, ${seconds.toFixed(2)} s, ${roundGas} gas for the round`,
      )
    }
    if (samples.length > 0) results.set(k, samples)
  }

  // Subscription rounds: one subscription per k, 2 rounds each, over the dated sample (a temp file outside the repo).
  const chainNow = async () => (await getBlock(reader, { blockTag: 'latest' })).timestamp
  const firstStart = (await chainNow()) + 600n
  const starts = { 3: firstStart, 7: firstStart + 3n * BigInt(DAY) }
  const sample = datedSample(headlines, {
    perAsset: ITEMS,
    assets: KS.map((k) => ({ asset: ASSETS[k], start: starts[k] })),
  })
  const datasetFile = join(dir, 'bench-dataset.jsonl')
  await writeFile(
    datasetFile,
    sample.items
      .map(({ id, date, asset, headline, label }) => JSON.stringify({ id, date, asset, headline, label }) + '\n')
      .join(''),
  )
  const datasetBytes = new Uint8Array(await readFile(datasetFile))
  const hash = datasetHash(datasetBytes)
  await (providers[0] as PaidProvider).service.addDataset(datasetBytes)
  const rounds = new Map<number, RoundSample[]>()
  for (const k of KS) {
    const { subscriptionId } = await subscribeScore(requester, {
      token,
      consumer,
      asset: ASSETS[k],
      schedule: {
        datasetHash: hash,
        windowSeconds: SAMPLE_WINDOW_DAYS * DAY,
        start: starts[k],
        period: DAY,
        rounds: 2,
        k,
        commitWindow: 3_600,
        revealWindow: 3_600,
        feePerRound: FEE,
      },
    })
    const samples: RoundSample[] = []
    for (const r of [0, 1]) {
      const opensAt = starts[k] + BigInt(r * DAY)
      const now = await chainNow()
      if (opensAt >= now) {
        await testClient.increaseTime({ seconds: Number(opensAt - now) + 1 })
        await testClient.mine({ blocks: 1 })
      }
      const due = performance.now()
      let round = (await getRounds(reader, { router, subscriptionId, from: r, count: 1 }))[0]
      for (
        let polls = 0;
        round?.status === 'scheduled' || round?.status === 'openable' || round?.status === 'open';
        polls++
      ) {
        if (polls > 12_000)
          throw new Error(`round ${r} of subscription ${subscriptionId} (k=${k}) did not settle in 10 minutes`)
        await new Promise((resolve) => setTimeout(resolve, 50))
        round = (await getRounds(reader, { router, subscriptionId, from: r, count: 1 }))[0]
      }
      const dueSeconds = (performance.now() - due) / 1000
      if (round?.status !== 'fulfilled' || round.requestId === null)
        throw new Error(`round ${r} of subscription ${subscriptionId} (k=${k}) ended ${round?.status}`)
      const [opened] = await getContractEvents(reader, {
        address: router,
        abi: oracleRouterAbi,
        eventName: 'RoundOpened',
        args: { subscriptionId, round: r },
        fromBlock: BigInt(deployment.startBlock),
        strict: true,
      })
      if (!opened) throw new Error(`no RoundOpened for round ${r} of subscription ${subscriptionId}`)
      const openBlock = await getBlock(reader, { blockNumber: opened.blockNumber })
      const answers = await answerGasOf(round.requestId, opened.blockNumber)
      const fulfilledBlock = await getBlock(reader, { blockNumber: answers.fulfilledBlock })
      const roundGas = (await gasOf(opened.transactionHash)) + answers.answerGas.reduce((a, b) => a + b, 0n)
      const items = sample.items.filter(
        (i) =>
          i.asset === ASSETS[k] &&
          Date.parse(i.date) / 1000 >= Number(opensAt) - SAMPLE_WINDOW_DAYS * DAY &&
          Date.parse(i.date) / 1000 < Number(opensAt),
      ).length
      const s: RoundSample = {
        blocks: answers.fulfilledBlock - opened.blockNumber,
        seconds: Number(fulfilledBlock.timestamp - openBlock.timestamp),
        dueSeconds,
        items,
        answerGas: answers.answerGas,
        roundGas,
      }
      samples.push(s)
      console.log(
        `k=${k} subscription ${subscriptionId} round ${r} (${items} headlines): mean score ${round.result} (median of ${answers.answerGas.length} answers), open → median ${s.blocks} blocks, ${s.seconds} s; due → median ${dueSeconds.toFixed(2)} s; ${roundGas} gas for the round`,
      )
    }
    rounds.set(k, samples)
  }

  console.log(
    `\nengines: ${NODES} nodes on the WebAssembly engine (wllama, 1 thread each) in headless Chromium, model ${TINY.id}; nodes poll every ${POLL_MS} ms; ${REQUESTS} requests per k; headlines from ${source}`,
  )
  const lines: string[] = []
  for (const [k, samples] of results) {
    const perAnswer = samples.flatMap((s) => s.answerGas.map(Number))
    const seconds = median(samples.map((s) => s.seconds))
    const blocks = median(samples.map((s) => Number(s.blocks)))
    const gasPerAnswer = Math.round(perAnswer.reduce((a, b) => a + b, 0) / perAnswer.length)
    const gasPerRound = Math.round(median(samples.map((s) => Number(s.roundGas))))
    console.log(
      `k=${k}: request → median on-chain ${blocks} blocks, ${seconds.toFixed(2)} s (median of ${samples.length}); gas ${gasPerAnswer} per answer (commit + reveal, mean), ${gasPerRound} per round (request + ${k} commits + ${k} reveals, median)`,
    )
    if (k === 3) lines.push(`oracle round k=3: ${seconds.toFixed(2)} s, ${gasPerAnswer} gas per answer`)
  }
  console.log(
    `subscriptions: data set ${source}, keccak256 ${sourceHash}; ${ITEMS} headlines per k taken every ${sample.stride.toFixed(1)}th item, dated over the ${SAMPLE_WINDOW_DAYS} days before round 0 (last one in round 1's day) for made-up assets ${KS.map((k) => ASSETS[k]).join(' / ')}; generated data set ${hash} (temp file, deleted); window ${SAMPLE_WINDOW_DAYS} days, period 1 day (anvil clock moved), 2 rounds per k`,
  )
  console.log(
    'per-headline accuracy: not measured (the oracle service keeps its per-item scores internal; only the round mean reaches the chain)',
  )
  for (const [k, samples] of rounds) {
    const perAnswer = samples.flatMap((s) => s.answerGas.map(Number))
    const gasPerAnswer = Math.round(perAnswer.reduce((a, b) => a + b, 0) / perAnswer.length)
    const gasPerRound = Math.round(median(samples.map((s) => Number(s.roundGas))))
    console.log(
      `k=${k} subscription: round open → median on-chain ${median(samples.map((s) => Number(s.blocks)))} blocks, ${median(samples.map((s) => s.seconds))} s (block times, median of ${samples.length} rounds; due → median ${median(samples.map((s) => s.dueSeconds)).toFixed(2)} s wall); gas ${gasPerRound} per round (openRound + ${k} commits + ${k} reveals, median), ${gasPerAnswer} per answer (mean)`,
    )
  }
  console.log(lines.join('\n'))
} finally {
  for (const stop of cleanup.reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  await anvil.stop()
  await rm(dir, { recursive: true, force: true })
}
