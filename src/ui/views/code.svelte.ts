/**
 * The Code view's state: which engine and coder model complete code in this tab, the editor's completion
 * controller and its latency figures, the pairing that lets the localhost gateway use this tab's model, and, with
 * no local model, paid completion from a network node through the SDK (a wallet, the app's network node, a
 * payment channel; each suggestion's receipt is verified and its cost added up here).
 * The engine factory, the deployment, the network and the key store are injectable, so the logic runs in tests.
 */
import { formatPairingLine, newPairToken } from '../../core/autocomplete-pairing.ts'
import type { Suggestion } from '../../core/autocomplete.ts'
import type { Deployment } from '../../core/deployment.ts'
import { percentile } from '../../core/eval.ts'
import { fimFormatFor } from '../../core/fim.ts'
import type { LoadProgress } from '../../core/inference.ts'
import type { ModelRecord } from '../../core/models.ts'
import { inlineCompletion } from '../../autocomplete/codemirror.ts'
import type { CompletedRequest } from '../../autocomplete/controller.ts'
import { wasmCoderModels, webGpuCoderModels, type CoderEngineKind } from '../../autocomplete/engines.ts'
import { startEngine } from '../../engine/start.ts'
import { createPairingService, type PairingService } from '../../autocomplete/pairing.ts'
import { engineCompletionSource, paidCompletionSource } from '../../autocomplete/sources.ts'
import { loadDeployment } from '../../chain/deployment.ts'
import {
  CLIENT_DEFAULTS,
  createClient,
  NoNodeAvailableError,
  type ModelexClient,
  type PaidResult,
} from '../../client/index.ts'
import type { DirectoryEntry } from '../../core/directory.ts'
import type { EngineProxy } from '../../engine/worker-host.ts'
import type { Peer } from '../../p2p/peer.ts'
import { warmUp, type Warmth } from '../../p2p/warm.ts'
import { indexedDbHistory, type HistoryStore } from '../../store/history.ts'
import { indexedDbStore, type KeyValueStore } from '../../store/kv.ts'
import { recordPaid } from '../history-recorder.ts'
import { WalletState } from '../components/wallet/wallet.svelte.ts'
import type { NetworkState } from './network.svelte.ts'
import { summarizeReputation, type ReputationSummary } from './reputation.ts'

export type CodeLanguage = 'python' | 'javascript' | 'typescript'

export const SAMPLES: Record<CodeLanguage, string> = {
  python: 'def fibonacci(n: int) -> int:\n    """Return the n-th Fibonacci number."""\n',
  javascript: 'function debounce(fn, ms) {\n',
  typescript: 'export function chunk<T>(items: T[], size: number): T[][] {\n',
}

export type CodeDependencies = {
  startEngine?: (kind: CoderEngineKind) => EngineProxy
  deployment?: () => Promise<Deployment | null>
  store?: () => KeyValueStore
  /** The app's network: its peer serves the pairing, its node and directory serve paid completion. */
  network?: () => Promise<NetworkState>
  /** Where paid suggestions are recorded for the Spending view (IndexedDB by default). */
  history?: () => HistoryStore
}

/** What paid suggestions have cost so far in this view (AI wei). */
export type PaidTally = { count: number; spent: bigint; credit: bigint; last: PaidResult | null }

/**
 * The pairing token's key in the store (`code-pairing-token`). The pairing line's peer id is the app's (its key is
 * the app's peer key), so the line survives a reload. An older version kept a peer key of its own under
 * `code-peer-key`; it is no longer read.
 */
const PAIRING_TOKEN_KEY = 'code-pairing-token'

/** Registered nodes announcing `model` (only `node`, when given), waiting up to the SDK's discovery time for one. */
async function findNodes(client: ModelexClient, model: string, node: string): Promise<DirectoryEntry[]> {
  const deadline = Date.now() + CLIENT_DEFAULTS.discoveryTimeoutMs
  for (;;) {
    const found = (
      await client.nodes({ model, timeoutMs: Math.max(0, Math.min(5_000, deadline - Date.now())) })
    ).filter((e) => !node || e.peerId === node)
    if (found.length > 0 || Date.now() >= deadline) return found
    // Other nodes are known but not this one: look again shortly (nodes() only waits while none is known).
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

export class CodeState {
  language = $state<CodeLanguage>('python')
  engineKind = $state<CoderEngineKind>('wasm')
  models = $state<ModelRecord[]>(wasmCoderModels())
  selected = $state(wasmCoderModels()[0]?.id ?? '')
  phase = $state<'idle' | 'loading' | 'ready' | 'failed'>('idle')
  progress = $state<LoadProgress | null>(null)
  error = $state<string | null>(null)
  source = $state<string | null>(null)
  suggestion = $state<Suggestion | null>(null)
  latencies = $state<CompletedRequest[]>([])
  pairing = $state<{ peer: string; token: string; line: string; paired: string[]; connection: string } | null>(null)
  pairingError = $state<string | null>(null)
  deployment = $state<Deployment | null>(null)
  wallet = $state<WalletState | null>(null)
  /** Paid network completion: the model to ask for and the node ('auto': the SDK's choice). */
  networkModel = $state(
    wasmCoderModels().find((m) => m.id === 'modelex-demo-30m')?.id ?? wasmCoderModels()[0]?.id ?? '',
  )
  networkNode = $state('auto')
  paid = $state<PaidTally>({ count: 0, spent: 0n, credit: 0n, last: null })
  /** How many registered nodes announce the paid model (null until looked up), and whether the look-up runs. */
  networkNodes = $state<number | null>(null)
  /** The nodes found for paid completion, shown with their reputation for the model. */
  networkEntries = $state.raw<DirectoryEntry[]>([])
  finding = $state(false)

  readonly completion
  #deps: Required<CodeDependencies>
  #engine: EngineProxy | null = null
  #peer: Peer | null = null
  #warmth: Warmth | null = null
  /** The engine this view put into the app peer's engine slot. */
  #served: EngineProxy | null = null
  #pairing: PairingService | null = null
  #stopWatching: (() => void) | null = null
  #client: ModelexClient | null = null
  #net: NetworkState | null = null

  constructor(deps: CodeDependencies = {}) {
    this.#deps = {
      startEngine: deps.startEngine ?? startEngine,
      deployment: deps.deployment ?? (() => loadDeployment()),
      store: deps.store ?? indexedDbStore,
      network: deps.network ?? (async () => (await import('./network.svelte.ts')).network()),
      history: deps.history ?? indexedDbHistory,
    }
    this.completion = inlineCompletion({
      onError: (message) => (this.error = message),
      onSuggestion: (suggestion) => {
        this.suggestion = suggestion
        if (suggestion) this.error = null
      },
      onCompleted: (completed) => (this.latencies = [...this.latencies.slice(-49), completed]),
    })
  }

  get model(): ModelRecord | undefined {
    return this.models.find((m) => m.id === this.selected)
  }

  /** Median and 95th percentile of total latency over the last 50 suggestions. */
  get latencySummary(): { count: number; p50: number; p95: number; firstTokenP50: number } {
    const totals = this.latencies.map((l) => l.totalMs)
    return {
      count: totals.length,
      p50: percentile(totals, 50),
      p95: percentile(totals, 95),
      firstTokenP50: percentile(
        this.latencies.map((l) => l.firstTokenMs),
        50,
      ),
    }
  }

  async chooseEngine(kind: CoderEngineKind): Promise<void> {
    this.engineKind = kind
    this.error = null
    try {
      this.models = kind === 'wasm' ? wasmCoderModels() : await webGpuCoderModels()
      this.selected = this.models[0]?.id ?? ''
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error)
    }
  }

  async load(): Promise<void> {
    // A plain copy: rune state is a Proxy, which cannot be posted to the engine's worker.
    const model = this.model ? ($state.snapshot(this.model) as ModelRecord) : undefined
    if (!model || this.phase === 'loading') return
    this.phase = 'loading'
    this.error = null
    this.progress = null
    try {
      if (!this.#engine || this.#engine.kind !== model.engine) {
        // The shared engine goes away: stop sharing it (Share again serves the new one under the same line).
        await this.#unshare()
        this.#engine?.terminate()
        this.#engine = this.#deps.startEngine(model.engine === 'webgpu' ? 'webgpu' : 'wasm')
      }
      await this.#engine.load(model, { onProgress: (progress) => (this.progress = progress) })
      const source = engineCompletionSource(this.#engine, model)
      this.completion.controller.setSource(source)
      this.source = source.label
      this.#warmth?.stop()
      this.#warmth = null
      this.phase = 'ready'
    } catch (error) {
      this.phase = 'failed'
      this.error = error instanceof Error ? error.message : String(error)
    }
  }

  /**
   * Serves this tab's model to the user's own gateway through the app's peer (the Node view's provider may serve on
   * it at the same time: one infer server, a paired gateway admitted before payment) and shows the pairing line. The
   * app's peer key and the token are kept in IndexedDB, so after a reload the same line still works (the gateway
   * pairs again by itself); `newToken` revokes it.
   */
  async share(): Promise<void> {
    if (this.#pairing || !this.#engine) return
    this.pairingError = null
    try {
      const peer = await this.#appPeer()
      const node = peer.node
      const store = this.#deps.store()
      const stored = await store.get(PAIRING_TOKEN_KEY)
      const token = typeof stored === 'string' && stored.length >= 16 ? stored : newPairToken()
      if (token !== stored) await store.set(PAIRING_TOKEN_KEY, token)
      const engine = this.#engine
      const pairing = createPairingService(node.libp2p, {
        token,
        engine,
        hasFim: () => (this.model ? fimFormatFor(this.model) !== undefined : false),
      })
      await pairing.start()
      peer.serve(engine)
      peer.policies.set('pairing', pairing.policy)
      this.#peer = peer
      this.#served = engine
      this.#pairing = pairing
      const peerId = node.peerId.toString()
      this.pairing = { peer: peerId, token, line: formatPairingLine(peerId, token), paired: [], connection: node.state }
      pairing.onPaired(
        (gateway) => this.pairing && (this.pairing = { ...this.pairing, paired: [...this.pairing.paired, gateway] }),
      )
      this.#stopWatching = node.onStateChange(
        (connection) => this.pairing && (this.pairing = { ...this.pairing, connection }),
      )
    } catch (error) {
      this.pairingError = error instanceof Error ? error.message : String(error)
    }
  }

  /** A new pairing token: every gateway paired with the old one is forgotten and must be given the new line. */
  async newToken(): Promise<void> {
    if (!this.#pairing || !this.pairing) return
    const token = newPairToken()
    await this.#deps.store().set(PAIRING_TOKEN_KEY, token)
    this.#pairing.setToken(token)
    this.pairing = { ...this.pairing, token, line: formatPairingLine(this.pairing.peer, token), paired: [] }
  }

  /** Reads the deployment and makes the wallet panel (paid completion pays from it). */
  async init(): Promise<void> {
    this.deployment = await this.#deps.deployment().catch(() => null)
    if (this.deployment)
      this.wallet = new WalletState({
        deployment: this.deployment,
        store: this.#deps.store(),
        role: 'coder',
        funder: 5,
      })
  }

  /**
   * Paid completion from a network node: every suggestion is quoted, paid by voucher, and its receipt verified.
   * First finds the nodes that announce the model (the chosen one, when a peer id is given), so the first suggestion
   * does not wait for discovery and a missing node is said at once.
   */
  async usePaidNetwork(): Promise<void> {
    this.error = null
    this.networkNodes = null
    this.finding = true
    try {
      const client = await this.#paidClient()
      const model = this.networkModel.trim()
      const node = this.networkNode.trim() === 'auto' ? '' : this.networkNode.trim()
      const nodes = await findNodes(client, model, node)
      this.networkNodes = nodes.length
      this.networkEntries = nodes
      if (nodes.length === 0)
        throw new NoNodeAvailableError({
          model,
          details: node
            ? `${node} does not announce it as a registered node`
            : 'no registered node announces it yet; try again in a moment',
        })
      const record = wasmCoderModels().find((m) => m.id === model)
      const format = record ? fimFormatFor(record) : undefined
      const source = paidCompletionSource(client, {
        model,
        ...(format ? { format } : {}),
        ...(node ? { node } : {}),
        // A suggestion is worth fractions of a cent and must come before the user types on: no seed, so the node
        // may reuse its cache of this editor's previous prompt (receipts are then not `deterministic`).
        reproducible: false,
        onPaid: (result) => {
          this.paid = {
            count: this.paid.count + 1,
            spent: this.paid.spent + result.cost,
            credit: result.credit,
            last: result,
          }
          void recordPaid(this.#deps.history(), result)
        },
      })
      this.completion.controller.setSource(source)
      this.source = source.label
      // Keep the node that will answer warm (connected, a negotiated stream ready): the SDK's automatic choice is
      // the first candidate, so a suggestion does not pay for connection set-up.
      const target = node || nodes[0]?.peerId
      this.#warmth?.stop()
      this.#warmth = target && this.#net?.node ? warmUp(this.#net.node, target) : null
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error)
    } finally {
      this.finding = false
    }
  }

  async #paidClient(): Promise<ModelexClient> {
    if (this.#client) return this.#client
    const wallet = this.wallet?.client
    if (!this.deployment)
      throw new Error('No deployment: start the local stack (npm start) so this tab can reach the network.')
    if (!wallet) throw new Error('Connect a wallet first: paid completion pays each suggestion from it.')
    const net = await this.#deps.network()
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
    })
    return this.#client
  }

  /** A found node's reputation for the paid model, from the app's attestation book ("unknown" without enough evidence). */
  reputationOf(entry: DirectoryEntry): ReputationSummary {
    const hash = entry.announcement.models.find((m) => m.id === this.networkModel.trim())?.contentHash
    return summarizeReputation(hash && this.#net ? this.#net.reputationOf(entry.announcement.operator, hash) : null)
  }

  /** The app's peer, started if it was not. */
  async #appPeer(): Promise<Peer> {
    const net = await this.#deps.network()
    await net.start()
    if (net.phase === 'no-relay')
      throw new Error('No relay: start the local stack (npm start) so this tab can reach the network.')
    if (!net.peer) throw new Error(net.error ?? 'the network node did not start')
    return net.peer
  }

  /** Takes this view's engine and pairing out of the app's peer, which keeps running (it is the app's). */
  async #unshare(): Promise<void> {
    if (this.#peer) {
      this.#peer.policies.delete('pairing')
      if (this.#served) this.#peer.stopServing(this.#served)
    }
    this.#stopWatching?.()
    await this.#pairing?.stop()
    this.#stopWatching = null
    this.#peer = null
    this.#served = null
    this.#pairing = null
    this.pairing = null
  }

  async destroy(): Promise<void> {
    this.#warmth?.stop()
    this.completion.controller.destroy()
    await this.#client?.stop()
    await this.#unshare()
    this.#engine?.terminate()
  }
}
