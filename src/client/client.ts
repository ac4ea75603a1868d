/**
 * The consumer SDK: find nodes, get a node's exact quote, pay through a payment channel, stream the answer and
 * verify its signed receipt, in Node and in the browser, with an OpenAI-shaped surface.
 *
 * @example
 * const client = createClient({ deployment, wallet })
 * const stream = await client.chat.completions.create({ model: 'modelex-demo-30m', messages, max_tokens: 64, stream: true })
 * for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? '')
 * const { cost, receipt } = await stream.result
 * const proof = await client.verify(await stream.result) // once the node anchored its batch
 *
 * Every request carries a sampling seed (a fresh random one when the caller names none), so any answer can be
 * re-run by a verifier and a checked request looks like any other; only `reproducible: false` sends none (a code
 * suggestion that may come from the node's cache of the previous one). Receipts are watched for equivocation: two
 * deterministic receipts of one node for one request with different outputs are proven on-chain from the wallet
 * (the node is slashed, the consumer rewarded, `onSlash` told); verifiers hand receipts in with `reportReceipt`.
 */
import { createPublicClient, http, type Address, type Client, type Hex, type Transport } from 'viem'
import { getAnchor } from '../chain/actions/getAnchor.ts'
import { getNode } from '../chain/actions/getNode.ts'
import type { WalletClient } from '../chain/actions/internal.ts'
import { verifyReceipt } from '../chain/actions/verifyReceipt.ts'
import type { SpendLimits } from '../core/bounds.ts'
import type { ConsumerChannel } from '../core/credit.ts'
import { deploymentRelays, type Deployment } from '../core/deployment.ts'
import { keyedQueue } from '../core/keyed-queue.ts'
import type { DirectoryEntry } from '../core/directory.ts'
import { NoNodeAvailableError } from '../core/errors/payments.ts'
import type { ChatMessage, InferenceRequest, SamplingParameters } from '../core/inference.ts'
import { pinnedModelRefs, WASM_CATALOG } from '../core/models.ts'
import { decodeSignedReceipt, type SignedReceipt } from '../core/payment.ts'
import type { Quote } from '../core/quote.ts'
import {
  createEquivocationGuard,
  EQUIVOCATION_STATE_KEY,
  type EquivocationRecord,
  type EquivocationState,
  type SlashReport,
} from './equivocations.ts'
import { createNodeDirectory, type NodeDirectory } from '../p2p/directory.ts'
import type { Verifier } from '../verify/verifier.ts'
import { createModelexNode, type ModelexNode } from '../p2p/node.ts'
import { fetchProof } from '../p2p/receipt-proof.ts'
import { registryLookup } from '../p2p/registry.ts'
import { warmUp, type Warmth } from '../p2p/warm.ts'
import { createSignerCache } from '../core/signature.ts'
import type { KeyValueStore } from '../store/kv.ts'
import { CONSUMER_STATE_KEY, memoryStore, storedDocument } from '../store/payments.ts'
import { findNodes, nodeCandidates, type ReputationLookup, type ReputationRequirement } from './actions/findNodes.ts'
import { finishWithNode } from './actions/finishWithNode.ts'
import { getQuote } from './actions/getQuote.ts'
import { payForRequest, type PaidResult } from './actions/payForRequest.ts'
import { payHedged } from './actions/payHedged.ts'
import { routeRequest } from './actions/routeRequest.ts'
import { NodeBackoff } from '../core/routing.ts'
import { CLIENT_DEFAULTS } from './constants.ts'
import { createJobsClient, type JobsApi } from './jobs.ts'
import type { ClientContext, ConsumerState, StoredReceipt } from './context.ts'
import { streamChunk } from '../core/openai.ts'
import {
  paidResponse,
  paidStream,
  type ChatCompletion,
  type ChatCompletionChunk,
  type Completion,
  type CompletionChunk,
  type PaidStream,
} from './openai.ts'

export type { PaidResult } from './actions/payForRequest.ts'
export type { StoredReceipt } from './context.ts'
export type { EquivocationRecord, SlashReport } from './equivocations.ts'
export type { ChatCompletion, ChatCompletionChunk, Completion, CompletionChunk, PaidStream } from './openai.ts'
export type { JobHandle, JobResultView, JobsApi, JobStatus, JobView, PostJobOptions } from './jobs.ts'

export type ModelRef = { id: string; contentHash: Hex }

export type CreateClientParameters = {
  deployment: Deployment
  /** The consumer's wallet: opens channels and signs vouchers. */
  wallet: WalletClient
  /** Relay multiaddrs; default the deployment's relay. */
  relay?: string | readonly string[]
  /** RPC URL or transport; default the deployment's RPC URL. */
  rpc?: string | Transport
  /** Where channels and receipts persist (IndexedDB in the app); default in memory. */
  store?: KeyValueStore
  /** An already started libp2p node to use instead of creating one. */
  node?: ModelexNode
  /**
   * For the node the SDK creates (not for `node`): reach nodes that take WebRTC (browser nodes) directly, with no
   * relay in the path, after the first request went through the relay (p2p/dial.ts `upgradeToDirect`). Default
   * true. It only dials: nobody can open a WebRTC connection to it. In Node it loads the native node-datachannel
   * module; false keeps every request to such nodes relayed.
   */
  webrtc?: boolean
  /**
   * That node's directory, when it already has one (the app's): a node must not run two, since each replaces the
   * other's topic validators. It should check registrations on-chain.
   */
  directory?: NodeDirectory
  /** Models known by id besides the catalog's. */
  models?: readonly ModelRef[]
  channelDeposit?: bigint
  /** What any node may take: per request, per channel and per million tokens (AI wei); defaults in `CLIENT_DEFAULTS.limits`. */
  limits?: Partial<SpendLimits>
  /** Skip the quote round trip by default and prepay the consumer's own bound (per request: `prepay`). */
  prepay?: boolean
  /** After this long without a request to a node, hand it a final voucher (null: only on `stop`/`finish`). */
  finishAfterIdleMs?: number | null
  /**
   * Keep a node that answered warm for this long after its last answer (default 30 s; null: never), so the next
   * request to it skips the stream negotiation round trip (`PaidResult.transport.warm`).
   */
  keepWarmMs?: number | null
  latencyBarMs?: number
  discoveryTimeoutMs?: number
  /** A node was slashed on this consumer's proof of equivocation (its stake taken, the consumer's reward paid). */
  onSlash?: (report: SlashReport) => void
  /**
   * A spot-check verifier (`src/verify`) with the models to check loaded: every finished answer is offered to it,
   * and it draws which to re-run. Its records and evidence are the consumer's view of each node's honesty.
   */
  verifier?: Pick<Verifier, 'offer'> & Partial<Pick<Verifier, 'record'>>
  /** Nodes' reputations by operator and model (the app passes its attestation book's). */
  reputation?: ReputationLookup
  /** Automatic choice and `nodes()` skip known nodes below this reputation (0..100). */
  minReputation?: number
  /** Automatic choice and `nodes()` skip nodes without enough evidence to be known. */
  requireKnown?: boolean
  /** Automatic choice tries at most this many nodes per request before `AllNodesFailedError` (default 3). */
  maxAttempts?: number
}

export type NodeChoice = { node?: string | DirectoryEntry }
/** A request to post as an async job: what `chat.completions.create` or `completions.create` take, without the live options. */
export type JobRequest =
  Omit<ChatCreateParameters, keyof PaidOptions> | Omit<CompletionCreateParameters, keyof PaidOptions>
type PaidOptions = NodeChoice & {
  stream?: boolean
  signal?: AbortSignal
  prepay?: boolean
  /**
   * `false` sends no seed (none is drawn), so a node may answer a completion from its KV cache of this consumer's
   * previous prompt: a typing user's next suggestion prefills only the edit. Such an answer is not bit-reproducible:
   * a spot check compares it under the tolerant rule, and it proves no equivocation. Default true; a `seed` wins.
   */
  reproducible?: boolean
}

export type ChatCreateParameters = SamplingParameters & PaidOptions & { model: string; messages: ChatMessage[] }
export type CompletionCreateParameters = SamplingParameters &
  PaidOptions & {
    model: string
    prompt: string
    suffix?: string
    /**
     * Latency-sensitive (a code suggestion): ask the two best nodes at once, keep the first to produce a token and
     * cancel the other, which is paid only for what it had sent. Ignored when a node is named.
     */
    hedge?: boolean
  }

export type Verification = { anchored: false } | { anchored: true; root: Hex; proof: Hex[]; verified: boolean }

export type ModelexClient = {
  start(): Promise<void>
  /** Hands every node with unspent credit a final voucher for the settled total, then stops. */
  stop(): Promise<void>
  /** Nodes announcing `model`, registered on-chain, cheapest first; waits for a first one up to the discovery timeout. */
  nodes(parameters: { model: string; timeoutMs?: number } & ReputationRequirement): Promise<DirectoryEntry[]>
  /** From now on, automatic choice and `nodes()` require this of a node's reputation (the app's minimum control). */
  setReputationRequirement(requirement: ReputationRequirement): void
  /** The node's exact quote for a request (it counts the tokens with its model's tokenizer), checked. */
  quote(
    parameters: (Omit<ChatCreateParameters, 'stream'> | Omit<CompletionCreateParameters, 'stream'>) & NodeChoice,
  ): Promise<{ node: DirectoryEntry; quote: Quote }>
  chat: {
    completions: {
      create(p: ChatCreateParameters & { stream: true }): Promise<PaidStream<ChatCompletionChunk>>
      create(p: ChatCreateParameters & { stream?: false }): Promise<ChatCompletion>
    }
  }
  completions: {
    create(p: CompletionCreateParameters & { stream: true }): Promise<PaidStream<CompletionChunk>>
    create(p: CompletionCreateParameters & { stream?: false }): Promise<Completion>
  }
  /** Done with a node: a final voucher for the settled total, so an honest node redeems no unspent credit. */
  finish(parameters: { operator: Address; peer: string; signer?: Address }): Promise<bigint | null>
  /** Checks on-chain that the receipt's batch is anchored by its node's operator and that the proof leads to the root. */
  verify(result: Pick<PaidResult, 'receipt' | 'peer' | 'quote'>): Promise<Verification>
  /** The consumer's channels, by node operator. */
  channels(): Promise<Record<string, ConsumerChannel>>
  /** Every receipt accepted so far (persisted with the channels), oldest first. */
  receipts(): Promise<{ peer: string; receipt: SignedReceipt; cost: bigint; at: number }[]>
  /**
   * A signed receipt from elsewhere (a verifier's, another consumer's): kept and compared with every receipt seen.
   * When it contradicts one (same node signer, request and model, both deterministic, different outputs), the proof
   * is submitted from this wallet and the slash returned; null when it contradicts nothing. Throws
   * `EquivocationProofError` when the proof could not be submitted (the evidence is kept: `retryEquivocations`).
   */
  reportReceipt(receipt: SignedReceipt): Promise<SlashReport | null>
  /** The equivocations found so far and what became of them. */
  equivocations(): Promise<EquivocationRecord[]>
  /** Submits pending evidence again (after the chain was unreachable); the slashes that went through. */
  retryEquivocations(): Promise<SlashReport[]>
  /** Async jobs: post a request with a deadline and lower prices, accept the best claim, fetch the result later. */
  readonly jobs: Omit<JobsApi, 'post'> & {
    post(request: JobRequest, options: Parameters<JobsApi['post']>[1]): ReturnType<JobsApi['post']>
  }
  readonly account: Address
  readonly publicClient: Client
  readonly p2p: ModelexNode | undefined
}

export function createClient(parameters: CreateClientParameters): ModelexClient {
  const { deployment, wallet } = parameters
  const transport =
    typeof parameters.rpc === 'string' ? http(parameters.rpc) : (parameters.rpc ?? http(deployment.rpcUrl))
  const publicClient = createPublicClient({ transport, pollingInterval: 100 })
  const relays =
    parameters.relay === undefined
      ? deploymentRelays(deployment)
      : typeof parameters.relay === 'string'
        ? [parameters.relay]
        : [...parameters.relay]
  const contracts = deployment.contracts
  const addresses = {
    token: need(contracts.AIToken, 'AIToken'),
    channels: need(contracts.PaymentChannels, 'PaymentChannels'),
    anchor: need(contracts.ReceiptAnchor, 'ReceiptAnchor'),
    registry: need(contracts.NodeRegistry, 'NodeRegistry'),
  }
  const account = wallet.account.address
  const store = parameters.store ?? memoryStore()
  const document = storedDocument<ConsumerState>(
    store,
    `${CONSUMER_STATE_KEY}:${deployment.chainId}:${account.toLowerCase()}`,
    () => ({ channels: {}, receipts: [] }),
  )
  const guard = createEquivocationGuard(
    {
      wallet,
      document: storedDocument<EquivocationState>(
        store,
        `${EQUIVOCATION_STATE_KEY}:${deployment.chainId}:${account.toLowerCase()}`,
        () => ({ reported: [], records: [] }),
      ),
    },
    { anchor: addresses.anchor, chainId: deployment.chainId, onSlash: parameters.onSlash },
  )
  /** How many of the stored receipts the equivocation guard has seen. */
  let watched = 0
  // Catalog models are known by name only where their hash is pinned; the rest are asked for by content hash.
  const knownModels = [...(parameters.models ?? []), ...pinnedModelRefs(WASM_CATALOG)]
  const limits: SpendLimits = { ...CLIENT_DEFAULTS.limits, ...parameters.limits }
  const channelDeposit = parameters.channelDeposit ?? CLIENT_DEFAULTS.channelDeposit

  let p2p: ModelexNode | undefined = parameters.node
  let ownsNode = false
  let ownsDirectory = false
  let directory: NodeDirectory | undefined
  let starting: Promise<void> | undefined
  let state: ConsumerState | undefined
  const prices = new Map<string, { at: number; value: Awaited<ReturnType<typeof getNode>> }>()
  const usedNodes = new Map<string, { peer: string; signer: Address }>()
  const idle = new Map<string, ReturnType<typeof setTimeout>>()
  const finishAfterIdleMs =
    parameters.finishAfterIdleMs === undefined ? CLIENT_DEFAULTS.finishAfterIdleMs : parameters.finishAfterIdleMs

  const keepWarmMs = parameters.keepWarmMs === undefined ? CLIENT_DEFAULTS.keepWarmMs : parameters.keepWarmMs
  /** Nodes kept warm after they answered, least recently used first, each with the timer that lets it go. */
  const warmNodes = new Map<string, { warmth: Warmth; timer: ReturnType<typeof setTimeout> }>()

  /** Keeps the node that just answered warm for `keepWarmMs` more (keep-alive), within `maxWarmNodes`. */
  function keepWarm(peer: string): void {
    if (keepWarmMs === null || !p2p || p2p.libp2p.status !== 'started') return
    const held = warmNodes.get(peer)
    warmNodes.delete(peer)
    if (held) clearTimeout(held.timer)
    const warmth = held?.warmth ?? warmUp(p2p, peer)
    const timer = setTimeout(() => letGo(peer), keepWarmMs)
    ;(timer as { unref?: () => void }).unref?.()
    warmNodes.set(peer, { warmth, timer })
    for (const oldest of warmNodes.keys()) {
      if (warmNodes.size <= CLIENT_DEFAULTS.maxWarmNodes) break
      letGo(oldest)
    }
  }

  function letGo(peer: string): void {
    const held = warmNodes.get(peer)
    if (!held) return
    clearTimeout(held.timer)
    held.warmth.stop()
    warmNodes.delete(peer)
  }

  /** Done with a node when no request went to it for a while: a final voucher, so its credit is not redeemed. */
  function finishWhenIdle(operator: string, peer: string, signer: Address): void {
    clearTimeout(idle.get(operator))
    if (finishAfterIdleMs === null) return
    const timer = setTimeout(() => {
      idle.delete(operator)
      void finishWithNode(context, { operator: operator as Address, peer, signer }).catch(() => null)
    }, finishAfterIdleMs)
    // An idle timer must not keep a Node program alive.
    ;(timer as { unref?: () => void }).unref?.()
    idle.set(operator, timer)
  }

  async function start(): Promise<void> {
    starting ??= (async () => {
      state = await document.load()
      state.receipts ??= []
      watched = state.receipts.length
      await guard.start(state.receipts.flatMap((r) => decodedOrNone(r.receipt)))
      if (!p2p) {
        // A consumer: it dials WebRTC and takes no WebRTC connections (it listens on no /webrtc).
        p2p = await createModelexNode({ relays, webrtc: parameters.webrtc ?? true, listen: ['/p2p-circuit'] })
        ownsNode = true
        await p2p.start()
      }
      if (parameters.directory) directory = parameters.directory
      else {
        directory = createNodeDirectory(p2p, { isRegistered: registryLookup(publicClient, addresses.registry) })
        ownsDirectory = true
        await directory.start()
      }
      await jobs.start(p2p)
      // Results delivered while this consumer was away (the same store and wallet) are fetched now.
      void jobs.api.fetch().catch(() => {})
    })()
    return starting
  }

  const context: ClientContext = {
    deployment,
    wallet,
    publicClient,
    account,
    addresses,
    limits,
    channelDeposit: channelDeposit < limits.maxDeposit ? channelDeposit : limits.maxDeposit,
    latencyBarMs: parameters.latencyBarMs ?? CLIENT_DEFAULTS.latencyBarMs,
    discoveryTimeoutMs: parameters.discoveryTimeoutMs ?? CLIENT_DEFAULTS.discoveryTimeoutMs,
    document,
    async ready() {
      await start()
      return { node: p2p as ModelexNode, directory: directory as NodeDirectory, state: state as ConsumerState }
    },
    exclusive: keyedQueue(),
    channelReads: new Map(),
    signers: createSignerCache(),
    async registeredPrices(operator) {
      const hit = prices.get(operator.toLowerCase())
      if (hit && Date.now() - hit.at < CLIENT_DEFAULTS.registryCacheMs) return hit.value
      const value = await getNode(publicClient, { registry: addresses.registry, operator })
      prices.set(operator.toLowerCase(), { at: Date.now(), value })
      return value
    },
    reputation: parameters.reputation,
    routing: { minReputation: parameters.minReputation, requireKnown: parameters.requireKnown },
    backoff: new NodeBackoff(),
    maxAttempts: Math.max(1, parameters.maxAttempts ?? CLIENT_DEFAULTS.maxAttempts),
    isFlagged(entry, contentHash) {
      const { operator, signer } = entry.announcement
      if (parameters.verifier?.record?.(operator, contentHash).flagged) return true
      // Evidence of equivocation found (proven or still to submit) against this signer or operator.
      return guard
        .records()
        .some(
          (r) =>
            r.status !== 'rejected' &&
            (r.evidence.signer.toLowerCase() === signer.toLowerCase() ||
              r.report?.operator.toLowerCase() === operator.toLowerCase()),
        )
    },
    onVoucher({ operator, peer, signer }) {
      // Every node handed a voucher holds credit: it gets a final voucher when idle and on stop (hedged and
      // failed-over nodes included, not only the one that answered).
      usedNodes.set(operator.toLowerCase(), { peer, signer })
      finishWhenIdle(operator.toLowerCase(), peer, signer)
    },
  }

  const hashOf = (model: string): Hex => {
    if (/^0x[0-9a-fA-F]{64}$/.test(model)) return model.toLowerCase() as Hex
    const known = knownModels.find((m) => m.id === model)
    if (!known)
      throw new NoNodeAvailableError({
        model,
        details: 'unknown model id: pass its content hash, or list it in `models`',
      })
    return known.contentHash.toLowerCase() as Hex
  }

  /** Receipts stored since the last look (answers, cancelled answers, caught-up settlements) go to the guard. */
  function watchNewReceipts(): void {
    const receipts = state?.receipts ?? []
    if (watched > receipts.length) watched = 0
    for (const stored of receipts.slice(watched))
      for (const signed of decodedOrNone(stored.receipt)) guard.observe(signed)
    watched = receipts.length
  }

  function toRequest(p: ChatCreateParameters | CompletionCreateParameters): InferenceRequest & { max_tokens: number } {
    // Seeded unless the caller gave up reproducibility: the answer can be re-run by a verifier, and a spot-checked
    // request looks like any other.
    const sampling: SamplingParameters & { max_tokens: number } = {
      max_tokens: p.max_tokens ?? CLIENT_DEFAULTS.maxTokens,
    }
    if (p.seed !== undefined || p.reproducible !== false) sampling.seed = p.seed ?? randomSeed()
    for (const key of ['temperature', 'top_p', 'stop', 'response_format'] as const) {
      if (p[key] !== undefined) (sampling as Record<string, unknown>)[key] = p[key]
    }
    if ('messages' in p) return { kind: 'chat', model: p.model, messages: p.messages, ...sampling }
    const request: InferenceRequest & { max_tokens: number } = {
      kind: 'completion',
      model: p.model,
      prompt: p.prompt,
      ...sampling,
    }
    if (p.suffix !== undefined) request.suffix = p.suffix
    return request
  }

  const jobs = createJobsClient(context, { store, hashOf, onReceipts: watchNewReceipts })

  function pay(p: ChatCreateParameters | CompletionCreateParameters) {
    return async (onDelta: Parameters<typeof payForRequest>[1]['onDelta']) => {
      const route = 'hedge' in p && p.hedge === true ? payHedged : payForRequest
      const result = await route(context, {
        model: p.model,
        contentHash: hashOf(p.model),
        request: toRequest(p),
        node: p.node,
        prepay: p.prepay ?? parameters.prepay ?? false,
        signal: p.signal,
        ...(onDelta ? { onDelta } : {}),
      }).finally(watchNewReceipts)
      usedNodes.set(result.quote.node.toLowerCase(), { peer: result.peer, signer: result.quote.signer })
      parameters.verifier?.offer({
        node: { operator: result.quote.node, peer: result.peer, engine: { kind: result.engine } },
        modelHash: result.quote.modelHash,
        request: result.request,
        answer: {
          text: result.text,
          completionTokens: result.usage.completion_tokens,
          finish_reason: result.finish_reason,
        },
        receipt: result.receipt,
      })
      finishWhenIdle(result.quote.node.toLowerCase(), result.peer, result.quote.signer)
      keepWarm(result.peer)
      return result
    }
  }

  async function createChat(p: ChatCreateParameters): Promise<PaidStream<ChatCompletionChunk> | ChatCompletion> {
    const stream = paidStream(pay(p), (t, f, ids, first) =>
      streamChunk('chat', { ...ids, model: p.model }, t, f, first),
    )
    return p.stream ? stream : paidResponse('chat', p.model, await stream.result)
  }
  async function createCompletion(p: CompletionCreateParameters): Promise<PaidStream<CompletionChunk> | Completion> {
    const stream = paidStream(pay(p), (t, f, ids, first) =>
      streamChunk('completion', { ...ids, model: p.model }, t, f, first),
    )
    return p.stream ? stream : paidResponse('completion', p.model, await stream.result)
  }

  return {
    start,
    async stop() {
      await starting?.catch(() => {})
      for (const timer of idle.values()) clearTimeout(timer)
      idle.clear()
      for (const peer of [...warmNodes.keys()]) letGo(peer)
      for (const [operator, { peer, signer }] of usedNodes)
        await finishWithNode(context, { operator: operator as Address, peer, signer }).catch(() => null)
      await jobs.stop()
      await guard.settle()
      if (ownsDirectory) await directory?.stop()
      if (ownsNode) await p2p?.stop()
    },
    setReputationRequirement({ minReputation, requireKnown }) {
      context.routing = { minReputation, requireKnown }
    },
    nodes: ({ model, timeoutMs, minReputation, requireKnown }) =>
      findNodes(context, {
        model,
        contentHash: hashOf(model),
        minReputation,
        requireKnown,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      }),
    async quote(p) {
      const request = toRequest(p)
      // A named node, or the first the routing rule picks for this request.
      const [entry] = p.node
        ? await nodeCandidates(context, { model: p.model, contentHash: hashOf(p.model), node: p.node })
        : (await routeRequest(context, { model: p.model, contentHash: hashOf(p.model), request })).ranked.map(
            (r) => r.candidate.entry,
          )
      if (!entry) throw new NoNodeAvailableError({ model: p.model })
      return { node: entry, quote: await getQuote(context, { entry, request }) }
    },
    chat: { completions: { create: createChat as ModelexClient['chat']['completions']['create'] } },
    completions: { create: createCompletion as ModelexClient['completions']['create'] },
    finish: (p) => finishWithNode(context, p),
    async verify({ receipt, peer, quote }) {
      await start()
      const answer = await fetchProof(p2p as ModelexNode, peer, receipt.receiptHash)
      if (answer.status !== 'anchored') return { anchored: false }
      // The anchor must be the serving node's operator's: a root anchored by anyone else proves nothing about it.
      const onChain = await getAnchor(publicClient, {
        anchor: addresses.anchor,
        operator: quote.node,
        root: answer.root,
      })
      if (!onChain.anchored) return { anchored: false }
      const verified = await verifyReceipt(publicClient, {
        anchor: addresses.anchor,
        operator: quote.node,
        root: answer.root,
        receiptHash: receipt.receiptHash,
        proof: answer.proof,
      })
      return { anchored: true, root: answer.root, proof: answer.proof, verified }
    },
    async channels() {
      await start()
      return { ...(state as ConsumerState).channels }
    },
    async receipts() {
      await start()
      return ((state as ConsumerState).receipts ?? []).map((r) => ({ ...r, receipt: decodeSignedReceipt(r.receipt) }))
    },
    async reportReceipt(receipt) {
      await start()
      return guard.report(receipt)
    },
    async equivocations() {
      await start()
      return guard.records()
    },
    async retryEquivocations() {
      await start()
      return guard.retry()
    },
    jobs: {
      ...jobs.api,
      post: (p, options) => jobs.api.post(toRequest(p as ChatCreateParameters | CompletionCreateParameters), options),
    },
    account,
    publicClient,
    get p2p() {
      return p2p
    },
  }
}

/** A uniformly drawn uint32 sampling seed, never 0xFFFFFFFF (llama.cpp's "random"; refused on the wire). */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]! % 0xffffffff
}

function decodedOrNone(wire: StoredReceipt['receipt']): SignedReceipt[] {
  try {
    return [decodeSignedReceipt(wire)]
  } catch {
    return []
  }
}

function need(address: Address | undefined, name: string): Address {
  if (!address) throw new Error(`${name} is not in the deployment`)
  return address
}
