/**
 * The provider service: one loaded engine served over `/modelex/infer/1.0.0` for pay. It quotes with the engine's
 * tokenizer, accepts a request only with a voucher that covers its quote (`src/core/credit.ts`), signs a receipt
 * for every finished request and stores it, anchors receipts in Merkle batches every N receipts or T minutes,
 * redeems vouchers on a threshold or on demand, announces itself, answers receipt-proof requests, and keeps the
 * figures the Node view shows. Runs in the browser (IndexedDB store) and in Node (Map store, in-memory engine).
 *
 * The node signer (a local key, no wallet pop-ups) signs receipts and sends the anchoring and redemption
 * transactions, so it needs a little ETH for gas; redemption pays the channel's node (the operator) whoever sends it.
 */
import { createWalletClient, type Address, type Client, type Hex, type Transport } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anchorReceipts } from '../chain/actions/anchorReceipts.ts'
import { getAnchor } from '../chain/actions/getAnchor.ts'
import { getChannel } from '../chain/actions/getChannel.ts'
import { redeemVouchers } from '../chain/actions/redeemVouchers.ts'
import { batchDue, batchProof, cutBatch, type Batch, type BatchPolicy, type PendingReceipt } from '../core/batch.ts'
import { acceptVoucher, newLedger, redeemable, releaseRequest, settleRequest, type ChannelLedger } from '../core/credit.ts'
import type { Deployment } from '../core/deployment.ts'
import type { JsonValue } from '../core/errors/base.ts'
import { VoucherRejectedError } from '../core/errors/payments.ts'
import type { InferenceEngine, InferenceRequest, LoadedModel } from '../core/inference.ts'
import { buildReceipt, checkPaymentDomain, decodePayment, decodeSignedReceipt, encodeSignedReceipt, recoverVoucherSigner, type SignedReceipt } from '../core/payment.ts'
import { createQuote, encodeQuote, quotedText, type Prices, type Quote } from '../core/quote.ts'
import { hashReceipt, receiptTypedData } from '../core/receipt.ts'
import { createAnnouncer, type Announcer } from '../p2p/announcer.ts'
import { createInferServer, type InferServer, type InferServerLimits, type PaymentContext, type PaymentDecision } from '../p2p/infer-server.ts'
import type { ModelexNode } from '../p2p/node.ts'
import type { KeyValueStore } from '../store/kv.ts'
import { PROVIDER_STATE_KEY, storedDocument } from '../store/payments.ts'
import { PROVIDER_DEFAULTS } from './constants.ts'
import { serveProofs, type ProofAnswer } from './proofs.ts'

export type ProviderComponents = {
  node: ModelexNode
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
  limits?: Partial<InferServerLimits>
  /** Measured decode speed to announce. */
  tokensPerSecond?: number
  announceIntervalMs?: number
  now?: () => number
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
  active: number
  queued: number
  busyRefusals: number
  paymentRefusals: number
  lastError: string | null
}

type ProviderState = {
  ledgers: Record<string, Omit<ChannelLedger, 'reserved'>>
  /** What each channel has redeemed on-chain, as last seen. */
  redeemed: Record<string, bigint>
  receipts: Record<string, JsonValue>
  pending: PendingReceipt[]
  batches: Batch[]
  earningsRedeemed: bigint
  jobsServed: number
  tokensGenerated: number
}

export type ProviderService = {
  start(): Promise<void>
  stop(): Promise<void>
  metrics(): ProviderMetrics
  batches(): readonly Batch[]
  receipt(receiptHash: Hex): SignedReceipt | undefined
  /** Anchors whatever is pending now (and any batch cut earlier), whatever the policy says. */
  anchorNow(): Promise<void>
  /** Redeems every channel whose voucher would pay something. */
  redeemNow(): Promise<bigint>
  proof(receiptHash: Hex): ProofAnswer
  quote(request: InferenceRequest): Promise<Quote>
  onChange(listener: () => void): () => void
  readonly announcer: Announcer
  readonly server: InferServer
}

export function createProviderService(components: ProviderComponents, init: ProviderInit): ProviderService {
  const { node, engine, deployment, transport, store } = components
  const now = init.now ?? Date.now
  const policy: BatchPolicy = { maxReceipts: init.batch?.maxReceipts ?? PROVIDER_DEFAULTS.batchMaxReceipts, maxAgeMs: init.batch?.maxAgeMs ?? PROVIDER_DEFAULTS.batchMaxAgeMs }
  const redeemThreshold = init.redeemThreshold ?? PROVIDER_DEFAULTS.redeemThreshold
  const account = privateKeyToAccount(init.signer.privateKey)
  const wallet = createWalletClient({ account, transport, pollingInterval: 100 })
  const reader: Client = wallet
  const channels = required(deployment.contracts.PaymentChannels, 'PaymentChannels')
  const anchor = required(deployment.contracts.ReceiptAnchor, 'ReceiptAnchor')
  const voucherDomain = { chainId: deployment.chainId, verifyingContract: channels }
  const receiptDomain = { chainId: deployment.chainId, verifyingContract: anchor }
  const document = storedDocument<ProviderState>(store, PROVIDER_STATE_KEY, () => ({ ledgers: {}, redeemed: {}, receipts: {}, pending: [], batches: [], earningsRedeemed: 0n, jobsServed: 0, tokensGenerated: 0 }))

  let state: ProviderState | undefined
  const reserved = new Map<string, bigint>()
  const inFlight = new Map<InferenceRequest, { channelId: string; quote: Quote; consumer: Address }>()
  const listeners = new Set<() => void>()
  let lastTokensPerSecond = 0
  let lastError: string | null = null
  let paymentRefusals = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let retryAt = 0
  let retryDelay: number = PROVIDER_DEFAULTS.retryMs
  let working: Promise<void> = Promise.resolve()
  let stopProofs: (() => Promise<void>) | undefined

  const changed = () => {
    for (const listener of listeners) listener()
  }
  const current = (): ProviderState => {
    if (!state) throw new Error('The provider service is not started.')
    return state
  }
  const ledgerOf = (id: string): ChannelLedger | undefined => {
    const stored = current().ledgers[id]
    return stored ? { ...stored, reserved: reserved.get(id) ?? 0n } : undefined
  }
  const putLedger = (ledger: ChannelLedger) => {
    const { reserved: r, ...rest } = ledger
    current().ledgers[ledger.channelId.toString()] = rest
    reserved.set(ledger.channelId.toString(), r)
  }
  const save = () => document.save(current())

  // A paid request repeats the text of the quote request just before it; some engines count tokens by running a
  // prefill (wasm), so the last counts are kept.
  const counts = new Map<string, number>()
  async function countTokens(text: string): Promise<number> {
    const known = counts.get(text)
    if (known !== undefined) return known
    const count = await engine.countTokens(text)
    counts.set(text, count)
    if (counts.size > 64) counts.delete(counts.keys().next().value as string)
    return count
  }

  async function quote(request: InferenceRequest, model?: LoadedModel): Promise<Quote> {
    const loaded = model ?? (await engine.current())
    if (!loaded) throw new Error('no model loaded')
    return createQuote({
      model: loaded.id,
      modelHash: loaded.contentHash as Hex,
      inputTokens: await countTokens(quotedText(request)),
      maxTokens: request.max_tokens ?? PROVIDER_DEFAULTS.defaultMaxTokens,
      pricePerMillionInput: init.prices.pricePerMillionInput,
      pricePerMillionOutput: init.prices.pricePerMillionOutput,
      node: init.operator,
      signer: init.signer.address,
      chainId: deployment.chainId,
    })
  }

  /** The channel as the chain has it, refused unless it is open and pays us. */
  async function channelFromChain(channelId: bigint, known: ChannelLedger | undefined): Promise<ChannelLedger> {
    const onChain = await getChannel(reader, { channels, channelId })
    if (onChain.status !== 1) throw new VoucherRejectedError({ reason: onChain.status === 0 ? 'wrong-channel' : 'closed', details: `channel ${channelId} is ${['missing', 'open', 'closing', 'closed'][onChain.status] ?? 'unknown'}` })
    if (onChain.node.toLowerCase() !== init.operator.toLowerCase()) throw new VoucherRejectedError({ reason: 'wrong-channel', details: `channel ${channelId} pays ${onChain.node}, not this node's operator ${init.operator}` })
    current().redeemed[channelId.toString()] = onChain.redeemed
    return known ? { ...known, deposit: onChain.deposit } : newLedger({ channelId, consumer: onChain.consumer, deposit: onChain.deposit })
  }

  async function decide({ request, payment, model }: PaymentContext): Promise<PaymentDecision> {
    // The quote bounds the output, so the request must name the bound it is quoted for.
    request.max_tokens ??= PROVIDER_DEFAULTS.defaultMaxTokens
    const q = await quote(request, model)
    const wireQuote = encodeQuote(q)
    if (payment === null) return { ok: false, message: 'this node serves paid requests only; the quote is attached', quote: wireQuote }
    try {
      const p = decodePayment(payment)
      checkPaymentDomain(p, voucherDomain)
      const id = p.voucher.channelId.toString()
      let ledger = ledgerOf(id) ?? (await channelFromChain(p.voucher.channelId, undefined))
      // A deposit topped up since we last looked: read it again before refusing.
      if (p.voucher.cumulativeAmount > ledger.deposit) ledger = await channelFromChain(p.voucher.channelId, ledger)
      const recoveredSigner = await recoverVoucherSigner(p.voucher, p.signature, voucherDomain)
      ledger = acceptVoucher(ledger, { channelId: p.voucher.channelId, cumulativeAmount: p.voucher.cumulativeAmount, signature: p.signature, recoveredSigner }, q.maxCost)
      putLedger(ledger)
      inFlight.set(request, { channelId: id, quote: q, consumer: ledger.consumer })
      await save()
      return { ok: true, quote: wireQuote }
    } catch (error) {
      paymentRefusals++
      changed()
      if (error instanceof VoucherRejectedError) return { ok: false, message: `${error.reason}: ${error.details ?? error.shortMessage}`, quote: wireQuote }
      throw error
    }
  }

  async function sign(context: Parameters<NonNullable<Parameters<typeof createInferServer>[1]['receipt']>>[0]): Promise<JsonValue | null> {
    const job = inFlight.get(context.request)
    if (!job) return null
    inFlight.delete(context.request)
    const { result } = context
    const before = ledgerOf(job.channelId)
    if (!before) return null
    const receipt = buildReceipt({
      request: context.request,
      text: result.text,
      promptTokens: result.usage.prompt_tokens,
      completionTokens: result.usage.completion_tokens,
      quote: job.quote,
      channelId: BigInt(job.channelId),
      consumer: job.consumer,
      settledBefore: before.settled,
      timestamp: Math.floor(now() / 1000),
    })
    putLedger(settleRequest(before, job.quote.maxCost, receipt.cost))
    const signature = await account.signTypedData(receiptTypedData(receipt, receiptDomain))
    const signed: SignedReceipt = { receipt, receiptHash: hashReceipt(receipt, receiptDomain), signature }
    const s = current()
    const encoded = encodeSignedReceipt(signed)
    s.receipts[signed.receiptHash] = encoded
    s.pending.push({ receiptHash: signed.receiptHash, signedAt: now() })
    s.jobsServed++
    s.tokensGenerated += result.usage.completion_tokens
    lastTokensPerSecond = result.timings.decode_ms > 0 ? (result.usage.completion_tokens * 1000) / result.timings.decode_ms : 0
    await save()
    changed()
    schedule(0)
    return encoded
  }

  function release(context: PaymentContext): void {
    const job = inFlight.get(context.request)
    if (!job) return
    inFlight.delete(context.request)
    const ledger = ledgerOf(job.channelId)
    if (ledger) putLedger(releaseRequest(ledger, job.quote.maxCost))
    changed()
  }

  const server = createInferServer(node.libp2p, { engine, policy: decide, receipt: sign, release, limits: { capacity: PROVIDER_DEFAULTS.capacity, maxQueue: PROVIDER_DEFAULTS.maxQueue, ...init.limits } })

  const announcer = createAnnouncer(node, {
    signer: init.signer,
    operator: init.operator,
    chainId: deployment.chainId,
    ...(init.announceIntervalMs === undefined ? {} : { intervalMs: init.announceIntervalMs }),
    state: async () => {
      const loaded = await engine.current()
      const stats = server.stats()
      return {
        models: loaded ? [{ id: loaded.id, contentHash: loaded.contentHash as Hex, engine: loaded.engine, contextLength: loaded.contextLength, tokensPerSecond: Math.round((init.tokensPerSecond ?? lastTokensPerSecond) * 1000) / 1000 }] : [],
        pricePerMillionInput: init.prices.pricePerMillionInput.toString(),
        pricePerMillionOutput: init.prices.pricePerMillionOutput.toString(),
        capacity: stats.capacity,
        queueDepth: stats.queued,
      }
    },
  })
  server.onLoadChange(() => {
    announcer.changed()
    changed()
  })

  /** Anchors the batch cut earlier, if any, else cuts one when due (or when `force`). Never re-cuts a receipt. */
  async function anchorStep(force: boolean): Promise<void> {
    const s = current()
    for (;;) {
      let batch = s.batches.find((b) => b.status === 'cut')
      if (!batch) {
        if (!(force ? s.pending.length > 0 : batchDue(s.pending, policy, now()))) return
        const cut = cutBatch(s.pending, policy)
        s.batches.push(cut.batch)
        s.pending = cut.rest
        // Stored before the transaction: a retry resends this root, it never cuts these receipts again.
        await save()
        batch = cut.batch
      }
      const onChain = await getAnchor(reader, { anchor, root: batch.root })
      if (!onChain.anchored) {
        try {
          const { transactionHash } = await anchorReceipts(wallet, { anchor, receiptHashes: batch.receiptHashes })
          batch.transactionHash = transactionHash
        } catch (error) {
          // Our own earlier attempt may have landed after its reply was lost.
          if ((error as { errorName?: string }).errorName !== 'RootAlreadyAnchored') throw error
        }
      }
      batch.status = 'anchored'
      batch.anchoredAt = now()
      await save()
      changed()
    }
  }

  async function redeemStep(threshold: bigint): Promise<bigint> {
    const s = current()
    const due: { voucher: { channelId: bigint; cumulativeAmount: bigint }; signature: Hex }[] = []
    for (const [id, stored] of Object.entries(s.ledgers)) {
      if (!stored.voucher) continue
      const amount = redeemable({ ...stored, reserved: 0n }, s.redeemed[id] ?? 0n)
      if (amount > 0n && amount >= threshold) due.push({ voucher: { channelId: BigInt(id), cumulativeAmount: stored.voucher.cumulativeAmount }, signature: stored.voucher.signature })
    }
    if (due.length === 0) return 0n
    let paid = 0n
    try {
      paid = (await redeemVouchers(wallet, { channels, vouchers: due })).paid
    } catch (error) {
      // A redemption that landed before its reply was lost reverts as stale now: re-read and carry on.
      if ((error as { errorName?: string }).errorName !== 'StaleVoucher') throw error
    }
    for (const { voucher } of due) s.redeemed[voucher.channelId.toString()] = (await getChannel(reader, { channels, channelId: voucher.channelId })).redeemed
    s.earningsRedeemed += paid
    await save()
    changed()
    return paid
  }

  function run<T>(work: () => Promise<T>): Promise<T> {
    const next = working.then(work)
    working = next.then(
      () => {},
      () => {},
    )
    return next
  }

  async function tick(): Promise<void> {
    timer = undefined
    if (!state) return
    if (now() >= retryAt) {
      await run(async () => {
        try {
          await anchorStep(false)
          await redeemStep(redeemThreshold)
          lastError = null
          retryDelay = PROVIDER_DEFAULTS.retryMs
        } catch (error) {
          lastError = (error as Error).message.split('\n')[0] ?? 'error'
          retryAt = now() + retryDelay
          retryDelay = Math.min(retryDelay * 2, PROVIDER_DEFAULTS.maxRetryMs)
          changed()
        }
      })
    }
    schedule(init.tickMs ?? PROVIDER_DEFAULTS.tickMs)
  }

  function schedule(ms: number): void {
    if (!state) return
    if (timer !== undefined) {
      if (ms > 0) return
      clearTimeout(timer)
    }
    timer = setTimeout(() => void tick(), ms)
  }

  function proof(receiptHash: Hex): ProofAnswer {
    const s = current()
    const hash = receiptHash.toLowerCase() as Hex
    const batch = s.batches.find((b) => b.status === 'anchored' && b.receiptHashes.includes(hash))
    if (batch) return { status: 'anchored', root: batch.root, proof: batchProof(batch, hash) }
    return s.receipts[hash] !== undefined || s.receipts[receiptHash] !== undefined ? { status: 'pending' } : { status: 'unknown' }
  }

  return {
    server,
    announcer,
    async start() {
      state = await document.load()
      await server.start()
      stopProofs = await serveProofs(node, async (hash) => proof(hash))
      await announcer.start()
      schedule(0)
    },
    async stop() {
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      await announcer.stop()
      await stopProofs?.()
      await server.stop()
      await working
      if (state) await save()
      state = undefined
    },
    metrics() {
      const s = current()
      const stats = server.stats()
      let pending = 0n
      let settled = 0n
      for (const [id, ledger] of Object.entries(s.ledgers)) {
        pending += redeemable({ ...ledger, reserved: 0n }, s.redeemed[id] ?? 0n)
        settled += ledger.settled
      }
      return {
        jobsServed: s.jobsServed,
        tokensGenerated: s.tokensGenerated,
        tokensPerSecond: lastTokensPerSecond,
        earningsRedeemed: s.earningsRedeemed,
        earningsPending: pending,
        earningsSettled: settled,
        receiptsPending: s.pending.length + s.batches.filter((b) => b.status === 'cut').reduce((n, b) => n + b.receiptHashes.length, 0),
        batchesAnchored: s.batches.filter((b) => b.status === 'anchored').length,
        active: stats.active,
        queued: stats.queued,
        busyRefusals: stats.refused.BUSY,
        paymentRefusals,
        lastError,
      }
    },
    batches: () => current().batches,
    receipt(receiptHash) {
      const raw = current().receipts[receiptHash.toLowerCase()] ?? current().receipts[receiptHash]
      return raw === undefined ? undefined : decodeSignedReceipt(raw)
    },
    anchorNow: () => run(() => anchorStep(true)),
    redeemNow: () => run(() => redeemStep(1n)),
    proof,
    quote: (request) => quote(request),
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
