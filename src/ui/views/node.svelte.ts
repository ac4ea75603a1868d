/**
 * The provider journey as rune state for the Node view: load a model into the app's engine, connect a wallet,
 * register and stake, go online through the app's peer (its libp2p node and infer server), and watch the provider service (`src/node/`) serve,
 * anchor and redeem. `#/node?autostart=1&model=<id>` runs the whole sequence with the devnet burner wallet (the
 * local stack's headless demo provider opens the app that way; add `&oracle=1` to answer oracle requests too).
 * "Answer oracle requests" opts the provider in to the devnet SentimentConsumer's template (the built-in sentiment
 * template, registered for modelex-demo-30m): it commits and reveals answers to OracleRouter requests of it.
 * Dependencies are injectable.
 */
import { createPublicClient, http, parseEther, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { sendTransaction } from 'viem/actions'
import { loadDeployment } from '../../chain/deployment.ts'
import type { Batch } from '../../core/batch.ts'
import type { Deployment } from '../../core/deployment.ts'
import { WASM_CATALOG, type ModelRecord } from '../../core/models.ts'
import { PROVIDER_DEFAULTS } from '../../node/constants.ts'
import type { OracleMetrics } from '../../node/oracle.ts'
import { createProviderService, type ProviderMetrics, type ProviderService } from '../../node/provider.ts'
import { registerProvider } from '../../node/register.ts'
import { indexedDbHistory, type HistoryStore } from '../../store/history.ts'
import { indexedDbStore, type KeyValueStore } from '../../store/kv.ts'
import { loadOrCreateSignerKey } from '../../store/signer-key.ts'
import { DEVNET_PARAMETERS, SENTIMENT_MODEL_HASH, SENTIMENT_TEMPLATE_HASH } from '../../chain/constants.ts'
import { WalletState } from '../components/wallet/wallet.svelte.ts'
import type { EngineSession } from '../engine-session.svelte.ts'
import { createServedRecorder, type ServedRecorder } from '../history-recorder.ts'
import { ProviderDashboard } from './provider-dashboard.svelte.ts'
import type { NetworkState } from './network.svelte.ts'

/** The oracle service's counters as the Node view shows them. */
export type NodeOracleMetrics = OracleMetrics & {
  /** Requests of the opted-in templates this node picked up. */
  seen: number
}

/** Templates the Node view's "Answer oracle requests" opts in to, and the model they are registered for. */
export const NODE_ORACLE_TEMPLATES: readonly Hex[] = [SENTIMENT_TEMPLATE_HASH]
export const NODE_ORACLE_MODEL: Hex = SENTIMENT_MODEL_HASH

export type NodePhase = 'setup' | 'registering' | 'online' | 'stopping' | 'failed'

export type NodeViewDependencies = {
  engine: EngineSession
  network: () => Promise<NetworkState>
  deployment?: () => Promise<Deployment | null>
  store?: () => KeyValueStore
  /** Where served requests and uptime are recorded for the charts (IndexedDB by default). */
  history?: () => HistoryStore
}

export class NodeViewState {
  phase = $state<NodePhase>('setup')
  step = $state<string>('')
  error = $state<string | null>(null)
  deployment = $state<Deployment | null>(null)
  wallet = $state<WalletState | null>(null)
  /** Prices in AI per million tokens (decimal text, as typed). */
  priceInput = $state('0.001')
  priceOutput = $state('0.002')
  batchSize = $state<number>(PROVIDER_DEFAULTS.batchMaxReceipts)
  batchMinutes = $state<number>(PROVIDER_DEFAULTS.batchMaxAgeMs / 60_000)
  redeemThreshold = $state('1')
  /** Answer OracleRouter requests of the sentiment template (commit-reveal), off by default. */
  answerOracle = $state(false)
  oracleMetrics = $state<NodeOracleMetrics | null>(null)
  metrics = $state<ProviderMetrics | null>(null)
  batches = $state<Batch[]>([])
  peerId = $state<string | null>(null)
  /** WebAssembly (llama.cpp, any browser) or WebGPU (web-llm, needs a GPU). */
  engineKind = $state<'wasm' | 'webgpu'>('wasm')
  // Raw: records go to the engine worker by postMessage, which cannot clone a rune proxy.
  models = $state.raw<readonly ModelRecord[]>(WASM_CATALOG)
  #deps: Required<NodeViewDependencies>
  #service: ProviderService | null = null
  #stopWatch: (() => void) | null = null
  #recorder: ServedRecorder | null = null
  /** The History charts (earnings, requests and jobs, tokens/s, latency, uptime). */
  readonly dashboard: ProviderDashboard

  constructor(deps: NodeViewDependencies) {
    this.#deps = { deployment: () => loadDeployment(), store: indexedDbStore, history: indexedDbHistory, ...deps }
    this.dashboard = new ProviderDashboard({ history: this.#deps.history })
  }

  get engine(): EngineSession {
    return this.#deps.engine
  }

  async init(): Promise<void> {
    void this.dashboard.reload()
    this.deployment = await this.#deps.deployment()
    if (this.deployment)
      this.wallet = new WalletState({
        deployment: this.deployment,
        store: this.#deps.store(),
        role: 'provider',
        funder: 7,
      })
  }

  async chooseEngine(kind: 'wasm' | 'webgpu'): Promise<void> {
    this.engineKind = kind
    // web-llm's catalog is large: loaded only when asked for.
    this.models = kind === 'wasm' ? WASM_CATALOG : (await import('../../engine/webgpu/catalog.ts')).webGpuCatalog()
  }

  async load(id: string): Promise<void> {
    const record = this.models.find((m) => m.id === id)
    if (!record) throw new Error(`unknown model ${id}`)
    await this.#deps.engine.load(record)
  }

  async goOnline(): Promise<void> {
    const deployment = this.deployment
    const wallet = this.wallet?.client
    const engine = this.#deps.engine.engine
    const model = this.#deps.engine.model
    if (!deployment || !wallet || !engine || !model) {
      const engineError = this.#deps.engine.error?.message
      this.error = engineError
        ? `The model did not load: ${engineError.split('\n')[0] ?? ''}`
        : 'Load a model and connect a wallet first.'
      this.phase = 'failed'
      return
    }
    this.phase = 'registering'
    this.error = null
    try {
      this.step = 'starting the network node'
      const net = await this.#deps.network()
      await net.start()
      const peer = net.peer
      if (!peer) throw new Error(net.error ?? 'the network node did not start (no relay in the deployment?)')
      const node = peer.node
      this.peerId = node.peerId.toString()
      const store = this.#deps.store()
      const signer = await loadOrCreateSignerKey(store)
      const transport = http(deployment.rpcUrl)
      const reader = createPublicClient({ transport, pollingInterval: 100 })
      this.step = 'funding the node signer with gas'
      if ((await reader.getBalance({ address: signer.address })) < parseEther('0.05')) {
        const hash = await sendTransaction(wallet, {
          to: signer.address,
          value: parseEther('0.2'),
          chain: wallet.chain ?? null,
          account: wallet.account,
        })
        await reader.waitForTransactionReceipt({ hash })
      }
      const prices = {
        pricePerMillionInput: parseEther(this.priceInput),
        pricePerMillionOutput: parseEther(this.priceOutput),
      }
      this.step = 'registering and staking'
      await registerProvider(wallet, reader, {
        deployment,
        signer: privateKeyToAccount(signer.privateKey),
        peerId: node.peerId.toString(),
        models: [(this.#deps.engine.loaded?.contentHash ?? model.contentHash) as Hex],
        prices,
        stake: DEVNET_PARAMETERS.minStake,
      })
      this.step = 'announcing'
      const recorder = createServedRecorder({
        history: this.#deps.history(),
        model: () => this.#deps.engine.loaded?.id ?? model.id,
        onRecorded: () => void this.dashboard.reload(),
      })
      const service = createProviderService(
        // The app's peer: the Code view may share its own model on the same infer server (paired gateways first).
        { peer, engine, deployment, transport, store },
        {
          signer,
          operator: wallet.account.address,
          prices,
          batch: { maxReceipts: this.batchSize, maxAgeMs: this.batchMinutes * 60_000 },
          redeemThreshold: parseEther(this.redeemThreshold),
          // Async jobs fill idle time at half the live prices (live requests always come first).
          jobs: {
            enabled: true,
            prices: {
              pricePerMillionInput: prices.pricePerMillionInput / 2n,
              pricePerMillionOutput: prices.pricePerMillionOutput / 2n,
            },
          },
          ...(this.answerOracle ? { oracle: { enabled: true, templates: NODE_ORACLE_TEMPLATES } } : {}),
          onReceipt: recorder.onReceipt,
        },
      )
      await service.start()
      this.#service = service
      recorder.watch(peer)
      recorder.online()
      this.#recorder = recorder
      const refresh = () => {
        this.metrics = service.metrics()
        this.batches = [...service.batches()]
        const oracle = service.oracle
        this.oracleMetrics = oracle ? { ...oracle.metrics(), seen: oracle.jobs().length } : null
      }
      this.#stopWatch = service.onChange(refresh)
      refresh()
      this.phase = 'online'
      this.step = ''
    } catch (error) {
      this.phase = 'failed'
      this.error = error instanceof Error ? (error.message.split('\n')[0] ?? 'error') : String(error)
    }
  }

  async anchorNow(): Promise<void> {
    await this.#service?.anchorNow().catch((e: unknown) => (this.error = (e as Error).message))
  }

  async redeemNow(): Promise<void> {
    await this.#service?.redeemNow().catch((e: unknown) => (this.error = (e as Error).message))
  }

  async goOffline(): Promise<void> {
    this.phase = 'stopping'
    this.#stopWatch?.()
    await this.#service?.stop()
    this.#service = null
    await this.#recorder?.offline()
    this.#recorder = null
    this.oracleMetrics = null
    this.phase = 'setup'
  }

  /** Whether the loaded model is the one the oracle templates are registered for (others get no requests to answer). */
  get oracleModelMatches(): boolean {
    const hash = this.#deps.engine.loaded?.contentHash ?? this.#deps.engine.model?.contentHash
    return typeof hash === 'string' && hash.toLowerCase() === NODE_ORACLE_MODEL
  }

  /** `#/node?autostart=1&model=<id>[&oracle=1]`: burner wallet, load, register, online. */
  async autostart(search: URLSearchParams): Promise<void> {
    if (search.get('autostart') !== '1') return
    if (search.get('batch')) this.batchSize = Number(search.get('batch'))
    if (search.get('oracle') === '1') this.answerOracle = true
    await this.init()
    await this.wallet?.connectBurner(parseEther('1000'))
    await this.load(search.get('model') ?? 'modelex-demo-30m')
    await this.goOnline()
  }
}
