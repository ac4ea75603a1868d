/**
 * A running peer: one libp2p node, its directory of nodes, and one infer server, built in one place for the app,
 * the gateway and Node programs. A libp2p node has one handler per protocol, so everything that serves
 * `/modelex/infer/1.0.0` on this node plugs into the one server instead of starting its own: engines go into its
 * engine slot (`serve`; a request goes to the engine whose loaded model it names), and admission into its policy
 * chain (`policies.set('pairing', …)`, `policies.set('payment', …)`), always asked in the order of
 * `PEER_POLICY_ORDER` — the user's paired gateways free, then everyone else for pay. With no policy set every
 * request is refused; with no engine every request is answered UNSUPPORTED_MODEL.
 *
 * @example
 * const peer = await createPeer({ relays: [deployment.relay], node: { privateKey } })
 * peer.serve(engine)
 * peer.policies.set('pairing', pairing.policy)
 */
import type { InferenceEngine } from '../core/inference.ts'
import { createNodeDirectory, type NodeDirectory, type NodeDirectoryOptions } from './directory.ts'
import {
  chainPolicies,
  createInferServer,
  type InferServer,
  type InferServerLimits,
  type PaymentContext,
  type PaymentPolicy,
} from './infer-server.ts'
import { createModelexNode, type ModelexNode, type ModelexNodeOptions } from './node.ts'

/** Who is asked first: a paired gateway is served free even when it could pay. */
export const PEER_POLICY_ORDER = ['pairing', 'payment'] as const
export type PeerPolicyName = (typeof PEER_POLICY_ORDER)[number]

/** The infer server's policy chain, by name; the order is `PEER_POLICY_ORDER`, whatever the order of `set`. */
export type PeerPolicies = {
  set(name: PeerPolicyName, policy: PaymentPolicy): void
  delete(name: PeerPolicyName): boolean
  get(name: PeerPolicyName): PaymentPolicy | undefined
  /** The chain as the server asks it now. */
  readonly current: PaymentPolicy
}

export type CreatePeerParameters = {
  /** Relay multiaddrs (with /p2p/<id>). */
  relays: readonly string[]
  /** The node's other options (its key, runtime, listen addresses). */
  node?: Omit<ModelexNodeOptions, 'relays'>
  directory?: NodeDirectoryOptions
  /** The infer server's limits, shared by every engine it serves. */
  limits?: Partial<InferServerLimits>
}

export type Peer = {
  readonly node: ModelexNode
  readonly directory: NodeDirectory
  readonly server: InferServer
  readonly policies: PeerPolicies
  /** Serves `engine`'s loaded model too (several engines may be served, one per model). */
  serve(engine: InferenceEngine): void
  /** Stops serving `engine` and cancels what it is answering; the server keeps serving the others. */
  stopServing(engine: InferenceEngine): void
  /** The engines served now. */
  engines(): readonly InferenceEngine[]
  stop(): Promise<void>
}

/** A mutable chain of named policies: each change builds the chain again, so a request sees one consistent chain. */
export function createPeerPolicies(): PeerPolicies {
  const named = new Map<PeerPolicyName, PaymentPolicy>()
  let chain = chainPolicies()
  const rebuild = () => {
    chain = chainPolicies(...PEER_POLICY_ORDER.flatMap((name) => named.get(name) ?? []))
  }
  // `quote` is read when a quote-only request arrives: absent while no policy in the chain prices.
  const current: PaymentPolicy = {
    admit: (context) => chain.admit(context),
    get quote() {
      const quote = chain.quote
      return quote ? (context: PaymentContext) => quote(context) : undefined
    },
  } as PaymentPolicy
  return {
    set(name, policy) {
      named.set(name, policy)
      rebuild()
    },
    delete(name) {
      const had = named.delete(name)
      rebuild()
      return had
    },
    get: (name) => named.get(name),
    current,
  }
}

/** Builds and starts a peer: its node on the relays, its directory, and its infer server (no engine, no policy yet). */
export async function createPeer({
  relays,
  node: nodeOptions = {},
  directory: directoryOptions = {},
  limits = {},
}: CreatePeerParameters): Promise<Peer> {
  const node = await createModelexNode({ ...nodeOptions, relays })
  const served: InferenceEngine[] = []
  const policies = createPeerPolicies()
  const server = createInferServer(node.libp2p, { engines: () => served, policy: policies.current, limits })
  const directory = createNodeDirectory(node, directoryOptions)
  try {
    await node.start()
    await server.start()
    await directory.start()
  } catch (error) {
    await node.stop().catch(() => {})
    throw error
  }
  return {
    node,
    directory,
    server,
    policies,
    serve(engine) {
      if (!served.includes(engine)) served.push(engine)
    },
    stopServing(engine) {
      const at = served.indexOf(engine)
      if (at !== -1) served.splice(at, 1)
      server.cancelServedBy(engine)
    },
    engines: () => [...served],
    async stop() {
      await directory.stop()
      await server.stop()
      await node.stop()
    },
  }
}
