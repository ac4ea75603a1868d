/**
 * The app's network state: this browser's peer (`src/p2p/peer.ts`: the libp2p node, with its key from IndexedDB so
 * the peer id survives reloads, the directory of nodes, and the one infer server the Node view's provider and the
 * Code view's pairing plug into), its connection to the relay, and the live node table — rune state for the Network
 * view. One instance for the whole app (`network()`), started on first use and kept while the page lives, since the
 * peer is the app's, not a view's: no view starts a libp2p node of its own. The deployment and the key store are
 * injectable so the logic runs in tests.
 */
import type { Address, Hex } from 'viem'
import { createPublicClient, http } from 'viem'
import { listActiveNodes } from '../../chain/actions/listActiveNodes.ts'
import { loadDeployment } from '../../chain/deployment.ts'
import { deploymentRelays, type Deployment } from '../../core/deployment.ts'
import type { DirectoryEntry } from '../../core/directory.ts'
import type { Reputation } from '../../core/reputation.ts'
import { serveAttestationProofs } from '../../p2p/attestation-proof.ts'
import { createAttestationBook, registryAttestationChecks, type AttestationBook } from '../../p2p/attestations.ts'
import type { NodeDirectory, RegistrationLookup } from '../../p2p/directory.ts'
import type { ConnectionState, ModelexNode } from '../../p2p/node.ts'
import { createPeer, type Peer } from '../../p2p/peer.ts'
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
  /** Reputation per node operator and model (`reputationKey`), from the attestations this peer has accepted. */
  reputations = $state<Record<string, Reputation>>({})
  /** Attestations accepted so far (ours included). */
  attestationCount = $state(0)

  #deps: Required<NetworkDependencies>
  #peer: Peer | null = null
  #timer: ReturnType<typeof setInterval> | undefined
  #stops: (() => void)[] = []
  #book: AttestationBook | null = null
  #refreshing: Promise<void> | null = null
  #refreshAgain = false

  /**
   * The app's attestation book: the attestations gossiped on `modelex/1/attestations` that passed the validator
   * (signer bound to an active evaluator, node registered), reputations over them, and `publish` for the Evaluate view.
   */
  get attestations(): AttestationBook | null {
    return this.#book
  }

  /** A node's reputation for a model as last computed, or null before any attestation about it. */
  reputationOf(operator: string, contentHash: string): Reputation | null {
    return this.reputations[reputationKey(operator, contentHash)] ?? null
  }

  /** For the SDK's routing (`createClient({ reputation })`): always computed afresh from the book. */
  readonly reputationLookup = async (node: Address, modelHash: Hex): Promise<Reputation | null> =>
    this.#book ? this.#book.reputation(node, modelHash) : null

  /** The app's peer once started: the Node view's provider and the Code view's pairing serve through it. */
  get peer(): Peer | null {
    return this.#peer
  }

  /** The app's libp2p node once started: the Chat and Code views pay through it. */
  get node(): ModelexNode | null {
    return this.#peer?.node ?? null
  }

  /** The app's directory: one per node, since a second one would replace its topic validators. */
  get directory(): NodeDirectory | null {
    return this.#peer?.directory ?? null
  }

  /** The start in progress, so views that start the network at the same time share one peer. */
  #starting: Promise<void> | null = null

  constructor(deps: NetworkDependencies = {}) {
    this.#deps = {
      deployment: deps.deployment ?? (() => loadDeployment()),
      store: deps.store ?? indexedDbStore,
      now: deps.now ?? Date.now,
    }
  }

  start(): Promise<void> {
    if (this.phase === 'starting' && this.#starting) return this.#starting
    if (this.phase !== 'idle' && this.phase !== 'failed') return Promise.resolve()
    this.#starting = this.#start().finally(() => (this.#starting = null))
    return this.#starting
  }

  async #start(): Promise<void> {
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
      let isRegistered: RegistrationLookup | undefined
      const registry = deployment.contracts.NodeRegistry
      const client = createPublicClient({ transport: http(deployment.rpcUrl, { retryCount: 0, timeout: 5_000 }) })
      if (registry) {
        isRegistered = registryLookup(client, registry)
        this.registry = 'on-chain'
      }
      const peer = await createPeer({
        relays: deploymentRelays(deployment),
        node: { privateKey },
        directory: { ...(isRegistered ? { isRegistered } : {}), now: this.#deps.now },
      })
      this.#peer = peer
      const { node, directory } = peer
      this.peerId = node.peerId.toString()
      this.#stops.push(node.onStateChange((state) => (this.connection = state)))
      this.connection = node.state
      this.#stops.push(
        directory.onChange(() => {
          this.nodes = directory.list()
          this.#refreshReputations()
        }),
      )
      this.nodes = directory.list()
      const anchor = deployment.contracts.ReceiptAnchor
      if (registry && anchor) {
        // Every peer keeps the attestations it hears, so every view can show reputations without asking anyone.
        // Stored, so what this app publishes stays queued for anchoring across reloads; proofs are served to anyone.
        const book = createAttestationBook(peer.node, {
          domain: { chainId: deployment.chainId, verifyingContract: anchor },
          registry: registryAttestationChecks(client, registry),
          now: this.#deps.now,
          store: this.#deps.store(),
        })
        await book.start()
        this.#book = book
        const stopProofs = await serveAttestationProofs(peer.node, book)
        this.#stops.push(() => void stopProofs())
        this.#stops.push(
          book.onChange(() => {
            this.attestationCount = book.list().length
            this.#refreshReputations()
          }),
        )
      }
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
    const directory = this.directory
    if (!/^0x[0-9a-f]{64}$/.test(hash) || !directory) return false
    if (!this.watched.includes(hash)) this.watched = [...this.watched, hash]
    directory.watch(hash as Hex)
    return true
  }

  unwatch(contentHash: string): void {
    this.watched = this.watched.filter((h) => h !== contentHash)
    this.directory?.unwatch(contentHash as Hex)
  }

  /** Recomputes the reputation of every listed node and model (one pass at a time; changes meanwhile start one more). */
  #refreshReputations(): void {
    const book = this.#book
    if (!book) return
    if (this.#refreshing) {
      this.#refreshAgain = true
      return
    }
    this.#refreshing = (async () => {
      do {
        this.#refreshAgain = false
        const next: Record<string, Reputation> = {}
        for (const entry of this.nodes) {
          for (const model of entry.announcement.models) {
            const hash = model.contentHash.toLowerCase() as Hex
            // Nodes nobody has attested stay out of the table: they show as unknown.
            if (book.list({ node: entry.announcement.operator, modelHash: hash }).length === 0) continue
            const reputation = await book.reputation(entry.announcement.operator, hash).catch(() => null)
            if (reputation) next[reputationKey(entry.announcement.operator, hash)] = reputation
          }
        }
        this.reputations = next
      } while (this.#refreshAgain)
    })().finally(() => (this.#refreshing = null))
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    for (const stop of this.#stops.splice(0)) stop()
    await this.#book?.stop()
    this.#book = null
    await this.#peer?.stop()
    this.#peer = null
    this.phase = 'idle'
    this.connection = 'disconnected'
  }
}

/** The key of `NetworkState.reputations`: operator and content hash, lower case. */
export function reputationKey(operator: string, contentHash: string): string {
  return `${operator.toLowerCase()}\n${contentHash.toLowerCase()}`
}

let shared: NetworkState | undefined

export function network(): NetworkState {
  shared ??= new NetworkState()
  return shared
}
