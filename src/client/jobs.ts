/**
 * Async jobs in the SDK (`client.jobs`): post a request as a job on `modelex/1/jobs` with a deadline and maximum
 * prices below the live ones, collect the nodes' claims for a moment, accept the cheapest valid one (among nodes that
 * meet the client's reputation requirement), and fetch the result with its receipt later — also after a restart, from
 * the same store and wallet (`fetch()` runs when the client starts).
 *
 * The money is the live request's (see `payForRequest.ts`): the claim's quote is checked like a live quote
 * (`checkClaim`: bound, model, max_tokens, spend limits; prices at most the job's instead of the registered ones), the
 * acceptance carries a voucher on the consumer's channel with that node for settled + undelivered jobs + the claim's
 * maximum (`nextVoucherAmount`), the job is listed on the channel until its receipt arrives, and the receipt is
 * verified (signer, consumer, request, output) and settled exactly (`applyJobReceipt`). A job not delivered by its
 * deadline plus the grace period becomes an interrupted request (`expireJob`): a node can only be caught up with by
 * its receipt, for at most the job's maximum.
 */
import type { Hex } from 'viem'
import { signTypedData, readContract } from 'viem/actions'
import { signVoucher } from '../chain/actions/signVoucher.ts'
import { nodeRegistryAbi } from '../chain/generated.ts'
import { catchUp, nextVoucherAmount, recordVoucher, type ConsumerChannel } from '../core/credit.ts'
import type { JsonValue } from '../core/errors/base.ts'
import { InvalidClaimError, JobNotDeliveredError, JobRefusedError } from '../core/errors/jobs.ts'
import type { FinishReason, InferenceRequest, Usage } from '../core/inference.ts'
import {
  addJob,
  applyJobReceipt,
  checkClaim,
  decodeClaim,
  decodeJobValue,
  dropJob,
  encodeClaim,
  encodeJobValue,
  expireJob,
  fetchHashOf,
  jobEntry,
  pickClaim,
  signJob,
  verifyClaimSignature,
  type Claim,
  type Job,
  type JobsAnswer,
  type JobsRequest,
} from '../core/jobs.ts'
import {
  decodeSignedReceipt,
  encodePayment,
  encodeSignedReceipt,
  requestHash,
  verifySignedReceipt,
  type SignedReceipt,
} from '../core/payment.ts'
import type { Quote } from '../core/quote.ts'
import { askJobs, publishJob, serveJobs } from '../p2p/jobs.ts'
import type { ModelexNode } from '../p2p/node.ts'
import { storedDocument, type Document } from '../store/payments.ts'
import type { KeyValueStore } from '../store/kv.ts'
import { ensureChannel } from './actions/ensureChannel.ts'
import { finishWithNode } from './actions/finishWithNode.ts'
import { meetsReputation } from './actions/findNodes.ts'
import type { ClientContext } from './context.ts'

export const JOBS_CLIENT_DEFAULTS = {
  /** How long claims are collected after the first one before the best is accepted. */
  collectMs: 2_000,
  /** Claims kept per job, at most. */
  maxClaimsPerJob: 16,
  /** Jobs remembered, at most (finished ones are forgotten first). */
  maxStored: 256,
  /** How long after its deadline a result may still be fetched (a node keeps it a day by default). */
  resultGraceMs: 24 * 60 * 60 * 1000,
  /** `result()` asks the node this often. */
  pollMs: 1_000,
} as const

export const JOBS_STATE_KEY = 'consumer-jobs-v1'

/**
 * `posted`: waiting for claims; `accepting`: a voucher was signed for a claim and is on its way (after a crash or a
 * lost answer, `fetch` tells whether the node took it); `accepted`: the node took it; `done`: the result and its
 * receipt are here; `expired`: not delivered by the deadline (and grace), or refused; `failed`: never accepted.
 */
export type JobStatus = 'posted' | 'accepting' | 'accepted' | 'done' | 'expired' | 'failed'

/** A delivered result, verified: its text, usage, exact cost and the node's signed receipt. */
export type JobResultView = {
  jobId: Hex
  text: string
  finish_reason: FinishReason
  usage: Usage
  cost: bigint
  receipt: SignedReceipt
  quote: Quote
  peer: string
}

/** What `list()` shows of one job. */
export type JobView = {
  id: Hex
  job: Job
  status: JobStatus
  postedAt: number
  claims: number
  accepted?: { claim: Claim; peer: string }
  result?: JobResultView
  reason?: string
}

type StoredJob = {
  job: JsonValue
  status: JobStatus
  postedAt: number
  accepted?: { claim: JsonValue; peer: string; secret: Hex }
  result?: { text: string; finish_reason: FinishReason; usage: Usage; receipt: JsonValue }
  reason?: string
}
type JobsState = { jobs: StoredJob[] }

export type PostJobOptions = {
  /** Unix milliseconds by which the job must have run. */
  deadline: number
  /** The most this job pays per million input and output tokens (AI wei); nodes claim at or below it. */
  maxPricePerMillionIn: bigint
  maxPricePerMillionOut: bigint
  /** Collect claims this long after the first before accepting the best (default 2 s). */
  collectMs?: number
  /** Accept the best claim by itself (default true); otherwise call `accept`. */
  autoAccept?: boolean
  signal?: AbortSignal
}

export type JobHandle = {
  readonly id: Hex
  readonly job: Job
  /** Peers of the jobs topic the job went to when posted (0: nobody took it; post again). */
  readonly published: number
  status(): JobStatus
  /** Valid claims received so far. */
  claims(): Claim[]
  /** Accepts `claim` (default: the best one received); resolves with the claim accepted. */
  accept(claim?: Claim): Promise<Claim>
  /** Waits for the result (asking the node every `pollMs`), or throws `JobNotDeliveredError`. */
  result(options?: { pollMs?: number; signal?: AbortSignal }): Promise<JobResultView>
}

export type JobsApi = {
  post(request: InferenceRequest & { max_tokens: number }, options: PostJobOptions): Promise<JobHandle>
  list(): Promise<JobView[]>
  /** Asks the nodes for every accepted job's result; returns the results delivered now (verified, settled). */
  fetch(): Promise<JobResultView[]>
  handle(id: Hex): Promise<JobHandle | undefined>
}

/** `start` takes the client's node (called while the client starts, before `context.ready()` resolves). */
export type JobsClient = { api: JobsApi; start(node: ModelexNode): Promise<void>; stop(): Promise<void> }

export type JobsClientHooks = {
  store: KeyValueStore
  /** The content hash of a model id (as the client resolves it). */
  hashOf(model: string): Hex
  /** New receipts were stored in the consumer's state (the equivocation guard looks at them). */
  onReceipts(): void
}

export function createJobsClient(context: ClientContext, hooks: JobsClientHooks): JobsClient {
  const document: Document<JobsState> = storedDocument(
    hooks.store,
    `${JOBS_STATE_KEY}:${context.deployment.chainId}:${context.account.toLowerCase()}`,
    () => ({ jobs: [] }),
  )
  let state: JobsState | undefined
  let loading: Promise<JobsState> | undefined
  const claims = new Map<Hex, Claim[]>()
  const options = new Map<Hex, Pick<PostJobOptions, 'collectMs' | 'autoAccept'>>()
  const timers = new Map<Hex, ReturnType<typeof setTimeout>>()
  const accepting = new Map<Hex, Promise<Claim>>()
  let unserve: (() => Promise<void>) | undefined
  const receiptDomain = { chainId: context.deployment.chainId, verifyingContract: context.addresses.anchor }

  const load = () => (loading ??= document.load().then((s) => (state = s)))
  const save = async () => {
    const s = await load()
    const finished = s.jobs.filter((j) => j.status === 'done' || j.status === 'expired' || j.status === 'failed')
    const excess = s.jobs.length - JOBS_CLIENT_DEFAULTS.maxStored
    if (excess > 0) s.jobs = s.jobs.filter((j) => !finished.slice(0, excess).includes(j))
    await document.save(s)
  }
  const find = async (id: Hex) => (await load()).jobs.find((j) => jobOf(j).id === id)
  const jobOf = (stored: StoredJob) => decodeJobValue(stored.job)

  /** A node offers a claim on one of our posted jobs: checked before it is kept. */
  async function onClaim({ claim }: Extract<JobsRequest, { type: 'claim' }>): Promise<JobsAnswer> {
    const stored = await find(claim.jobId)
    if (!stored || stored.status !== 'posted')
      throw new JobRefusedError({ code: 'unknown-job', details: `no open job ${claim.jobId} here` })
    const job = jobOf(stored)
    await verifyClaimSignature(claim)
    const operator = claim.quote.node
    const [entry, serves] = await Promise.all([
      context.registeredPrices(operator),
      readContract(context.publicClient, {
        address: context.addresses.registry,
        abi: nodeRegistryAbi,
        functionName: 'servesModel',
        args: [operator, job.modelHash],
      }),
    ])
    checkClaim(claim, job, {
      registered: { active: entry.active, signer: entry.signer, servesModel: serves },
      chainId: context.deployment.chainId,
      limits: context.limits,
      now: Date.now(),
    })
    const reputation =
      context.routing?.minReputation !== undefined || context.routing?.requireKnown
        ? await Promise.resolve(context.reputation?.(operator, job.modelHash)).catch(() => null)
        : null
    if (!meetsReputation(reputation ?? null, context.routing ?? {}))
      throw new InvalidClaimError({
        reason: 'unregistered',
        details: `node ${operator} does not meet this client's reputation requirement`,
      })
    const list = claims.get(job.id) ?? []
    if (list.length < JOBS_CLIENT_DEFAULTS.maxClaimsPerJob) list.push(claim)
    claims.set(job.id, list)
    const o = options.get(job.id)
    if (list.length === 1 && (o?.autoAccept ?? false) && !timers.has(job.id)) {
      const timer = setTimeout(() => {
        timers.delete(job.id)
        void accept(job.id).catch(() => {})
      }, o?.collectMs ?? JOBS_CLIENT_DEFAULTS.collectMs)
      ;(timer as { unref?: () => void }).unref?.()
      timers.set(job.id, timer)
    }
    return { ok: true, status: 'noted' }
  }

  /** Accepts a claim (the best valid one by default), paying with a voucher exactly as a live request does. */
  function accept(id: Hex, chosen?: Claim): Promise<Claim> {
    const running = accepting.get(id)
    if (running) return running
    const work = (async () => {
      const stored = await find(id)
      if (!stored) throw new JobNotDeliveredError({ jobId: id, reason: 'refused', details: 'no such job' })
      if (stored.accepted) return decodeClaim(stored.accepted.claim)
      const job = jobOf(stored)
      for (;;) {
        const valid = (claims.get(id) ?? []).filter((c) => c.acceptBy > Date.now())
        const claim = chosen ?? pickClaim(valid)
        if (!claim) throw new JobNotDeliveredError({ jobId: id, reason: 'no-claim' })
        try {
          await pay(stored, job, claim, true)
          return claim
        } catch (error) {
          // Refused outright: that claim is gone; try the next one (unless the caller chose this one).
          claims.set(
            id,
            (claims.get(id) ?? []).filter((c) => c !== claim),
          )
          if (chosen || !(error instanceof JobRefusedError)) throw error
        }
      }
    })()
    accepting.set(id, work)
    return work.finally(() => accepting.delete(id))
  }

  async function pay(stored: StoredJob, job: Job, claim: Claim, mayCatchUp: boolean): Promise<void> {
    const { node, state: consumer } = await context.ready()
    const operator = claim.quote.node
    const key = operator.toLowerCase()
    const entry = jobEntry(job, claim.quote)
    const { channels } = context.addresses
    const secret = randomSecret()
    const refused = await context.exclusive(key, async () => {
      let channel = await ensureChannel(context, { operator, maxCost: claim.quote.maxCost })
      const cumulativeAmount = nextVoucherAmount(channel, claim.quote.maxCost)
      const { signature } = await signVoucher(context.wallet, {
        channels,
        chainId: context.deployment.chainId,
        voucher: { channelId: channel.channelId, cumulativeAmount },
      })
      channel = addJob(recordVoucher(channel, cumulativeAmount), entry)
      consumer.channels[key] = channel
      await context.document.save(consumer)
      // Kept before it is sent: a consumer that crashes now still knows the secret and the voucher it signed.
      stored.status = 'accepting'
      stored.accepted = { claim: encodeClaim(claim), peer: claim.peerId, secret }
      await save()
      const payment = encodePayment({
        chainId: context.deployment.chainId,
        channels,
        voucher: { channelId: channel.channelId, cumulativeAmount },
        signature,
      })
      try {
        await askJobs(node, claim.peerId, { type: 'accept', job, claim, payment, fetchHash: fetchHashOf(secret) })
        stored.status = 'accepted'
        await save()
        return null
      } catch (error) {
        if (!(error instanceof JobRefusedError)) return null // Unknown whether the node took it: `fetch` will tell.
        // Refused: the node reserved nothing for it.
        consumer.channels[key] = dropJob(consumer.channels[key] as ConsumerChannel, entry.requestHash)
        if (error.code === 'payment' && error.settlement !== undefined && mayCatchUp) {
          // Behind the node (a receipt of one of our interrupted requests or undelivered jobs missed): as a live request.
          const missed = decodeSignedReceipt(error.settlement)
          await verifySignedReceipt(missed, receiptDomain, { signer: claim.quote.signer, consumer: context.account })
          consumer.channels[key] = catchUp(consumer.channels[key] as ConsumerChannel, missed.receipt)
          consumer.receipts.push({
            peer: claim.peerId,
            receipt: encodeSignedReceipt(missed),
            cost: missed.receipt.cost,
            at: Date.now(),
          })
        }
        await context.document.save(consumer)
        stored.status = 'posted'
        delete stored.accepted
        await save()
        return error
      }
    })
    if (refused) {
      if (refused.code === 'payment' && refused.settlement !== undefined && mayCatchUp) {
        hooks.onReceipts()
        return pay(stored, job, claim, false)
      }
      throw refused
    }
  }

  const fetching = new Map<StoredJob, Promise<JobResultView | null>>()
  /** Asks the node for one accepted job's result; settles it when delivered. One question per job at a time. */
  function fetchOne(stored: StoredJob): Promise<JobResultView | null> {
    const running = fetching.get(stored)
    if (running) return running
    const work = fetchNow(stored).finally(() => fetching.delete(stored))
    fetching.set(stored, work)
    return work
  }

  async function fetchNow(stored: StoredJob): Promise<JobResultView | null> {
    if (stored.status === 'done') return viewOf(stored).result ?? null
    if ((stored.status !== 'accepted' && stored.status !== 'accepting') || !stored.accepted) return null
    const { node, state: consumer } = await context.ready()
    const job = jobOf(stored)
    const claim = decodeClaim(stored.accepted.claim)
    const key = claim.quote.node.toLowerCase()
    let answer: Extract<JobsAnswer, { ok: true }>
    try {
      answer = await askJobs(node, stored.accepted.peer, {
        type: 'fetch',
        jobId: job.id,
        secret: stored.accepted.secret,
      })
    } catch (error) {
      const gone = error instanceof JobRefusedError && (error.code === 'job-expired' || error.code === 'unknown-job')
      if (gone || Date.now() > job.deadline + JOBS_CLIENT_DEFAULTS.resultGraceMs)
        await expire(
          stored,
          job,
          key,
          error instanceof JobRefusedError
            ? (error.details ?? error.code)
            : 'the node could not be reached before the grace period ended',
        )
      return null
    }
    if (answer.status !== 'done') {
      if (stored.status === 'accepting') {
        stored.status = 'accepted'
        await save()
      }
      return null
    }
    const { result } = answer
    const receipt = decodeSignedReceipt(result.receipt)
    await verifySignedReceipt(receipt, receiptDomain, {
      signer: claim.quote.signer,
      consumer: context.account,
      request: job.request,
      text: result.text,
    })
    await context.exclusive(key, async () => {
      consumer.channels[key] = applyJobReceipt(consumer.channels[key] as ConsumerChannel, receipt.receipt, claim.quote)
      consumer.receipts.push({
        peer: stored.accepted?.peer ?? claim.peerId,
        receipt: encodeSignedReceipt(receipt),
        cost: receipt.receipt.cost,
        at: Date.now(),
      })
      await context.document.save(consumer)
    })
    stored.status = 'done'
    stored.result = result
    await save()
    hooks.onReceipts()
    // No other job waits with this node: hand it a final voucher, so an honest node redeems no unspent credit.
    if ((consumer.channels[key]?.jobs ?? []).length === 0)
      void finishWithNode(context, {
        operator: claim.quote.node,
        peer: claim.peerId,
        signer: claim.quote.signer,
      }).catch(() => null)
    return viewOf(stored).result ?? null
  }

  async function expire(stored: StoredJob, job: Job, key: string, reason: string): Promise<void> {
    const { state: consumer } = await context.ready()
    await context.exclusive(key, async () => {
      const channel = consumer.channels[key]
      if (channel) consumer.channels[key] = expireJob(channel, requestHash(job.request))
      await context.document.save(consumer)
    })
    stored.status = 'expired'
    stored.reason = reason
    await save()
  }

  function viewOf(stored: StoredJob): JobView {
    const job = jobOf(stored)
    const view: JobView = {
      id: job.id,
      job,
      status: stored.status,
      postedAt: stored.postedAt,
      claims: claims.get(job.id)?.length ?? 0,
    }
    if (stored.accepted) view.accepted = { claim: decodeClaim(stored.accepted.claim), peer: stored.accepted.peer }
    if (stored.reason) view.reason = stored.reason
    if (stored.result && view.accepted) {
      const receipt = decodeSignedReceipt(stored.result.receipt)
      view.result = {
        jobId: job.id,
        text: stored.result.text,
        finish_reason: stored.result.finish_reason,
        usage: stored.result.usage,
        cost: receipt.receipt.cost,
        receipt,
        quote: view.accepted.claim.quote,
        peer: view.accepted.peer,
      }
    }
    return view
  }

  function handleOf(stored: StoredJob, published: number): JobHandle {
    const job = jobOf(stored)
    return {
      id: job.id,
      job,
      published,
      status: () => stored.status,
      claims: () => [...(claims.get(job.id) ?? [])],
      accept: (claim) => accept(job.id, claim),
      async result({ pollMs = JOBS_CLIENT_DEFAULTS.pollMs, signal } = {}) {
        for (;;) {
          signal?.throwIfAborted()
          if (stored.status === 'posted' && Date.now() >= job.deadline) {
            stored.status = 'expired'
            stored.reason = 'no claim was accepted before the deadline'
            await save()
          }
          if (stored.status === 'expired' || stored.status === 'failed')
            throw new JobNotDeliveredError({
              jobId: job.id,
              reason: stored.accepted ? 'expired' : 'no-claim',
              ...(stored.reason ? { details: stored.reason } : {}),
            })
          const delivered =
            stored.status === 'accepted' || stored.status === 'accepting'
              ? await fetchOne(stored).catch(() => null)
              : stored.status === 'done'
                ? (viewOf(stored).result ?? null)
                : null
          if (delivered) return delivered
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, pollMs)
            signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
          })
        }
      },
    }
  }

  const api: JobsApi = {
    async post(request, o) {
      const { node } = await context.ready()
      const s = await load()
      const now = Date.now()
      const job = await signJob(
        { signTypedData: (typed) => signTypedData(context.wallet, { account: context.wallet.account, ...typed }) },
        {
          v: 1,
          chainId: context.deployment.chainId,
          consumer: context.account,
          peerId: node.peerId.toString(),
          modelHash: hooks.hashOf(request.model),
          request,
          maxPricePerMillionInput: o.maxPricePerMillionIn,
          maxPricePerMillionOutput: o.maxPricePerMillionOut,
          createdAt: now,
          deadline: o.deadline,
          nonce: crypto.getRandomValues(new Uint32Array(1))[0] as number,
        },
      )
      const stored: StoredJob = { job: encodeJobValue(job), status: 'posted', postedAt: now }
      s.jobs.push(stored)
      options.set(job.id, {
        collectMs: o.collectMs ?? JOBS_CLIENT_DEFAULTS.collectMs,
        autoAccept: o.autoAccept ?? true,
      })
      await save()
      const published = await publishJob(node, job, o.signal ? { signal: o.signal } : {})
      return handleOf(stored, published)
    },
    async list() {
      return (await load()).jobs.map(viewOf)
    },
    async fetch() {
      const out: JobResultView[] = []
      for (const stored of (await load()).jobs) {
        if (stored.status !== 'accepted' && stored.status !== 'accepting') continue
        const result = await fetchOne(stored).catch(() => null)
        if (result) out.push(result)
      }
      return out
    },
    async handle(id) {
      const stored = await find(id)
      return stored ? handleOf(stored, 0) : undefined
    },
  }

  return {
    api,
    async start(node) {
      await load()
      unserve = await serveJobs(node, { claim: onClaim })
    },
    async stop() {
      for (const timer of timers.values()) clearTimeout(timer)
      timers.clear()
      await unserve?.()
      unserve = undefined
      if (state) await document.save(state)
    },
  }
}

/** A fresh 32-byte fetch secret from the platform's CSPRNG. */
function randomSecret(): Hex {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}` as Hex
}
