/**
 * The Evaluate view's state: pick any node from the app's directory and one of its models, run challenge suites
 * against it through the SDK (paid from this view's wallet like any consumer's requests; Python checks run in the
 * Pyodide worker), watch the progress, then sign the run's attestations with this app's node signer and publish
 * them on `modelex/1/attestations` through the app's attestation book. The evaluator named in attestations is the
 * operator the registry binds this app's node signer to (the Node view registers it); peers refuse attestations
 * from a signer bound to no active node, so the view says so before anyone pays. Dependencies are injectable.
 */
import { createPublicClient, createWalletClient, http, zeroAddress, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { readContract } from 'viem/actions'
import { loadDeployment } from '../../chain/deployment.ts'
import { nodeRegistryAbi } from '../../chain/generated.ts'
import { createClient, type ModelexClient } from '../../client/index.ts'
import { signAttestation } from '../../core/attestation.ts'
import type { Deployment } from '../../core/deployment.ts'
import type { DirectoryEntry } from '../../core/directory.ts'
import type { EvalProblem } from '../../core/eval.ts'
import { parseSentimentJsonl, sentimentTask } from '../../core/sentiment.ts'
import { createBrowserPython, type BrowserPython } from '../../evaluator/browser-python.ts'
import { fetchProblems } from '../../evaluator/data.ts'
import {
  runEvaluation,
  type EvaluationProgress,
  type EvaluationRun,
  type EvaluationSuite,
} from '../../evaluator/runner.ts'
import type { SentimentTask } from '../../evaluator/types.ts'
import { indexedDbStore, type KeyValueStore } from '../../store/kv.ts'
import { loadOrCreateSignerKey } from '../../store/signer-key.ts'
import { WalletState } from '../components/wallet/wallet.svelte.ts'
import type { NetworkState } from './network.svelte.ts'
import problemsUrl from '../../../data/HumanEval-SingleLineInfilling.jsonl.gz?url'

export type EvaluatePhase = 'idle' | 'running' | 'scored' | 'publishing' | 'published' | 'cancelled' | 'failed'
export type PublishedAttestation = { suite: string; score: number; sampleSize: number; hash: Hex }

export type EvaluateDependencies = {
  network?: () => Promise<NetworkState>
  deployment?: () => Promise<Deployment | null>
  store?: () => KeyValueStore
  python?: () => BrowserPython
  problems?: (limit: number) => Promise<EvalProblem[]>
  /** The sentiment task (default: the project's own labelled headlines, `data/financial-headlines.jsonl`). */
  sentiment?: (limit: number) => Promise<SentimentTask>
}

export const SUITE_TITLES: Record<EvaluationSuite, string> = {
  fim: 'Code infilling (HumanEval single-line: exact match, pass@1)',
  sentiment: 'Sentiment accuracy (financial headlines)',
  latency: 'Latency (time to first token, p50/p95)',
  uptime: 'Uptime (quote-only pings)',
}

export class EvaluateState {
  deployment = $state<Deployment | null>(null)
  wallet = $state<WalletState | null>(null)
  /** This app's node signer and the operator the registry binds it to (null: not registered). */
  signer = $state<Address | null>(null)
  evaluator = $state<Address | null>(null)
  /** The chosen node (peer id) and model id. */
  node = $state('')
  model = $state('')
  suites = $state<Record<EvaluationSuite, boolean>>({ fim: true, sentiment: false, latency: true, uptime: true })
  /** Problems, headlines or pings per suite. */
  limit = $state(5)
  phase = $state<EvaluatePhase>('idle')
  progress = $state<EvaluationProgress | null>(null)
  run = $state.raw<EvaluationRun | null>(null)
  published = $state<PublishedAttestation[]>([])
  /** The anchoring of what was published: its Merkle root (and transaction) on the ReceiptAnchor. */
  anchoring = $state<null | 'anchoring' | 'not anchored' | { root: Hex; transactionHash: Hex | null }>(null)
  error = $state<string | null>(null)
  net = $state.raw<NetworkState | null>(null)

  #deps: Required<EvaluateDependencies>
  #client: ModelexClient | null = null
  #abort: AbortController | null = null
  #signerKey: Hex | null = null

  constructor(deps: EvaluateDependencies = {}) {
    this.#deps = {
      network: deps.network ?? (async () => (await import('./network.svelte.ts')).network()),
      deployment: deps.deployment ?? (() => loadDeployment()),
      store: deps.store ?? indexedDbStore,
      python: deps.python ?? (() => createBrowserPython()),
      problems: deps.problems ?? ((limit) => fetchProblems(problemsUrl, { limit })),
      sentiment: deps.sentiment ?? projectHeadlines,
    }
  }

  /** Registered nodes the directory lists now (any of them can be evaluated). */
  get nodes(): DirectoryEntry[] {
    return (this.net?.nodes ?? []).filter((e) => e.registered !== false)
  }

  get entry(): DirectoryEntry | undefined {
    return this.nodes.find((e) => e.peerId === this.node)
  }

  async init(): Promise<void> {
    try {
      this.deployment = await this.#deps.deployment()
      if (!this.deployment) return
      this.wallet = new WalletState({
        deployment: this.deployment,
        store: this.#deps.store(),
        role: 'evaluator',
        funder: 8,
      })
      const net = await this.#deps.network()
      this.net = net
      void net.start()
      const signer = await loadOrCreateSignerKey(this.#deps.store())
      this.#signerKey = signer.privateKey
      this.signer = signer.address
      await this.refreshEvaluator()
    } catch (error) {
      this.error = message(error)
    }
  }

  /** Reads which operator the registry binds this app's node signer to (after going online in the Node view). */
  async refreshEvaluator(): Promise<void> {
    const registry = this.deployment?.contracts.NodeRegistry
    if (!this.deployment || !registry || !this.signer) return
    const reader = createPublicClient({ transport: http(this.deployment.rpcUrl, { retryCount: 0, timeout: 5_000 }) })
    const operator = await readContract(reader, {
      address: registry,
      abi: nodeRegistryAbi,
      functionName: 'activeOperatorOf',
      args: [this.signer],
    }).catch(() => zeroAddress)
    this.evaluator = operator === zeroAddress ? null : operator
  }

  choose(peerId: string): void {
    this.node = peerId
    const models = this.entry?.announcement.models ?? []
    if (!models.some((m) => m.id === this.model)) this.model = models[0]?.id ?? ''
  }

  async start(): Promise<void> {
    if (this.phase === 'running' || this.phase === 'publishing') return
    const entry = this.entry
    const wallet = this.wallet?.client
    this.error = null
    this.run = null
    this.published = []
    this.progress = null
    if (!this.deployment || !wallet)
      return void (this.error = 'Connect a wallet first: the suites pay the node like any consumer.')
    if (!entry) return void (this.error = 'Pick a node to evaluate.')
    const net = this.net
    if (!net?.node) return void (this.error = net?.error ?? 'The network node has not started.')
    const suites = (Object.keys(this.suites) as EvaluationSuite[]).filter((s) => this.suites[s])
    const limit = Math.max(1, Math.min(100, Math.floor(this.limit)))
    this.phase = 'running'
    this.#abort = new AbortController()
    let python: BrowserPython | null = null
    try {
      await this.refreshEvaluator()
      // One client per run: it knows the node's models by their announced hashes.
      await this.#client?.stop().catch(() => {})
      this.#client = createClient({
        deployment: this.deployment,
        wallet,
        node: net.node,
        ...(net.directory ? { directory: net.directory } : {}),
        store: this.#deps.store(),
        models: entry.announcement.models.map((m) => ({ id: m.id, contentHash: m.contentHash })),
      })
      python = suites.includes('fim') ? this.#deps.python() : null
      const run = await runEvaluation({
        client: this.#client,
        target: { entry: $state.snapshot(entry) as DirectoryEntry, model: this.model },
        evaluator: this.evaluator ?? wallet.account.address,
        suites,
        limit,
        ...(suites.includes('fim') ? { problems: await this.#deps.problems(limit) } : {}),
        ...(python ? { runPython: python.run } : {}),
        ...(suites.includes('sentiment') ? { sentiment: await this.#deps.sentiment(limit) } : {}),
        uptime: { probes: limit },
        signal: this.#abort.signal,
        onProgress: (progress) => (this.progress = progress),
      })
      this.run = run
      this.phase = 'scored'
    } catch (error) {
      this.phase = (error as { name?: string }).name === 'EvaluationAbortedError' ? 'cancelled' : 'failed'
      this.error = message(error)
    } finally {
      python?.close()
      this.#abort = null
    }
  }

  cancel(): void {
    this.#abort?.abort(new Error('cancelled from the Evaluate view'))
  }

  /** Signs the run's attestations with this app's node signer and publishes them through the app's attestation book. */
  async publish(): Promise<void> {
    const run = this.run
    const book = this.net?.attestations
    const anchor = this.deployment?.contracts.ReceiptAnchor
    if (!run || !this.deployment || !anchor || !this.#signerKey) return
    if (!book)
      return void (this.error =
        'No attestation book: the app has no registry and ReceiptAnchor to check attestations against.')
    this.phase = 'publishing'
    this.error = null
    try {
      await this.refreshEvaluator()
      if (!this.evaluator)
        throw new Error(
          "This app's node signer is bound to no active node: peers refuse its attestations. Go online in the Node view first (it registers the signer), then publish.",
        )
      const account = privateKeyToAccount(this.#signerKey)
      const domain = { chainId: this.deployment.chainId, verifyingContract: anchor }
      for (const attestation of run.attestations) {
        const verified = await book.publish(
          await signAttestation(account, { ...attestation, evaluator: this.evaluator }, domain),
        )
        this.published = [
          ...this.published,
          {
            suite: attestation.suite,
            score: attestation.score,
            sampleSize: attestation.sampleSize,
            hash: verified.hash,
          },
        ]
      }
      this.phase = 'published'
      // Anchor the batch from the node signer (a registered signer pays the gas); anyone can then ask this app's
      // peer for an inclusion proof. A chain that is down leaves the batch stored for the next publish.
      this.anchoring = 'anchoring'
      const wallet = createWalletClient({ account, transport: http(this.deployment.rpcUrl) })
      const batches = await book.anchorPending(wallet, anchor).catch((error: unknown) => {
        this.error = `Published, not anchored yet: ${message(error)}`
        return null
      })
      const last = batches?.at(-1)
      this.anchoring =
        last?.status === 'anchored'
          ? { root: last.root, transactionHash: last.transactionHash ?? null }
          : 'not anchored'
    } catch (error) {
      this.phase = 'failed'
      this.error = message(error)
    }
  }

  async destroy(): Promise<void> {
    this.cancel()
    await this.#client?.stop().catch(() => {})
  }
}

/** The project's 90 labelled headlines (written for the project: the PhraseBank's licence keeps it out of the app). */
async function projectHeadlines(limit: number): Promise<SentimentTask> {
  const { default: text } = await import('../../../data/financial-headlines.jsonl?raw')
  return sentimentTask(parseSentimentJsonl(text, 'data/financial-headlines.jsonl').slice(0, limit))
}

function message(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error)
}
