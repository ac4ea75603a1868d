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
import { CLIENT_DEFAULTS, createClient, NoNodeAvailableError, type ModelexClient, type PaidResult } from '../../client/index.ts'
import type { DirectoryEntry } from '../../core/directory.ts'
import type { EngineProxy } from '../../engine/worker-host.ts'
import { createInferServer, type InferServer } from '../../p2p/infer-server.ts'
import { createModelexNode, type ModelexNode } from '../../p2p/node.ts'
import { indexedDbStore, type KeyValueStore } from '../../store/kv.ts'
import { loadOrCreatePeerKey } from '../../store/peer-key.ts'
import { WalletState } from '../components/wallet/wallet.svelte.ts'
import type { NetworkState } from './network.svelte.ts'

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
  /** The app's network node (paid completion uses it and its directory). */
  network?: () => Promise<NetworkState>
}

/** What paid suggestions have cost so far in this view (AI wei). */
export type PaidTally = { count: number; spent: bigint; credit: bigint; last: PaidResult | null }

/** The Code view's peer has its own key: the app's Network view runs a node with the app's key at the same time. */
const CODE_KEY_PREFIX = 'code-'
const PAIRING_TOKEN_KEY = 'pairing-token'

/** Registered nodes announcing `model` (only `node`, when given), waiting up to the SDK's discovery time for one. */
async function findNodes(client: ModelexClient, model: string, node: string): Promise<DirectoryEntry[]> {
  const deadline = Date.now() + CLIENT_DEFAULTS.discoveryTimeoutMs
  for (;;) {
    const found = (await client.nodes({ model, timeoutMs: Math.max(0, Math.min(5_000, deadline - Date.now())) })).filter((e) => !node || e.peerId === node)
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
  networkModel = $state(wasmCoderModels().find((m) => m.id === 'modelex-demo-30m')?.id ?? wasmCoderModels()[0]?.id ?? '')
  networkNode = $state('auto')
  paid = $state<PaidTally>({ count: 0, spent: 0n, credit: 0n, last: null })
  /** How many registered nodes announce the paid model (null until looked up), and whether the look-up runs. */
  networkNodes = $state<number | null>(null)
  finding = $state(false)

  readonly completion
  #deps: Required<CodeDependencies>
  #engine: EngineProxy | null = null
  #node: ModelexNode | null = null
  #pairing: PairingService | null = null
  #server: InferServer | null = null
  #client: ModelexClient | null = null

  constructor(deps: CodeDependencies = {}) {
    this.#deps = {
      startEngine: deps.startEngine ?? startEngine,
      deployment: deps.deployment ?? (() => loadDeployment()),
      store: deps.store ?? indexedDbStore,
      network: deps.network ?? (async () => (await import('./network.svelte.ts')).network()),
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
    return { count: totals.length, p50: percentile(totals, 50), p95: percentile(totals, 95), firstTokenP50: percentile(this.latencies.map((l) => l.firstTokenMs), 50) }
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
        this.#engine?.terminate()
        this.#engine = this.#deps.startEngine(model.engine === 'webgpu' ? 'webgpu' : 'wasm')
      }
      await this.#engine.load(model, { onProgress: (progress) => (this.progress = progress) })
      const source = engineCompletionSource(this.#engine, model)
      this.completion.controller.setSource(source)
      this.source = source.label
      this.phase = 'ready'
    } catch (error) {
      this.phase = 'failed'
      this.error = error instanceof Error ? error.message : String(error)
    }
  }

  /**
   * Serves this tab's model to the user's own gateway: starts a peer on the relay and shows the pairing line. The
   * peer key and the token are kept in IndexedDB, so after a reload the same line still works (the gateway pairs
   * again by itself); `newToken` revokes it.
   */
  async share(): Promise<void> {
    if (this.#pairing || !this.#engine) return
    this.pairingError = null
    try {
      const node = await this.#startNode()
      const stored = await this.#codeStore().get(PAIRING_TOKEN_KEY)
      const token = typeof stored === 'string' && stored.length >= 16 ? stored : newPairToken()
      if (token !== stored) await this.#codeStore().set(PAIRING_TOKEN_KEY, token)
      const engine = this.#engine
      const pairing = createPairingService(node.libp2p, { token, engine, hasFim: () => (this.model ? fimFormatFor(this.model) !== undefined : false) })
      const server = createInferServer(node.libp2p, { engine, policy: pairing.policy })
      await pairing.start()
      await server.start()
      this.#pairing = pairing
      this.#server = server
      const peer = node.peerId.toString()
      this.pairing = { peer, token, line: formatPairingLine(peer, token), paired: [], connection: node.state }
      pairing.onPaired((gateway) => this.pairing && (this.pairing = { ...this.pairing, paired: [...this.pairing.paired, gateway] }))
      node.onStateChange((connection) => this.pairing && (this.pairing = { ...this.pairing, connection }))
    } catch (error) {
      this.pairingError = error instanceof Error ? error.message : String(error)
    }
  }

  /** A new pairing token: every gateway paired with the old one is forgotten and must be given the new line. */
  async newToken(): Promise<void> {
    if (!this.#pairing || !this.pairing) return
    const token = newPairToken()
    await this.#codeStore().set(PAIRING_TOKEN_KEY, token)
    this.#pairing.setToken(token)
    this.pairing = { ...this.pairing, token, line: formatPairingLine(this.pairing.peer, token), paired: [] }
  }

  /** Reads the deployment and makes the wallet panel (paid completion pays from it). */
  async init(): Promise<void> {
    this.deployment = await this.#deps.deployment().catch(() => null)
    if (this.deployment) this.wallet = new WalletState({ deployment: this.deployment, store: this.#deps.store(), role: 'coder', funder: 5 })
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
      if (nodes.length === 0) throw new NoNodeAvailableError({ model, details: node ? `${node} does not announce it as a registered node` : 'no registered node announces it yet; try again in a moment' })
      const record = wasmCoderModels().find((m) => m.id === model)
      const format = record ? fimFormatFor(record) : undefined
      const source = paidCompletionSource(client, {
        model,
        ...(format ? { format } : {}),
        ...(node ? { node } : {}),
        onPaid: (result) => (this.paid = { count: this.paid.count + 1, spent: this.paid.spent + result.cost, credit: result.credit, last: result }),
      })
      this.completion.controller.setSource(source)
      this.source = source.label
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error)
    } finally {
      this.finding = false
    }
  }

  async #paidClient(): Promise<ModelexClient> {
    if (this.#client) return this.#client
    const wallet = this.wallet?.client
    if (!this.deployment) throw new Error('No deployment: start the local stack (npm start) so this tab can reach the network.')
    if (!wallet) throw new Error('Connect a wallet first: paid completion pays each suggestion from it.')
    const net = await this.#deps.network()
    await net.start()
    if (!net.node) throw new Error(net.error ?? 'the network node did not start')
    this.#client = createClient({ deployment: this.deployment, wallet, node: net.node, ...(net.directory ? { directory: net.directory } : {}), store: this.#deps.store() })
    return this.#client
  }

  /** The store under this view's prefix: its peer key and pairing token. */
  #codeStore(): KeyValueStore {
    const store = this.#deps.store()
    return { get: (key) => store.get(CODE_KEY_PREFIX + key), set: (key, value) => store.set(CODE_KEY_PREFIX + key, value) }
  }

  async #startNode(): Promise<ModelexNode> {
    if (this.#node) return this.#node
    const deployment = await this.#deps.deployment()
    if (!deployment?.relay) throw new Error('No relay: start the local stack (npm start) so this tab can reach the network.')
    const node = await createModelexNode({ privateKey: await loadOrCreatePeerKey(this.#codeStore()), relays: [deployment.relay] })
    await node.start()
    this.#node = node
    return node
  }

  async destroy(): Promise<void> {
    this.completion.controller.destroy()
    await this.#client?.stop()
    await this.#server?.stop()
    await this.#pairing?.stop()
    await this.#node?.stop()
    this.#engine?.terminate()
  }
}
