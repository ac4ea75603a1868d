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
 */
import { createPublicClient, http, type Address, type Client, type Hex, type Transport } from 'viem'
import { getAnchor } from '../chain/actions/getAnchor.ts'
import { getChannel } from '../chain/actions/getChannel.ts'
import type { WalletClient } from '../chain/actions/internal.ts'
import { openChannel } from '../chain/actions/openChannel.ts'
import { signVoucher } from '../chain/actions/signVoucher.ts'
import { topUpChannel } from '../chain/actions/topUpChannel.ts'
import { verifyReceipt } from '../chain/actions/verifyReceipt.ts'
import { applyReceipt, credit, newConsumerChannel, nextVoucherAmount, recordVoucher, type ConsumerChannel } from '../core/credit.ts'
import type { SpendLimits } from '../core/bounds.ts'
import type { Deployment } from '../core/deployment.ts'
import type { JsonValue } from '../core/errors/base.ts'
import type { DirectoryEntry } from '../core/directory.ts'
import { InferRequestError, InferStreamError } from '../core/errors/p2p.ts'
import { InsufficientDepositError, InvalidQuoteError, NoNodeAvailableError, PaidRequestInterruptedError } from '../core/errors/payments.ts'
import type { ChatMessage, FinishReason, InferenceRequest, SamplingParameters, Usage } from '../core/inference.ts'
import { WASM_CATALOG } from '../core/models.ts'
import { decodeSignedReceipt, encodePayment, encodeSignedReceipt, verifySignedReceipt, type SignedReceipt } from '../core/payment.ts'
import { decodeQuote, type Quote } from '../core/quote.ts'
import { fetchProof } from '../node/proofs.ts'
import { createNodeDirectory, type NodeDirectory } from '../p2p/directory.ts'
import { infer } from '../p2p/infer-client.ts'
import { createModelexNode, type ModelexNode } from '../p2p/node.ts'
import { registryLookup } from '../p2p/registry.ts'
import type { KeyValueStore } from '../store/kv.ts'
import { CONSUMER_STATE_KEY, memoryStore, storedDocument } from '../store/payments.ts'
import { CLIENT_DEFAULTS } from './constants.ts'

export type ModelRef = { id: string; contentHash: Hex }

/** Automatic choice tries at most this many nodes when the first ones cannot be reached. */
const MAX_CANDIDATES = 3

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
   * That node's directory, when it already has one (the app's): a node must not run two, since each replaces the
   * other's topic validators. It should check registrations on-chain.
   */
  directory?: NodeDirectory
  /** Models known by id besides the catalog's. */
  models?: readonly ModelRef[]
  channelDeposit?: bigint
  /** What any node may take: per request, per channel and per million tokens (AI wei); defaults in `CLIENT_DEFAULTS.limits`. */
  limits?: Partial<SpendLimits>
  latencyBarMs?: number
  discoveryTimeoutMs?: number
}

export type NodeChoice = { node?: string | DirectoryEntry }

export type ChatCreateParameters = SamplingParameters & NodeChoice & { model: string; messages: ChatMessage[]; stream?: boolean; signal?: AbortSignal }
export type CompletionCreateParameters = SamplingParameters & NodeChoice & { model: string; prompt: string; suffix?: string; stream?: boolean; signal?: AbortSignal }

/** What a paid request settled: the answer, its cost and its verified receipt. */
export type PaidResult = {
  text: string
  finish_reason: FinishReason
  usage: Usage
  cost: bigint
  quote: Quote
  receipt: SignedReceipt
  /** The serving node's peer id (where `verify` asks for the proof). */
  peer: string
  channelId: bigint
  /** Credit left with this node after the request. */
  credit: bigint
}

export type ChatCompletionChunk = { id: string; object: 'chat.completion.chunk'; created: number; model: string; choices: { index: 0; delta: { content: string }; finish_reason: FinishReason | null }[] }
export type CompletionChunk = { id: string; object: 'text_completion'; created: number; model: string; choices: { index: 0; text: string; finish_reason: FinishReason | null }[] }
export type PaidStream<Chunk> = AsyncIterable<Chunk> & { result: Promise<PaidResult> }
export type ChatCompletion = { id: string; object: 'chat.completion'; created: number; model: string; choices: { index: 0; message: ChatMessage; finish_reason: FinishReason }[]; usage: Usage; modelex: PaidResult }
export type Completion = { id: string; object: 'text_completion'; created: number; model: string; choices: { index: 0; text: string; finish_reason: FinishReason }[]; usage: Usage; modelex: PaidResult }

export type Verification = { anchored: false } | { anchored: true; root: Hex; proof: Hex[]; verified: boolean }

export type ModelexClient = {
  start(): Promise<void>
  stop(): Promise<void>
  /** Nodes announcing `model`, registered on-chain, cheapest first; waits for a first one up to the discovery timeout. */
  nodes(parameters: { model: string; timeoutMs?: number }): Promise<DirectoryEntry[]>
  /** The node's exact quote for a request (it counts the tokens with its model's tokenizer). */
  quote(parameters: (Omit<ChatCreateParameters, 'stream'> | Omit<CompletionCreateParameters, 'stream'>) & NodeChoice): Promise<{ node: DirectoryEntry; quote: Quote }>
  chat: { completions: { create(p: ChatCreateParameters & { stream: true }): Promise<PaidStream<ChatCompletionChunk>>; create(p: ChatCreateParameters & { stream?: false }): Promise<ChatCompletion> } }
  completions: { create(p: CompletionCreateParameters & { stream: true }): Promise<PaidStream<CompletionChunk>>; create(p: CompletionCreateParameters & { stream?: false }): Promise<Completion> }
  /** Checks on-chain that the receipt's batch is anchored and that its Merkle proof leads to the anchored root. */
  verify(result: Pick<PaidResult, 'receipt' | 'peer'>): Promise<Verification>
  /** The consumer's channels, by node operator. */
  channels(): Promise<Record<string, ConsumerChannel>>
  /** Every receipt accepted so far (persisted with the channels), oldest first. */
  receipts(): Promise<{ peer: string; receipt: SignedReceipt; cost: bigint; at: number }[]>
  readonly account: Address
  readonly publicClient: Client
  readonly p2p: ModelexNode | undefined
}

/** Receipts kept by the consumer: the signed receipt (wire form), the serving peer and the request's cost. */
export type StoredReceipt = { peer: string; receipt: JsonValue; cost: bigint; at: number }

type ConsumerState = { channels: Record<string, ConsumerChannel>; receipts: StoredReceipt[] }

export function createClient(parameters: CreateClientParameters): ModelexClient {
  const { deployment, wallet } = parameters
  const transport = typeof parameters.rpc === 'string' ? http(parameters.rpc) : (parameters.rpc ?? http(deployment.rpcUrl))
  const publicClient = createPublicClient({ transport, pollingInterval: 100 })
  const relays = parameters.relay === undefined ? (deployment.relay ? [deployment.relay] : []) : typeof parameters.relay === 'string' ? [parameters.relay] : [...parameters.relay]
  const contracts = deployment.contracts
  const token = need(contracts.AIToken, 'AIToken')
  const channelsAddress = need(contracts.PaymentChannels, 'PaymentChannels')
  const anchor = need(contracts.ReceiptAnchor, 'ReceiptAnchor')
  const registry = need(contracts.NodeRegistry, 'NodeRegistry')
  const account = wallet.account.address
  const document = storedDocument<ConsumerState>(parameters.store ?? memoryStore(), `${CONSUMER_STATE_KEY}:${deployment.chainId}:${account.toLowerCase()}`, () => ({ channels: {}, receipts: [] }))
  const knownModels = [...(parameters.models ?? []), ...WASM_CATALOG.map((m) => ({ id: m.id, contentHash: m.contentHash as Hex }))]
  const depositSize = parameters.channelDeposit ?? CLIENT_DEFAULTS.channelDeposit
  const latencyBarMs = parameters.latencyBarMs ?? CLIENT_DEFAULTS.latencyBarMs
  const discoveryTimeoutMs = parameters.discoveryTimeoutMs ?? CLIENT_DEFAULTS.discoveryTimeoutMs

  let p2p: ModelexNode | undefined = parameters.node
  let ownsNode = false
  let ownsDirectory = false
  let directory: NodeDirectory | undefined
  let starting: Promise<void> | undefined
  let state: ConsumerState | undefined
  const locks = new Map<string, Promise<unknown>>()

  async function start(): Promise<void> {
    starting ??= (async () => {
      state = await document.load()
      if (!p2p) {
        p2p = await createModelexNode({ relays })
        ownsNode = true
        await p2p.start()
      }
      if (parameters.directory) directory = parameters.directory
      else {
        directory = createNodeDirectory(p2p, { isRegistered: registryLookup(publicClient, registry) })
        ownsDirectory = true
        await directory.start()
      }
    })()
    return starting
  }

  const hashOf = (model: string): Hex => {
    if (/^0x[0-9a-fA-F]{64}$/.test(model)) return model.toLowerCase() as Hex
    const known = knownModels.find((m) => m.id === model)
    if (!known) throw new NoNodeAvailableError({ model, details: 'unknown model id: pass its content hash, or list it in `models`' })
    return known.contentHash.toLowerCase() as Hex
  }

  const price = (e: DirectoryEntry) => BigInt(e.announcement.pricePerMillionInput) + BigInt(e.announcement.pricePerMillionOutput)

  async function nodes({ model, timeoutMs = discoveryTimeoutMs }: { model: string; timeoutMs?: number }): Promise<DirectoryEntry[]> {
    await start()
    const dir = directory as NodeDirectory
    const contentHash = hashOf(model)
    dir.watch(contentHash)
    const list = () => dir.list({ contentHash }).filter((e) => e.registered === true)
    if (list().length === 0) await dir.waitFor((e) => e.registered === true && e.announcement.models.some((m) => m.contentHash.toLowerCase() === contentHash), timeoutMs).catch(() => {})
    return list().sort((a, b) => (price(a) < price(b) ? -1 : price(a) > price(b) ? 1 : (a.rttMs ?? Infinity) - (b.rttMs ?? Infinity)))
  }

  /** The node asked for, or, for automatic choice, the candidates best first: fast ones by price, then the rest. */
  async function candidates(model: string, choice: NodeChoice['node']): Promise<DirectoryEntry[]> {
    if (choice && typeof choice !== 'string') return [choice]
    if (typeof choice === 'string') {
      await start()
      const dir = directory as NodeDirectory
      dir.watch(hashOf(model))
      const found = await dir.waitFor((e) => e.peerId === choice && e.registered === true, discoveryTimeoutMs).catch(() => undefined)
      if (!found) throw new NoNodeAvailableError({ model, details: `node ${choice} is not announcing ${model} as a registered node` })
      return [found]
    }
    const all = await nodes({ model })
    const fast = all.filter((e) => e.rttMs !== null && e.rttMs <= latencyBarMs)
    const ranked = [...fast, ...all.filter((e) => !fast.includes(e))]
    if (ranked.length === 0) throw new NoNodeAvailableError({ model })
    return ranked
  }

  /**
   * The quote of the first candidate that answers. A node that cannot be reached (it left since its last
   * announcement) is skipped for the next one, up to `MAX_CANDIDATES`; any answer from a node, refusals included,
   * ends the search.
   */
  async function firstQuote(model: string, choice: NodeChoice['node'], request: InferenceRequest): Promise<{ entry: DirectoryEntry; quote: Quote }> {
    const list = (await candidates(model, choice)).slice(0, MAX_CANDIDATES)
    for (const [i, entry] of list.entries()) {
      try {
        return { entry, quote: await askQuote(entry, request) }
      } catch (error) {
        if (!(error instanceof InferStreamError && error.reason === 'dial') || i === list.length - 1) throw error
      }
    }
    throw new NoNodeAvailableError({ model })
  }

  function toRequest(p: ChatCreateParameters | CompletionCreateParameters): InferenceRequest {
    const sampling: SamplingParameters = { max_tokens: p.max_tokens ?? CLIENT_DEFAULTS.maxTokens }
    for (const key of ['temperature', 'top_p', 'seed', 'stop', 'response_format'] as const) {
      if (p[key] !== undefined) (sampling as Record<string, unknown>)[key] = p[key]
    }
    if ('messages' in p) return { kind: 'chat', model: p.model, messages: p.messages, ...sampling }
    const request: InferenceRequest = { kind: 'completion', model: p.model, prompt: p.prompt, ...sampling }
    if (p.suffix !== undefined) request.suffix = p.suffix
    return request
  }

  async function askQuote(entry: DirectoryEntry, request: InferenceRequest): Promise<Quote> {
    const call = infer(p2p as ModelexNode, { peer: entry.peerId, request, payment: null })
    try {
      for await (const _ of call) break
      await call.result
    } catch (error) {
      if (error instanceof InferRequestError && error.code === 'PAYMENT_REQUIRED' && error.quote !== undefined) return checkQuote(decodeQuote(error.quote), entry, request)
      throw error
    }
    throw new InvalidQuoteError({ details: 'the node served an unpaid request instead of quoting it' })
  }

  function checkQuote(quote: Quote, entry: DirectoryEntry, request: InferenceRequest): Quote {
    const a = entry.announcement
    const problems = [
      quote.signer.toLowerCase() !== a.signer.toLowerCase() && 'signer differs from the announcement',
      quote.node.toLowerCase() !== a.operator.toLowerCase() && 'operator differs from the announcement',
      quote.chainId !== deployment.chainId && 'another chain',
      quote.pricePerMillionInput.toString() !== a.pricePerMillionInput && 'input price differs from the announcement',
      quote.pricePerMillionOutput.toString() !== a.pricePerMillionOutput && 'output price differs from the announcement',
      quote.maxTokens !== request.max_tokens && 'max_tokens differs from the request',
      quote.model !== request.model && 'another model',
    ].filter(Boolean)
    if (problems.length > 0) throw new InvalidQuoteError({ details: problems.join('; ') })
    return quote
  }

  async function withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = locks.get(key) ?? Promise.resolve()
    const next = previous.then(work, work)
    locks.set(key, next.catch(() => {}))
    return next
  }

  /** A channel to `operator` that can take a voucher for `maxCost` more: opened or topped up as needed. */
  async function channelFor(operator: Address, maxCost: bigint): Promise<ConsumerChannel> {
    const s = state as ConsumerState
    const key = operator.toLowerCase()
    let channel = s.channels[key]
    if (channel) {
      const onChain = await getChannel(publicClient, { channels: channelsAddress, channelId: channel.channelId })
      if (onChain.status !== 1) channel = undefined
      else channel = { ...channel, deposit: onChain.deposit }
    }
    if (!channel) {
      const deposit = maxCost > depositSize ? maxCost : depositSize
      const { channelId } = await openChannel(wallet, { token, channels: channelsAddress, node: operator, deposit })
      channel = newConsumerChannel({ channelId, node: operator, deposit })
    } else {
      try {
        nextVoucherAmount(channel, maxCost)
      } catch (error) {
        if (!(error instanceof InsufficientDepositError)) throw error
        const missing = error.needed - channel.deposit
        const { deposit } = await topUpChannel(wallet, { token, channels: channelsAddress, channelId: channel.channelId, amount: missing > depositSize ? missing : depositSize })
        channel = { ...channel, deposit }
      }
    }
    s.channels[key] = channel
    await document.save(s)
    return channel
  }

  function paid<Chunk>(p: ChatCreateParameters | CompletionCreateParameters, chunkOf: (text: string, finish: FinishReason | null, id: string, created: number) => Chunk): PaidStream<Chunk> {
    const request = toRequest(p)
    const queue: Chunk[] = []
    let wake: (() => void) | undefined
    let ended = false
    let failure: unknown
    const id = `mx-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`
    const created = Math.floor(Date.now() / 1000)
    const push = (chunk: Chunk) => {
      queue.push(chunk)
      wake?.()
    }
    const result = (async (): Promise<PaidResult> => {
      try {
        await start()
        const { entry, quote } = await firstQuote(p.model, p.node, request)
        return await withLock(quote.node.toLowerCase(), async () => {
          let channel = await channelFor(quote.node, quote.maxCost)
          const cumulativeAmount = nextVoucherAmount(channel, quote.maxCost)
          const { signature } = await signVoucher(wallet, { channels: channelsAddress, chainId: deployment.chainId, voucher: { channelId: channel.channelId, cumulativeAmount } })
          channel = recordVoucher(channel, cumulativeAmount)
          const s = state as ConsumerState
          s.channels[quote.node.toLowerCase()] = channel
          await document.save(s)
          const payment = encodePayment({ chainId: deployment.chainId, channels: channelsAddress, voucher: { channelId: channel.channelId, cumulativeAmount }, signature })
          const call = infer(p2p as ModelexNode, { peer: entry.peerId, request, payment, ...(p.signal ? { signal: p.signal } : {}) })
          let text = ''
          let outcome
          try {
            for await (const delta of call) {
              text += delta.text
              if (delta.text) push(chunkOf(delta.text, null, id, created))
            }
            outcome = await call.result
          } catch (error) {
            if (error instanceof InferRequestError) throw error
            throw new PaidRequestInterruptedError({ text, credit: credit(channel), cause: error })
          }
          const receipt = decodeSignedReceipt(outcome.receipt)
          await verifySignedReceipt(receipt, { chainId: deployment.chainId, verifyingContract: anchor }, { signer: quote.signer, consumer: account, request, text })
          channel = applyReceipt(channel, receipt.receipt, quote)
          s.channels[quote.node.toLowerCase()] = channel
          s.receipts ??= []
          s.receipts.push({ peer: entry.peerId, receipt: encodeSignedReceipt(receipt), cost: receipt.receipt.cost, at: Date.now() })
          await document.save(s)
          push(chunkOf('', outcome.finish_reason, id, created))
          return { text, finish_reason: outcome.finish_reason, usage: outcome.usage, cost: receipt.receipt.cost, quote, receipt, peer: entry.peerId, channelId: channel.channelId, credit: credit(channel) }
        })
      } catch (error) {
        failure = error
        throw error
      } finally {
        ended = true
        wake?.()
      }
    })()
    result.catch(() => {})
    return {
      result,
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const next = queue.shift()
          if (next !== undefined) {
            yield next
            continue
          }
          if (ended) {
            if (failure !== undefined) throw failure
            return
          }
          await new Promise<void>((resolve) => (wake = resolve))
          wake = undefined
        }
      },
    }
  }

  const chatChunk = (text: string, finish: FinishReason | null, id: string, created: number, model: string): ChatCompletionChunk => ({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta: { content: text }, finish_reason: finish }] })
  const textChunk = (text: string, finish: FinishReason | null, id: string, created: number, model: string): CompletionChunk => ({ id, object: 'text_completion', created, model, choices: [{ index: 0, text, finish_reason: finish }] })

  async function createChat(p: ChatCreateParameters): Promise<PaidStream<ChatCompletionChunk> | ChatCompletion> {
    const stream = paid(p, (t, f, id, c) => chatChunk(t, f, id, c, p.model))
    if (p.stream) return stream
    const r = await stream.result
    return { id: 'mx', object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: p.model, choices: [{ index: 0, message: { role: 'assistant', content: r.text }, finish_reason: r.finish_reason }], usage: r.usage, modelex: r }
  }
  async function createCompletion(p: CompletionCreateParameters): Promise<PaidStream<CompletionChunk> | Completion> {
    const stream = paid(p, (t, f, id, c) => textChunk(t, f, id, c, p.model))
    if (p.stream) return stream
    const r = await stream.result
    return { id: 'mx', object: 'text_completion', created: Math.floor(Date.now() / 1000), model: p.model, choices: [{ index: 0, text: r.text, finish_reason: r.finish_reason }], usage: r.usage, modelex: r }
  }

  return {
    start,
    async stop() {
      await starting?.catch(() => {})
      if (ownsDirectory) await directory?.stop()
      if (ownsNode) await p2p?.stop()
    },
    nodes,
    async quote(p) {
      await start()
      const { entry, quote } = await firstQuote(p.model, p.node, toRequest(p))
      return { node: entry, quote }
    },
    chat: { completions: { create: createChat as ModelexClient['chat']['completions']['create'] } },
    completions: { create: createCompletion as ModelexClient['completions']['create'] },
    async verify({ receipt, peer }) {
      await start()
      const answer = await fetchProof(p2p as ModelexNode, peer, receipt.receiptHash)
      if (answer.status !== 'anchored') return { anchored: false }
      const onChain = await getAnchor(publicClient, { anchor, root: answer.root })
      if (!onChain.anchored) return { anchored: false }
      const verified = await verifyReceipt(publicClient, { anchor, root: answer.root, receiptHash: receipt.receiptHash, proof: answer.proof })
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
    account,
    publicClient,
    get p2p() {
      return p2p
    },
  }
}

function need(address: Address | undefined, name: string): Address {
  if (!address) throw new Error(`${name} is not in the deployment`)
  return address
}
