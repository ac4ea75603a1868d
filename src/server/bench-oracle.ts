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
 * Options: --requests N (per k, default 5), --poll-ms N (default 200), --data-dir DIR (the PhraseBank).
 * anvil, the relay and Chromium are stopped by PID.
 */
import './node-shims.ts'
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createPublicClient, createWalletClient, http, parseEther, type Address, type Hash, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { getBlock, getContractEvents, getTransactionReceipt, waitForTransactionReceipt } from 'viem/actions'
import { getOracleRequest } from '../chain/actions/getOracleRequest.ts'
import { getTemplateModel, registerTemplate } from '../chain/actions/registerTemplate.ts'
import { requestScore } from '../chain/actions/requestScore.ts'
import { oracleRouterAbi } from '../chain/generated.ts'
import type { Deployment } from '../core/deployment.ts'
import type { ModelSpec } from '../core/inference.ts'
import { DEMO_MODELS } from '../core/models.ts'
import { SENTIMENT_TEMPLATE, templateId, type PromptTemplate } from '../core/templates.ts'
import { DEMO_TINY, generateDemoModel } from '../engine/demo-model/generate.ts'
import { fundAccount, startPaidProvider, type PaidProvider } from '../node/testing.ts'
import { createPageEngine } from '../verify/page-engine.ts'
import { ensureChromium, launchChromium } from './chromium.ts'
import { loadArtifact } from './contracts.ts'
import { startFixtureServer } from './fixture-server.ts'
import { startLocalChain } from './local-chain.ts'
import { DEFAULT_MODELS_DIR } from './model-demo.ts'
import { readHeadlines, readPhraseBank } from './phrasebank.ts'
import { freePort } from './ports.ts'
import { startRelayProcess, type RelayProcess } from './relay-process.ts'

const { values: args } = parseArgs({ options: { requests: { type: 'string', default: '5' }, 'poll-ms': { type: 'string', default: '200' }, 'data-dir': { type: 'string' } } })
const REQUESTS = Number(args.requests)
const POLL_MS = Number(args['poll-ms'])
const NODES = 7
const FEE = parseEther('7')
const TINY = DEMO_MODELS.find((m) => m.id === DEMO_TINY.name) as ModelSpec & { contentHash: Hex }
const TEMPLATE: PromptTemplate = { ...SENTIMENT_TEMPLATE, models: [{ id: TINY.id, contentHash: TINY.contentHash }] }
const TEMPLATE_HASH = templateId(TEMPLATE)

type Sample = { blocks: bigint; seconds: number; answers: number; answerGas: bigint[]; roundGas: bigint }

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

ensureChromium()
const headlines = args['data-dir'] ? await readPhraseBank({ dataDir: args['data-dir'] }) : await readHeadlines()
const source = args['data-dir'] ? 'Financial PhraseBank (read in place)' : 'data/financial-headlines.jsonl'
const dir = await mkdtemp(join(tmpdir(), 'modelex-bench-oracle-'))
const { anvil, chain } = await startLocalChain({ port: await freePort() })
let relay: RelayProcess | undefined
const cleanup: (() => Promise<unknown>)[] = []
try {
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  const deployment: Deployment = { ...chain, relay: relay.multiaddr }
  const transport = http(deployment.rpcUrl)
  const reader = createPublicClient({ transport, pollingInterval: 50 })
  const token = deployment.contracts.AIToken as Address
  const router = deployment.contracts.OracleRouter as Address
  const modelFile = join(DEFAULT_MODELS_DIR, `${DEMO_TINY.name}.gguf`)
  if (!(await access(modelFile).then(() => true, () => false))) {
    await mkdir(DEFAULT_MODELS_DIR, { recursive: true })
    await writeFile(modelFile, generateDemoModel(DEMO_TINY))
  }

  const requester = createWalletClient({ account: privateKeyToAccount(generatePrivateKey()), transport, pollingInterval: 50 })
  await fundAccount(deployment, requester.account.address, parseEther('10000'))
  if ((await getTemplateModel(reader, { router, templateHash: TEMPLATE_HASH })) === null) await registerTemplate(requester, { router, template: TEMPLATE, modelHash: TINY.contentHash })
  const artifact = await loadArtifact('SentimentConsumer')
  const deployed = await requester.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode, args: [router, token, TEMPLATE_HASH], chain: null })
  const consumer = (await waitForTransactionReceipt(reader, { hash: deployed })).contractAddress as Address

  const fixtures = await startFixtureServer()
  cleanup.push(() => fixtures.close())
  const browser = await launchChromium()
  cleanup.push(() => browser.close())
  const providers: PaidProvider[] = []
  for (let i = 0; i < NODES; i++) {
    const engine = await createPageEngine({ browser, baseUrl: fixtures.url })
    await engine.load(TINY, { threads: 1 })
    const provider = await startPaidProvider({ deployment, relay: relay.multiaddr, engine, oracle: { enabled: true, templates: [TEMPLATE_HASH], pollMs: POLL_MS } })
    cleanup.push(() => provider.stop())
    providers.push(provider)
  }

  const gasOf = async (hash: Hash) => (await getTransactionReceipt(reader, { hash })).gasUsed
  let next = 0
  const results = new Map<number, Sample[]>()
  for (const k of [3, 7]) {
    const samples: Sample[] = []
    for (let r = 0; r < REQUESTS; r++) {
      const item = headlines[next++ % headlines.length] as { text: string }
      const now = (await getBlock(reader, { blockTag: 'latest' })).timestamp
      const started = performance.now()
      const { requestId, transactionHash } = await requestScore(requester, { token, consumer, asset: item.text.slice(0, 500), fee: FEE, k, commitDeadline: now + 600n, revealDeadline: now + 1200n })
      const requestReceipt = await getTransactionReceipt(reader, { hash: transactionHash })
      let settled = await getOracleRequest(reader, { router, requestId })
      for (let polls = 0; settled.status === 'open'; polls++) {
        if (polls > 6_000) throw new Error(`request ${requestId} (k=${k}) did not settle in 5 minutes`)
        await new Promise((resolve) => setTimeout(resolve, 50))
        settled = await getOracleRequest(reader, { router, requestId })
      }
      const seconds = (performance.now() - started) / 1000
      if (settled.status !== 'fulfilled') throw new Error(`request ${requestId} settled ${settled.status}`)
      const range = { address: router, abi: oracleRouterAbi, args: { requestId }, fromBlock: requestReceipt.blockNumber, strict: true } as const
      const [commits, reveals, fulfilled] = await Promise.all([
        getContractEvents(reader, { ...range, eventName: 'OracleCommitted' }),
        getContractEvents(reader, { ...range, eventName: 'OracleRevealed' }),
        getContractEvents(reader, { ...range, eventName: 'OracleFulfilled' }),
      ])
      const byOperator = new Map<string, bigint>()
      for (const log of [...commits, ...reveals]) byOperator.set(log.args.operator.toLowerCase(), (byOperator.get(log.args.operator.toLowerCase()) ?? 0n) + (await gasOf(log.transactionHash)))
      const answerGas = [...byOperator.values()]
      const roundGas = requestReceipt.gasUsed + answerGas.reduce((a, b) => a + b, 0n)
      const blocks = (fulfilled[0]?.blockNumber ?? 0n) - requestReceipt.blockNumber
      samples.push({ blocks, seconds, answers: reveals.length, answerGas, roundGas })
      console.log(`k=${k} request ${requestId}: median ${settled.result} of ${reveals.length} answers, ${blocks} blocks, ${seconds.toFixed(2)} s, ${roundGas} gas for the round`)
    }
    results.set(k, samples)
  }

  console.log(`\nengines: ${NODES} nodes on the WebAssembly engine (wllama, 1 thread each) in headless Chromium, model ${TINY.id}; nodes poll every ${POLL_MS} ms; ${REQUESTS} requests per k; headlines from ${source}`)
  const lines: string[] = []
  for (const [k, samples] of results) {
    const perAnswer = samples.flatMap((s) => s.answerGas.map(Number))
    const seconds = median(samples.map((s) => s.seconds))
    const blocks = median(samples.map((s) => Number(s.blocks)))
    const gasPerAnswer = Math.round(perAnswer.reduce((a, b) => a + b, 0) / perAnswer.length)
    const gasPerRound = Math.round(median(samples.map((s) => Number(s.roundGas))))
    console.log(`k=${k}: request → median on-chain ${blocks} blocks, ${seconds.toFixed(2)} s (median of ${samples.length}); gas ${gasPerAnswer} per answer (commit + reveal, mean), ${gasPerRound} per round (request + ${k} commits + ${k} reveals, median)`)
    if (k === 3) lines.push(`oracle round k=3: ${seconds.toFixed(2)} s, ${gasPerAnswer} gas per answer`)
  }
  console.log(lines.join('\n'))
} finally {
  for (const stop of cleanup.reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  await anvil.stop()
  await rm(dir, { recursive: true, force: true })
}
