/**
 * The consumer journey as rune state for the Chat view: pick a node (or automatic: the cheapest under a latency
 * bar), see its exact quote, and chat with streaming; the SDK (`src/client/`) opens or tops up the channel, signs
 * the vouchers and verifies every receipt. Each answer keeps its cost and receipt; "verify" checks the anchored
 * batch on-chain with the Merkle proof. Channels and receipts persist in IndexedDB. Dependencies are injectable.
 */
import { loadDeployment } from '../../chain/deployment.ts'
import type { Deployment } from '../../core/deployment.ts'
import type { DirectoryEntry } from '../../core/directory.ts'
import type { ChatMessage } from '../../core/inference.ts'
import { modelChoices, type ModelChoices } from '../../core/model-choices.ts'
import { DEMO_MODELS, WASM_CATALOG } from '../../core/models.ts'
import type { Quote } from '../../core/quote.ts'
import { createClient, type ModelexClient, type PaidResult, type Verification } from '../../client/index.ts'
import type { JobHandle, JobResultView, JobStatus } from '../../client/jobs.ts'
import { parseEther } from 'viem'
import { indexedDbHistory, type HistoryStore } from '../../store/history.ts'
import { indexedDbStore, type KeyValueStore } from '../../store/kv.ts'
import { recordPaid, recordVerification } from '../history-recorder.ts'
import { WalletState } from '../components/wallet/wallet.svelte.ts'
import { warmUp, type Warmth } from '../../p2p/warm.ts'
import type { NetworkState } from './network.svelte.ts'
import {
  reputationRequirement,
  summarizeReputation,
  type ReputationFloor,
  type ReputationSummary,
} from './reputation.ts'

/** `job`: the answer was asked as an async job (pending until a node runs it; its verified result lands in `jobResult`). */
export type ChatTurn = {
  role: 'user' | 'assistant'
  content: string
  result?: PaidResult
  error?: string
  verification?: Verification | 'checking' | undefined
  job?: { id: string; status: JobStatus }
  jobResult?: JobResultView
}

/** A long wait shown as steps (`StepProgress`): which one runs now, and what it is doing. */
export type ChatProgress = { steps: string[]; current: number; detail?: string }

export type ChatViewDependencies = {
  network: () => Promise<NetworkState>
  deployment?: () => Promise<Deployment | null>
  store?: () => KeyValueStore
  /** Where paid answers and receipt checks are recorded for the Spending view (IndexedDB by default). */
  history?: () => HistoryStore
}

export class ChatViewState {
  deployment = $state<Deployment | null>(null)
  wallet = $state<WalletState | null>(null)
  model = $state(DEMO_MODELS.find((m) => m.id === 'modelex-demo-30m')?.id ?? 'modelex-demo-tiny')
  /** A peer id, or 'auto'. */
  node = $state<string>('auto')
  nodes = $state<DirectoryEntry[]>([])
  /** The least reputation a node needs to be listed or chosen: 'any', 'known' (enough evidence), or a 0..100 floor. */
  minReputation = $state<ReputationFloor>('any')
  maxTokens = $state(64)
  quote = $state<Quote | null>(null)
  turns = $state<ChatTurn[]>([])
  busy = $state(false)
  error = $state<string | null>(null)
  /** Send the next prompt as an async job: cheaper, run when a node is idle, answered later. */
  asJob = $state(false)
  jobDeadlineMinutes = $state(10)
  /** The most a job pays, in AI per million input and output tokens (below the live prices). */
  jobPriceIn = $state('0.0005')
  jobPriceOut = $state('0.0015')
  /** What a send or a node search is waiting for, step by step; null when nothing is. */
  progress = $state<ChatProgress | null>(null)
  /** The app's network, once the view knows there is one: its directory feeds the model picker. */
  network = $state.raw<NetworkState | null>(null)
  #deps: Required<ChatViewDependencies>
  #client: ModelexClient | null = null
  #net: NetworkState | null = null
  #warmth: Warmth | null = null

  constructor(deps: ChatViewDependencies) {
    this.#deps = { deployment: () => loadDeployment(), store: indexedDbStore, history: indexedDbHistory, ...deps }
  }

  async init(): Promise<void> {
    this.deployment = await this.#deps.deployment()
    if (this.deployment)
      this.wallet = new WalletState({
        deployment: this.deployment,
        store: this.#deps.store(),
        role: 'consumer',
        funder: 6,
      })
    // With a relay, join the network at once: its directory fills the model picker while the user connects a wallet.
    if (this.deployment?.relay) {
      const net = await this.#deps.network()
      this.network = net
      void net.start()
    }
  }

  /**
   * The model picker: models the nodes heard so far announce (the app's directory and the last "Find nodes"), then
   * the models this app knows, then the current choice if it is neither.
   */
  get modelChoices(): ModelChoices {
    // One entry per peer: the directory's and the last search's can both hold the same node.
    const entries = [...this.nodes, ...(this.network?.nodes ?? [])]
    return modelChoices(
      entries.filter((entry, i) => entries.findIndex((other) => other.peerId === entry.peerId) === i),
      WASM_CATALOG,
      this.model,
    )
  }

  async #ready(): Promise<ModelexClient> {
    if (this.#client) return this.#client
    const wallet = this.wallet?.client
    if (!this.deployment || !wallet) throw new Error('Connect a wallet first.')
    const net = await this.#deps.network()
    this.network = net
    await net.start()
    if (!net.node) throw new Error(net.error ?? 'the network node did not start')
    this.#net = net
    this.#client = createClient({
      deployment: this.deployment,
      wallet,
      node: net.node,
      ...(net.directory ? { directory: net.directory } : {}),
      store: this.#deps.store(),
      reputation: net.reputationLookup,
      ...reputationRequirement(this.minReputation),
    })
    return this.#client
  }

  /**
   * Keeps the picked node warm (connected, with a negotiated stream ready), so the first token does not wait for
   * connection set-up; 'auto' keeps the first candidate warm. Called whenever the pick or the list changes.
   */
  keepWarm(node: string, nodes: readonly DirectoryEntry[]): void {
    const target = node === 'auto' ? nodes[0]?.peerId : node
    this.#warmth?.stop()
    this.#warmth = target && this.#net?.node ? warmUp(this.#net.node, target) : null
  }

  destroy(): void {
    this.#warmth?.stop()
    this.#warmth = null
  }

  /** A listed node's reputation for the chosen model, from the app's attestation book ("unknown" without enough evidence). */
  reputationOf(entry: DirectoryEntry): ReputationSummary {
    const hash = entry.announcement.models.find((m) => m.id === this.model)?.contentHash
    return summarizeReputation(hash && this.#net ? this.#net.reputationOf(entry.announcement.operator, hash) : null)
  }

  /** Applies a new reputation floor to automatic choice and the node list (an unknown node passes a numeric floor). */
  async setMinReputation(floor: ReputationFloor): Promise<void> {
    this.minReputation = floor
    this.#client?.setReputationRequirement(reputationRequirement(floor))
    if (this.#client) await this.refreshNodes()
  }

  async refreshNodes(): Promise<void> {
    const steps = ['Connecting to the network', `Listening for nodes that serve ${this.model} (up to 5 s)`]
    await this.#guard(async () => {
      this.progress = { steps, current: 0 }
      const client = await this.#ready()
      this.progress = { steps, current: 1 }
      this.nodes = await client.nodes({ model: this.model, timeoutMs: 5_000 })
    })
  }

  /**
   * The steps of a paid answer. Paying starts with a payment channel to the node's operator: the first answer from
   * an operator opens one (an on-chain transaction, the longest wait), later ones only sign a voucher.
   */
  async #payingStep(client: ModelexClient): Promise<string> {
    const channels = await client.channels().catch(() => ({}))
    const operator =
      this.node === 'auto'
        ? null
        : this.nodes.find((entry) => entry.peerId === this.node)?.announcement.operator.toLowerCase()
    const known = operator ? operator in channels : Object.keys(channels).length > 0
    return known
      ? 'Getting the quote and signing a voucher on the payment channel'
      : 'Getting the quote and opening a payment channel (one on-chain transaction)'
  }

  #messages(extra: string): ChatMessage[] {
    return [
      ...this.turns.filter((t) => !t.error).map((t) => ({ role: t.role, content: t.content })),
      { role: 'user', content: extra },
    ]
  }

  async getQuote(prompt: string): Promise<void> {
    await this.#guard(async () => {
      const client = await this.#ready()
      const { quote } = await client.quote({
        model: this.model,
        messages: this.#messages(prompt),
        max_tokens: this.maxTokens,
        ...(this.node === 'auto' ? {} : { node: this.node }),
      })
      this.quote = quote
    })
  }

  async send(prompt: string): Promise<void> {
    if (this.asJob) return this.#sendAsJob(prompt)
    await this.#guard(async () => {
      const steps = [
        'Connecting to the network',
        'Getting the quote and paying',
        'Waiting for the first token',
        'Streaming the answer',
      ]
      this.progress = { steps, current: 0 }
      const client = await this.#ready()
      steps[1] = await this.#payingStep(client)
      this.progress = { steps, current: 1 }
      const messages = this.#messages(prompt)
      this.turns.push({ role: 'user', content: prompt })
      this.turns.push({ role: 'assistant', content: '' })
      const turn = this.turns[this.turns.length - 1] as ChatTurn
      try {
        const stream = await client.chat.completions.create({
          model: this.model,
          messages,
          max_tokens: this.maxTokens,
          stream: true,
          ...(this.node === 'auto' ? {} : { node: this.node }),
        })
        this.progress = { steps, current: 2 }
        for await (const chunk of stream) {
          if (this.progress?.current === 2) this.progress = { steps, current: 3 }
          turn.content += chunk.choices[0]?.delta.content ?? ''
        }
        turn.result = await stream.result
        void recordPaid(this.#deps.history(), turn.result)
        this.quote = turn.result.quote
      } catch (error) {
        const partial = (error as { text?: string }).text
        if (typeof partial === 'string') turn.content = partial
        turn.error = error instanceof Error ? (error.message.split('\n')[0] ?? 'error') : String(error)
      }
    })
  }

  /** Posts the prompt as an async job; the turn shows it pending and fills in when the result is fetched. */
  async #sendAsJob(prompt: string): Promise<void> {
    await this.#guard(async () => {
      const steps = ['Connecting to the network', 'Posting the job to the network']
      this.progress = { steps, current: 0 }
      const client = await this.#ready()
      this.progress = { steps, current: 1 }
      const messages = this.#messages(prompt)
      this.turns.push({ role: 'user', content: prompt })
      this.turns.push({ role: 'assistant', content: '' })
      const turn = this.turns[this.turns.length - 1] as ChatTurn
      try {
        const handle = await client.jobs.post(
          { model: this.model, messages, max_tokens: this.maxTokens },
          {
            deadline: Date.now() + this.jobDeadlineMinutes * 60_000,
            maxPricePerMillionIn: parseEther(this.jobPriceIn),
            maxPricePerMillionOut: parseEther(this.jobPriceOut),
          },
        )
        turn.job = { id: handle.id, status: handle.status() }
        void this.#follow(turn, handle)
      } catch (error) {
        turn.error = error instanceof Error ? (error.message.split('\n')[0] ?? 'error') : String(error)
      }
    })
  }

  async #follow(turn: ChatTurn, handle: JobHandle): Promise<void> {
    const tick = setInterval(() => {
      if (turn.job) turn.job.status = handle.status()
    }, 500)
    try {
      const result = await handle.result()
      turn.content = result.text
      turn.jobResult = result
      void recordPaid(this.#deps.history(), result)
    } catch (error) {
      turn.error = error instanceof Error ? (error.message.split('\n')[0] ?? 'error') : String(error)
    } finally {
      clearInterval(tick)
      if (turn.job) turn.job.status = handle.status()
    }
  }

  async verify(index: number): Promise<void> {
    const turn = this.turns[index]
    if (!turn?.result || !this.#client) return
    turn.verification = 'checking'
    try {
      const verification = await this.#client.verify(turn.result)
      turn.verification = verification
      void recordVerification(this.#deps.history(), turn.result.receipt.receiptHash, verification)
    } catch (error) {
      turn.verification = undefined
      this.error = (error as Error).message.split('\n')[0] ?? 'error'
    }
  }

  async #guard(work: () => Promise<void>): Promise<void> {
    this.busy = true
    this.error = null
    try {
      await work()
    } catch (error) {
      this.error = error instanceof Error ? (error.message.split('\n')[0] ?? 'error') : String(error)
    } finally {
      this.busy = false
      this.progress = null
    }
  }
}
