/**
 * The app's network state: this browser's libp2p node (peer key from IndexedDB, so the peer id survives reloads),
 * its connection to the relay, and the live directory of nodes — rune state for the Network view. One instance for
 * the whole app (`network()`), started on first use and kept while the page lives, since the node is the app's,
 * not the view's. The deployment and the key store are injectable so the logic runs in tests.
 */
import type { Hex } from 'viem'
import { createPublicClient, http } from 'viem'
import { listActiveNodes } from '../../chain/actions/listActiveNodes.ts'
import { loadDeployment } from '../../chain/deployment.ts'
import type { Deployment } from '../../core/deployment.ts'
import type { DirectoryEntry } from '../../core/directory.ts'
import { createNodeDirectory, type NodeDirectory, type RegistrationLookup } from '../../p2p/directory.ts'
import { createModelexNode, type ConnectionState, type ModelexNode } from '../../p2p/node.ts'
import { registryLookup } from '../../p2p/registry.ts'
import { indexedDbStore, type KeyValueStore } from '../../store/kv.ts'
import { loadOrCreatePeerKey } from '../../store/peer-key.ts'

export type NetworkPhase = 'idle' | 'starting' | 'running' | 'no-relay' | 'failed'

export type NetworkDependencies = {
  deployment?: () => Promise<Deployment | null>
  store?: () => KeyValueStore
  now?: () => number
}

export class NetworkState {
  phase = $state<NetworkPhase>('idle')
  peerId = $state<string | null>(null)
  connection = $state<ConnectionState>('disconnected')
  relay = $state<string | null>(null)
  nodes = $state<DirectoryEntry[]>([])
  watched = $state<string[]>([])
  registry = $state<'none' | 'on-chain'>('none')
  error = $state<string | null>(null)
  /** Ticks every second, so "last seen" ages update between announcements. */
  now = $state(Date.now())

  #deps: Required<NetworkDependencies>
  #node: ModelexNode | null = null
  #directory: NodeDirectory | null = null
  #timer: ReturnType<typeof setInterval> | undefined
  #stops: (() => void)[] = []

  /** The app's libp2p node once started: the Node view serves and the Chat view pays through it. */
  get node(): ModelexNode | null {
    return this.#node
  }

  /** The app's directory: one per node, since a second one would replace its topic validators. */
  get directory(): NodeDirectory | null {
    return this.#directory
  }

  constructor(deps: NetworkDependencies = {}) {
    this.#deps = { deployment: deps.deployment ?? (() => loadDeployment()), store: deps.store ?? indexedDbStore, now: deps.now ?? Date.now }
  }

  async start(): Promise<void> {
    if (this.phase !== 'idle' && this.phase !== 'failed') return
    this.phase = 'starting'
    this.error = null
    try {
      const deployment = await this.#deps.deployment()
      if (!deployment?.relay) {
        this.phase = 'no-relay'
        return
      }
      this.relay = deployment.relay
      const privateKey = await loadOrCreatePeerKey(this.#deps.store())
      const node = await createModelexNode({ privateKey, relays: [deployment.relay] })
      this.#node = node
      this.peerId = node.peerId.toString()
      this.#stops.push(node.onStateChange((state) => (this.connection = state)))
      await node.start()
      this.connection = node.state

      let isRegistered: RegistrationLookup | undefined
      const registry = deployment.contracts.NodeRegistry
      const client = createPublicClient({ transport: http(deployment.rpcUrl, { retryCount: 0, timeout: 5_000 }) })
      if (registry) {
        isRegistered = registryLookup(client, registry)
        this.registry = 'on-chain'
      }
      const directory = createNodeDirectory(node, { ...(isRegistered ? { isRegistered } : {}), now: this.#deps.now })
      this.#directory = directory
      this.#stops.push(directory.onChange(() => (this.nodes = directory.list())))
      await directory.start()
      // Watch every model the registry knows of; more can be added by hand.
      if (registry) {
        listActiveNodes(client, { registry, limit: 1000n })
          .then(({ nodes }) => {
            for (const hash of nodes.flatMap((n) => n.models)) this.watch(hash)
          })
          .catch(() => {})
      }
      this.#timer = setInterval(() => (this.now = this.#deps.now()), 1_000)
      this.phase = 'running'
    } catch (error) {
      this.phase = 'failed'
      this.error = error instanceof Error ? error.message : String(error)
    }
  }

  /** Starts listening to a model's announcement topic. */
  watch(contentHash: string): boolean {
    const hash = contentHash.trim().toLowerCase()
    if (!/^0x[0-9a-f]{64}$/.test(hash) || !this.#directory) return false
    if (!this.watched.includes(hash)) this.watched = [...this.watched, hash]
    this.#directory.watch(hash as Hex)
    return true
  }

  unwatch(contentHash: string): void {
    this.watched = this.watched.filter((h) => h !== contentHash)
    this.#directory?.unwatch(contentHash as Hex)
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    for (const stop of this.#stops.splice(0)) stop()
    await this.#directory?.stop()
    await this.#node?.stop()
    this.#directory = null
    this.#node = null
    this.phase = 'idle'
    this.connection = 'disconnected'
  }
}

let shared: NetworkState | undefined

export function network(): NetworkState {
  shared ??= new NetworkState()
  return shared
}
