/**
 * The provider service: one loaded engine served over `/modelex/infer/1.0.0` for pay. It puts together the books
 * (`books.ts`: channels, receipts, batches as separate records), the cashier (`cashier.ts`: quote, admit, settle,
 * sign — the infer server's payment policy), settlement (`settlement.ts`: anchoring, redemption, watching closes),
 * the announcer, and the receipt-proof and final-voucher protocols, and keeps the figures the Node view shows.
 * Runs in the browser (IndexedDB store) and in Node (Map store, in-memory engine).
 *
 * The node signer (a local key, no wallet pop-ups) signs receipts and sends the anchoring and redemption
 * transactions, so it needs a little ETH for gas; redemption pays the channel's node (the operator) whoever sends it.
 */
import { createWalletClient, type Address, type Client, type Hex, type Transport } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { getChannel } from '../chain/actions/getChannel.ts'
import type { Batch, BatchPolicy } from '../core/batch.ts'
import { redeemable } from '../core/credit.ts'
import type { Deployment } from '../core/deployment.ts'
import type { InferenceEngine, InferenceRequest, InferenceResult } from '../core/inference.ts'
import { decodeSignedReceipt, type SignedReceipt } from '../core/payment.ts'
import type { Prices, Quote } from '../core/quote.ts'
import { createAnnouncer, type Announcer } from '../p2p/announcer.ts'
import { datasetStore, fetchDatasetFromAny, serveDatasets } from '../p2p/datasets.ts'
import { serveFinalVouchers } from '../p2p/final-voucher.ts'
import { createInferServer, forModelOf, type InferServer, type InferServerLimits } from '../p2p/infer-server.ts'
import type { ModelexNode } from '../p2p/node.ts'
import type { Peer } from '../p2p/peer.ts'
import { serveProofs, type ProofAnswer } from '../p2p/receipt-proof.ts'
import type { KeyValueStore } from '../store/kv.ts'
import { createBooks, type ChannelBook } from './books.ts'
import { announcedEngine } from '../core/spot-check.ts'
import { createCashier } from './cashier.ts'
import { PROVIDER_DEFAULTS } from './constants.ts'
import { createJobService, type JobService, type JobsConfig } from './jobs.ts'
import { createOracleService, type OracleOptions, type OracleService } from './oracle.ts'
import { createSettlement } from './settlement.ts'

/**
 * Where to serve: a bare `node` (the service runs an infer server of its own on it), or a running `peer` (the app's,
 * shared with the Code view's pairing): the service then puts its engine into the peer's engine slot and its
 * cashier into the peer's policy chain as `payment`, and the peer's server limits apply (`init.limits` does not).
 */
export type ProviderComponents = ({ node: ModelexNode; peer?: never } | { peer: Peer; node?: never }) & {
  /** Loaded with the model to serve. */
  engine: InferenceEngine
  deployment: Deployment
  /** The chain's transport (http(rpcUrl) in Node, the same or the wallet's in the browser). */
  transport: Transport
  store: KeyValueStore
}

export type ProviderInit = {
  signer: { privateKey: Hex; address: Address }
  operator: Address
  prices: Prices
  batch?: Partial<BatchPolicy>
  redeemThreshold?: bigint
  tickMs?: number
  closeWatchMs?: number
  limits?: Partial<InferServerLimits>
  /** Measured decode speed to announce. */
  tokensPerSecond?: number
  announceIntervalMs?: number
  now?: () => number
  /** Async jobs (`jobs.ts`): claimed at these prices and run while no live request is active or queued. */
  jobs?: JobsConfig
  /** Oracle work (OracleRouter requests of these templates, on this engine's model): off unless enabled. */
  oracle?: OracleOptions
  /** A receipt was signed (the server node's metrics and history see every paid request here). */
  onReceipt?: (signed: SignedReceipt, result: InferenceResult) => void
}

export type ProviderMetrics = {
  jobsServed: number
  tokensGenerated: number
  /** Decode speed of the last job. */
  tokensPerSecond: number
  /** AI wei paid out on-chain by our redemptions. */
  earningsRedeemed: bigint
  /** AI wei the held vouchers would pay now. */
  earningsPending: bigint
  /** Settled by receipts, over every channel. */
  earningsSettled: bigint
  receiptsPending: number
  batchesAnchored: number
  /** Channels whose consumer started closing them: the node redeems at once; their challenge window runs. */
  closingChannels: number
  active: number
  queued: number
  busyRefusals: number
  paymentRefusals: number
  lastError: string | null
}

export type ProviderService = {
  start(): Promise<void>
  stop(): Promise<void>
  metrics(): ProviderMetrics
  batches(): readonly Batch[]
  closingChannels(): ChannelBook[]
  receipt(receiptHash: Hex): Promise<SignedReceipt | undefined>
  /** Anchors whatever is pending now (and any batch cut earlier), whatever the policy says. */
  anchorNow(): Promise<void>
  /** Redeems every channel whose voucher would pay something. */
  redeemNow(): Promise<bigint>
  proof(receiptHash: Hex): Promise<ProofAnswer>
  quote(request: InferenceRequest): Promise<Quote>
  onChange(listener: () => void): () => void
  readonly announcer: Announcer
  readonly server: InferServer
  /** The async job service, when `init.jobs` is given. */
  readonly jobs: JobService | undefined
  /** The oracle service, when `init.oracle` enables it. */
  readonly oracle: OracleService | null
  /** Keeps a data set (by its hash) to answer subscription rounds with and to serve to other nodes. */
  addDataset(bytes: Uint8Array): Promise<Hex>
}

export function createProviderService(components: ProviderComponents, init: ProviderInit): ProviderService {
  const { engine, deployment, transport, store } = components
  const peer = components.peer
  const node = peer ? peer.node : components.node
  const now = init.now ?? Date.now
  const account = privateKeyToAccount(init.signer.privateKey)
  const wallet = createWalletClient({ account, transport, pollingInterval: 100 })
  const reader: Client = wallet
  const channels = required(deployment.contracts.PaymentChannels, 'PaymentChannels')
  const anchor = required(deployment.contracts.ReceiptAnchor, 'ReceiptAnchor')
  const voucherDomain = { chainId: deployment.chainId, verifyingContract: channels }
  const receiptDomain = { chainId: deployment.chainId, verifyingContract: anchor }
  const books = createBooks(store)
  const listeners = new Set<() => void>()
  let started = false
  let lastTokensPerSecond = 0
  let paymentRefusals = 0
  let stopProofs: (() => Promise<void>) | undefined
  let stopFinalVouchers: (() => Promise<void>) | undefined

  const changed = () => {
    for (const listener of listeners) listener()
  }
  const mustBeStarted = () => {
    if (!started) throw new Error('The provider service is not started.')
  }

  const cashier = createCashier(
    { engine, books, readChannel: (channelId) => getChannel(reader, { channels, channelId }) },
    {
      signer: account,
      operator: init.operator,
      prices: init.prices,
      chainId: deployment.chainId,
      voucherDomain,
      receiptDomain,
      now,
      onReceipt: (signed, result) => {
        lastTokensPerSecond =
          result.timings.decode_ms > 0 ? (result.usage.completion_tokens * 1000) / result.timings.decode_ms : 0
        init.onReceipt?.(signed, result)
        changed()
        settlement.poke()
      },
      onRefusal: () => {
        paymentRefusals++
        changed()
      },
    },
  )
  const settlement = createSettlement(
    { books, cashier, wallet, reader },
    {
      operator: init.operator,
      channels,
      anchor,
      voucherDomain,
      batch: {
        maxReceipts: init.batch?.maxReceipts ?? PROVIDER_DEFAULTS.batchMaxReceipts,
        maxAgeMs: init.batch?.maxAgeMs ?? PROVIDER_DEFAULTS.batchMaxAgeMs,
      },
      redeemThreshold: init.redeemThreshold ?? PROVIDER_DEFAULTS.redeemThreshold,
      startBlock: BigInt(deployment.startBlock),
      ...(init.tickMs === undefined ? {} : { tickMs: init.tickMs }),
      ...(init.closeWatchMs === undefined ? {} : { closeWatchMs: init.closeWatchMs }),
      now,
      onChange: changed,
    },
  )

  const server = peer
    ? peer.server
    : createInferServer(node.libp2p, {
        engine,
        policy: cashier,
        limits: { capacity: PROVIDER_DEFAULTS.capacity, maxQueue: PROVIDER_DEFAULTS.maxQueue, ...init.limits },
      })
  let stopLoadWatch: (() => void) | undefined
  const jobs = init.jobs
    ? createJobService(
        { node, engine, cashier, server, store },
        {
          signer: account,
          operator: init.operator,
          chainId: deployment.chainId,
          config: init.jobs,
          now,
          onChange: changed,
        },
      )
    : undefined

  // Data sets: kept in the store, served to anyone, fetched from connected peers when a round needs one we lack.
  const datasets = datasetStore(store)
  let stopDatasets: (() => Promise<void>) | undefined
  const router = deployment.contracts.OracleRouter
  const oracle =
    init.oracle?.enabled && router
      ? createOracleService(
          {
            engine,
            wallet,
            reader,
            store,
            // Live paid requests come first: oracle inference waits while any is running or queued.
            idle: () => {
              const stats = server.stats()
              return stats.active === 0 && stats.queued === 0
            },
            datasets: {
              async get(hash) {
                const local = await datasets.get(hash)
                if (local) return local
                // Peers connected to us (a requester that dialled) and the nodes announcing on the network.
                const self = node.peerId.toString()
                const known = [
                  ...node.libp2p.getPeers().map(String),
                  ...(peer?.directory.list().map((e) => e.peerId) ?? []),
                ]
                const peers = [...new Set(known)].filter((p) => p !== self).slice(0, 16)
                const bytes = await fetchDatasetFromAny(node, peers, hash)
                await datasets.put(bytes)
                return bytes
              },
            },
          },
          {
            ...init.oracle,
            router,
            operator: init.operator,
            startBlock: BigInt(deployment.startBlock),
            now,
            onChange: changed,
          },
        )
      : null

  const announcer = createAnnouncer(node, {
    signer: init.signer,
    operator: init.operator,
    chainId: deployment.chainId,
    ...(init.announceIntervalMs === undefined ? {} : { intervalMs: init.announceIntervalMs }),
    state: async () => {
      const loaded = await engine.current()
      const stats = server.stats()
      return {
        models: loaded
          ? [
              {
                id: loaded.id,
                contentHash: loaded.contentHash as Hex,
                engine: announcedEngine(loaded),
                contextLength: loaded.contextLength,
                tokensPerSecond: Math.round((init.tokensPerSecond ?? lastTokensPerSecond) * 1000) / 1000,
              },
            ]
          : [],
        pricePerMillionInput: init.prices.pricePerMillionInput.toString(),
        pricePerMillionOutput: init.prices.pricePerMillionOutput.toString(),
        capacity: stats.capacity,
        // What a new request waits behind: the queue, plus one when every slot is busy (a busy one-slot browser node
        // then announces 1, not 0, so routing sees the wait before it meets BUSY).
        queueDepth: stats.queued + (stats.active >= stats.capacity ? 1 : 0),
      }
    },
  })

  return {
    server,
    announcer,
    jobs,
    oracle,
    addDataset: (bytes) => datasets.put(bytes),
    async start() {
      await books.load()
      started = true
      stopLoadWatch = server.onLoadChange(() => {
        announcer.changed()
        changed()
      })
      if (peer) {
        // Only requests for our engine's model are billed here; a paired gateway is admitted before this.
        peer.policies.set('payment', forModelOf(engine, cashier))
        peer.serve(engine)
      } else await server.start()
      stopProofs = await serveProofs(node, (hash) => settlement.proof(hash))
      stopFinalVouchers = await serveFinalVouchers(node, (payment) => settlement.acceptFinalVoucher(payment))
      stopDatasets = await serveDatasets(node, datasets)
      await announcer.start()
      settlement.start()
      await jobs?.start()
      if (oracle) {
        // Nodes serving our model answer the same rounds, so they are where a data set we lack is asked for.
        const loaded = await engine.current()
        if (peer && loaded) peer.directory.watch(loaded.contentHash as Hex)
        await oracle.start()
      }
    },
    async stop() {
      await jobs?.stop()
      await oracle?.stop()
      await stopDatasets?.()
      await announcer.stop()
      await stopProofs?.()
      await stopFinalVouchers?.()
      if (peer) {
        peer.policies.delete('payment')
        peer.stopServing(engine)
      } else await server.stop()
      stopLoadWatch?.()
      await settlement.stop()
      started = false
    },
    metrics() {
      mustBeStarted()
      const stats = server.stats()
      let pending = 0n
      let settled = 0n
      for (const book of books.channels.values()) {
        pending += redeemable({ ...book, reserved: 0n }, book.redeemed)
        settled += book.settled
      }
      return {
        jobsServed: books.work.jobsServed,
        tokensGenerated: books.work.tokensGenerated,
        tokensPerSecond: lastTokensPerSecond,
        earningsRedeemed: books.work.earningsRedeemed,
        earningsPending: pending,
        earningsSettled: settled,
        receiptsPending:
          books.work.pending.length +
          books.batches.filter((b) => b.status === 'cut').reduce((n, b) => n + b.receiptHashes.length, 0),
        batchesAnchored: books.batches.filter((b) => b.status === 'anchored').length,
        active: stats.active,
        queued: stats.queued,
        busyRefusals: stats.refused.BUSY,
        paymentRefusals,
        closingChannels: settlement.closing().length,
        lastError: settlement.lastError,
      }
    },
    batches: () => books.batches,
    closingChannels: () => settlement.closing(),
    async receipt(receiptHash) {
      const raw = await books.receipt(receiptHash)
      return raw === undefined ? undefined : decodeSignedReceipt(raw)
    },
    anchorNow: () => settlement.anchorNow(),
    redeemNow: () => settlement.redeemNow(),
    proof: (hash) => settlement.proof(hash),
    quote: (request) => cashier.quoteFor(request),
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

function required(address: Address | undefined, name: string): Address {
  if (!address) throw new Error(`${name} is not in the deployment`)
  return address
}
