/**
 * `npm run bench:verify`: do spot checks catch a lying node, and leave an honest one alone? Three real provider
 * nodes on the local stack (anvil, the relay as a child process, the production provider service with the
 * WebAssembly engine in headless Chromium pages), all registered and announcing the tiny demo model A:
 *   - honest: serves A;
 *   - other-weights: serves a model with A's architecture and other random weights, claiming A's hash;
 *   - q8_0 and q4_0: serve A's own weights quantized to Q8_0 or Q4_0 (A is F16), claiming A's hash.
 * A consumer (the SDK, paying through channels) sends each of them requests with a fresh random seed, greedy and
 * sampled mixed; the SDK offers every answer to the consumer's verifier (`createClient({ verifier })`, `src/verify`)
 * running A on its own WebAssembly engine, which draws which answers to re-run (all of a young record, then a share). The bench prints, for each liar, the
 * checks until it was flagged, and for the honest node the false flags over at least `--checks` checks, plus what
 * a check costs (tokens re-run per checked request). anvil, the relay and Chromium are stopped by PID.
 *
 * Options: --checks N (honest checks, default 200), --rate R (share checked after the first 10, default 0.5),
 * --max-tokens N (default 16), --max-liar-checks N (default 60).
 */
import '../lib/node-shims.ts'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createWalletClient, http, keccak256, parseEther, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { createClient } from '../../client/index.ts'
import type { Deployment } from '../../core/deployment.ts'
import type { InferenceEngine, InferenceRequest, ModelSpec } from '../../core/inference.ts'
import { DEMO_MODELS } from '../../core/models.ts'
import type { SpotCheckRecord } from '../../core/spot-check.ts'
import {
  DEMO_TINY,
  DEMO_TINY_OTHER_WEIGHTS,
  DEMO_TINY_Q4_0,
  DEMO_TINY_Q8_0,
  generateDemoModel,
  type DemoModelConfig,
} from '../../engine/demo-model/generate.ts'
import { fundAccount, startPaidProvider, type PaidProvider } from '../../node/testing.ts'
import { memoryStore } from '../../store/payments.ts'
import { createPageEngine, type PageEngine } from '../../verify/page-engine.ts'
import { createVerifier } from '../../verify/verifier.ts'
import { ensureChromium, launchChromium } from '../lib/chromium.ts'
import { startFixtureServer } from '../testing/fixture-server.ts'
import { startLocalChain } from '../lib/local-chain.ts'
import { DEFAULT_MODELS_DIR } from '../programs/model-demo.ts'
import { freePort } from '../lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../lib/relay-process.ts'

const { values: args } = parseArgs({
  options: {
    checks: { type: 'string', default: '200' },
    rate: { type: 'string', default: '0.5' },
    'max-tokens': { type: 'string', default: '16' },
    'max-liar-checks': { type: 'string', default: '60' },
  },
})
const HONEST_CHECKS = Number(args.checks)
const RATE = Number(args.rate)
const MAX_TOKENS = Number(args['max-tokens'])
const MAX_LIAR_CHECKS = Number(args['max-liar-checks'])
const WASM_BUILD = { kind: 'wasm', build: 'wllama-3.8.1' }

const claimed = DEMO_MODELS.find((m) => m.id === DEMO_TINY.name) as ModelSpec & { contentHash: Hex }

/** Writes a generated model into the served models folder and returns its spec (its hash is the file's keccak). */
async function modelFile(config: DemoModelConfig): Promise<ModelSpec> {
  const bytes = generateDemoModel(config)
  const hash = keccak256(bytes)
  await mkdir(DEFAULT_MODELS_DIR, { recursive: true })
  await writeFile(join(DEFAULT_MODELS_DIR, `${config.name}.gguf`), bytes)
  return { ...claimed, id: config.name, source: `/models/${config.name}.gguf`, contentHash: hash }
}

/** A liar: the real engine serving `served`, reporting (and so announcing and signing receipts for) `claimed`. */
function claiming(engine: PageEngine, served: ModelSpec): InferenceEngine {
  return {
    kind: engine.kind,
    load: (model, options) => engine.load(model, options),
    current: async () => {
      const loaded = await engine.current()
      return loaded && { ...loaded, id: claimed.id, contentHash: claimed.contentHash }
    },
    chat: (request, options) => engine.chat({ ...request, model: served.id }, options),
    complete: (request, options) => engine.complete({ ...request, model: served.id }, options),
    countTokens: (text) => engine.countTokens(text),
    benchmark: (options) => engine.benchmark(options),
    unload: () => engine.unload(),
  }
}

const WORDS = [
  'def',
  'return',
  'value',
  'list',
  'for',
  'item',
  'in',
  'range',
  'if',
  'else',
  'print',
  'sum',
  'count',
  'node',
  'price',
  'token',
  'model',
  'while',
  'sort',
  'key',
]
function prompt(i: number, random: () => number): InferenceRequest {
  const words = Array.from(
    { length: 4 + Math.floor(random() * 12) },
    () => WORDS[Math.floor(random() * WORDS.length)],
  ).join(' ')
  const seed = Math.floor(random() * 0xffffffff) // 0..0xFFFFFFFE: llama.cpp reads 0xFFFFFFFF as "random"
  const sampling = i % 2 === 0 ? { temperature: 0 } : { temperature: 0.8, top_p: 0.95 }
  return i % 3 === 0
    ? {
        kind: 'chat',
        model: claimed.id,
        messages: [{ role: 'user', content: words }],
        max_tokens: MAX_TOKENS,
        seed,
        ...sampling,
      }
    : { kind: 'completion', model: claimed.id, prompt: `${words}\n`, max_tokens: MAX_TOKENS, seed, ...sampling }
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Figures = { name: string; requests: number; record: SpotCheckRecord; rerunTokens: number[] }

const dir = await mkdtemp(join(tmpdir(), 'modelex-bench-verify-'))
ensureChromium()
const { anvil, chain } = await startLocalChain({ port: await freePort() })
let relay: RelayProcess | undefined
const cleanup: (() => Promise<unknown>)[] = []
try {
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  const deployment: Deployment = { ...chain, relay: relay.multiaddr }
  const a = await modelFile(DEMO_TINY)
  if (a.contentHash !== claimed.contentHash) throw new Error('the tiny demo model no longer matches its catalog hash')
  const other = await modelFile(DEMO_TINY_OTHER_WEIGHTS)
  const q8 = await modelFile(DEMO_TINY_Q8_0)
  const q4 = await modelFile(DEMO_TINY_Q4_0)

  const fixtures = await startFixtureServer()
  cleanup.push(() => fixtures.close())
  const browser = await launchChromium()
  cleanup.push(() => browser.close())
  const engineWith = async (model: ModelSpec) => {
    const engine = await createPageEngine({ browser, baseUrl: fixtures.url })
    await engine.load(model, { threads: 1 })
    return engine
  }
  const verifierEngine = await engineWith(a)
  const nodes: { name: string; provider: PaidProvider }[] = []
  for (const [name, engine] of [
    ['honest', await engineWith(a)],
    ['other-weights', claiming(await engineWith(other), other)],
    ['q8_0', claiming(await engineWith(q8), q8)],
    ['q4_0', claiming(await engineWith(q4), q4)],
  ] as const) {
    const provider = await startPaidProvider({ deployment, relay: relay.multiaddr, engine, maxReceipts: 10_000 })
    cleanup.push(() => provider.stop())
    nodes.push({ name, provider })
  }

  const account = privateKeyToAccount(generatePrivateKey())
  await fundAccount(deployment, account.address, parseEther('100'))
  const wallet = createWalletClient({ account, transport: http(deployment.rpcUrl), pollingInterval: 50 })
  // The consumer is its own verifier: the SDK offers it every answer, and it draws which to re-run.
  const rerunTokens = new Map<string, number[]>()
  const verifier = createVerifier(
    { engine: verifierEngine },
    {
      build: WASM_BUILD,
      rate: RATE,
      warmup: 10,
      onResult: ({ input }) => {
        const r = input.receipt?.receipt
        const list = rerunTokens.get(input.node.operator.toLowerCase()) ?? []
        list.push(Number((r?.promptTokens ?? 0n) + (r?.completionTokens ?? 0n)))
        rerunTokens.set(input.node.operator.toLowerCase(), list)
      },
    },
  )
  const client = createClient({
    deployment,
    wallet,
    store: memoryStore(),
    relay: relay.multiaddr,
    models: [{ id: claimed.id, contentHash: claimed.contentHash }],
    channelDeposit: parseEther('1'),
    prepay: true,
    verifier,
  })
  cleanup.push(() => client.stop())
  const random = mulberry32(2026)

  const figures: Figures[] = []
  for (const { name, provider } of nodes) {
    const operator = provider.operator as Address
    const honest = name === 'honest'
    let requests = 0
    const checks = () => {
      const r = verifier.record(operator, claimed.contentHash as Hex)
      return r.agree + r.disagree + r.inconclusive
    }
    const started = performance.now()
    while (
      honest
        ? checks() < HONEST_CHECKS
        : !verifier.record(operator, claimed.contentHash as Hex).flagged && checks() < MAX_LIAR_CHECKS
    ) {
      if (requests > 20 * Math.max(HONEST_CHECKS, MAX_LIAR_CHECKS))
        throw new Error(`${name}: too many requests without enough checks`)
      const request = prompt(requests++, random)
      const { kind, ...body } = request
      const stream =
        kind === 'chat'
          ? await client.chat.completions.create({
              ...(body as Parameters<typeof client.chat.completions.create>[0]),
              stream: true,
              node: provider.node.peerId.toString(),
            })
          : await client.completions.create({
              ...(body as Parameters<typeof client.completions.create>[0]),
              stream: true,
              node: provider.node.peerId.toString(),
            })
      for await (const chunk of stream) void chunk
      await stream.result
      await verifier.idle()
    }
    const record = verifier.record(operator, claimed.contentHash as Hex)
    figures.push({ name, requests, record, rerunTokens: rerunTokens.get(operator.toLowerCase()) ?? [] })
    const seconds = (performance.now() - started) / 1000
    console.log(
      `${name.padEnd(14)} requests ${String(requests).padStart(4)}, checks ${record.agree + record.disagree + record.inconclusive} (agree ${record.agree}, disagree ${record.disagree}, inconclusive ${record.inconclusive}), flagged ${record.flagged ? `after ${record.checksToFirstDisagreement} checks` : 'no'}  [${seconds.toFixed(1)} s]`,
    )
  }
  const [sample] = verifier.evidence()
  if (sample)
    console.log(
      `evidence kept, e.g. ${sample.comparison.reason}: node "${sample.node.answer.text.slice(0, 24)}…" vs verifier "${sample.verifier.text.slice(0, 24)}…"`,
    )

  const liars = figures.filter((f) => f.name !== 'honest')
  const caught = liars.filter((f) => f.record.flagged)
  const toCatch = caught.map((f) => f.record.checksToFirstDisagreement as number).sort((x, y) => x - y)
  const median = toCatch.length ? (toCatch[Math.floor((toCatch.length - 1) / 2)] as number) : NaN
  const honest = figures.find((f) => f.name === 'honest') as Figures
  const honestChecks = honest.record.agree + honest.record.disagree + honest.record.inconclusive
  const all = figures.flatMap((f) => f.rerunTokens)
  const mean = all.reduce((s, n) => s + n, 0) / Math.max(1, all.length)
  console.log(
    `\nchecking cost: ${mean.toFixed(1)} tokens re-run per checked request (prompt + completion, one engine pass); at rate ${RATE} after the first 10 answers, ${(RATE * 100).toFixed(0)}% extra work on a node's traffic`,
  )
  console.log(
    `engines: nodes and verifier on the WebAssembly engine (wllama 3.8.1, 1 thread) in headless Chromium; model ${claimed.id}; ${MAX_TOKENS} tokens per answer`,
  )
  console.log(
    `liars caught: ${caught.length} of ${liars.length}, median checks to catch: ${median}, honest false flags: ${honest.record.disagree} of ${honestChecks}`,
  )
} finally {
  for (const stop of cleanup.reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  await anvil.stop()
  await rm(dir, { recursive: true, force: true })
}
