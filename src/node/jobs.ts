/**
 * The provider's async jobs: it hears jobs on `modelex/1/jobs`, claims those its configuration takes (enabled, the
 * model it serves, the job's maximum prices at or above its job prices; `claimRefusal` in `src/core/jobs.ts`),
 * admits an acceptance through the cashier exactly as a live request (voucher on the consumer's channel, reservation
 * of the claim's maximum), and runs accepted jobs only while the infer server has no live request active or queued:
 * a live request that arrives while a job runs stops it, and the job waits for the next idle moment. A job never
 * starts after its deadline (its reservation is released, nothing billed). A finished job is settled at once by the
 * cashier into a signed receipt, and the result waits for its consumer — persisted, bounded, until the deadline plus
 * a grace period — to be fetched with the secret whose hash the acceptance named.
 *
 * After a restart, accepted jobs are admitted again with the voucher they came with (the reservation lived in
 * memory); one whose voucher no longer covers it is dropped unrun and unbilled.
 */
import type { Address, Hex, LocalAccount } from 'viem'
import type { JsonValue } from '../core/errors/base.ts'
import { JobRefusedError } from '../core/errors/jobs.ts'
import { PaymentRefusedError } from '../core/errors/payments.ts'
import { runInference, type InferenceEngine, type InferenceResult } from '../core/inference.ts'
import {
  claimHash,
  claimRefusal,
  decodeClaim,
  decodeJobValue,
  encodeClaim,
  encodeJobValue,
  fetchHashOf,
  keepResultUntil,
  mayRun,
  signClaim,
  type Claim,
  type ClaimRefusalReason,
  type Job,
  type JobResult,
  type JobsAnswer,
  type JobsRequest,
} from '../core/jobs.ts'
import { decodeQuote, type Prices } from '../core/quote.ts'
import type { Admission, InferServer } from '../p2p/infer-server.ts'
import { askJobs, serveJobs, watchJobs } from '../p2p/jobs.ts'
import type { ModelexNode } from '../p2p/node.ts'
import type { KeyValueStore } from '../store/kv.ts'
import { storedDocument } from '../store/payments.ts'
import type { Cashier } from './cashier.ts'

export const JOB_SERVICE_DEFAULTS = {
  /** The highest max_tokens a job may ask. */
  maxTokens: 1024,
  /** Accepted jobs waiting to run, at most (acceptances beyond it are refused `busy`). */
  maxQueue: 32,
  /** Claims offered and not yet accepted, at most. */
  maxOpenClaims: 64,
  /** Delivered results kept for their consumers, at most (the oldest go first beyond it). */
  maxStoredResults: 256,
  /** How long a claim may be accepted. */
  claimTtlMs: 30_000,
  /** A result is kept this long after its job's deadline. */
  resultGraceMs: 24 * 60 * 60 * 1000,
  /** Jobs with less time than this before their deadline are not claimed. */
  minTimeLeftMs: 5_000,
  /** How often expired claims, jobs and results are looked for. */
  sweepMs: 1_000,
} as const

export type JobsConfig = {
  enabled: boolean
  /** The node's job prices (AI wei per million tokens): the least it claims for, and what it quotes. */
  prices: Prices
} & Partial<{ -readonly [K in keyof typeof JOB_SERVICE_DEFAULTS]: number }>

export type JobServiceComponents = {
  node: ModelexNode
  engine: InferenceEngine
  cashier: Cashier
  /** The infer server whose live requests come first. */
  server: InferServer
  store: KeyValueStore
}

export type JobServiceInit = {
  signer: LocalAccount
  operator: Address
  chainId: number
  config: JobsConfig
  now?: () => number
  onChange?: () => void
}

type Status = 'accepted' | 'done' | 'expired' | 'failed'
/** What the node keeps of one accepted job (persisted; wire forms for the signed parts). */
type JobRecord = {
  job: JsonValue
  claim: JsonValue
  payment: JsonValue
  fetchHash: Hex
  status: Status
  acceptedAt: number
  keepUntil: number
  result?: JobResult
  reason?: string
}

export type JobServiceStats = {
  claimed: number
  declined: Record<ClaimRefusalReason, number>
  accepted: number
  waiting: number
  running: boolean
  done: number
  expired: number
  failed: number
  interrupted: number
  fetched: number
}

export type JobService = {
  start(): Promise<void>
  stop(): Promise<void>
  stats(): JobServiceStats
  /** Looks for work now (after a config change, in tests). */
  poke(): void
}

export function createJobService(
  { node, engine, cashier, server, store }: JobServiceComponents,
  init: JobServiceInit,
): JobService {
  const now = init.now ?? Date.now
  const config = { ...JOB_SERVICE_DEFAULTS, ...init.config }
  const document = storedDocument<{ records: JobRecord[] }>(
    store,
    `provider-jobs-v1:${init.chainId}:${init.operator.toLowerCase()}`,
    () => ({ records: [] }),
  )
  const claims = new Map<Hex, { job: Job; claim: Claim; hash: Hex }>()
  const records = new Map<Hex, JobRecord>()
  /** The decoded job of each record (decoding checks the id, a hash: done once). */
  const jobs = new Map<Hex, Job>()
  const jobOf = (id: Hex): Job => {
    let job = jobs.get(id)
    if (!job) {
      job = decodeJobValue((records.get(id) as JobRecord).job)
      jobs.set(id, job)
    }
    return job
  }
  const admissions = new Map<Hex, Admission>()
  const stats: JobServiceStats = {
    claimed: 0,
    declined: { disabled: 0, model: 0, price: 0, 'max-tokens': 0, deadline: 0 },
    accepted: 0,
    waiting: 0,
    running: false,
    done: 0,
    expired: 0,
    failed: 0,
    interrupted: 0,
    fetched: 0,
  }
  let running: { id: Hex; controller: AbortController } | null = null
  let stopped = true
  let unwatch: (() => void) | undefined
  let unserve: (() => Promise<void>) | undefined
  let unload: (() => void) | undefined
  let sweeper: ReturnType<typeof setInterval> | undefined

  const changed = () => init.onChange?.()
  const save = () => document.save({ records: [...records.values()] })
  const live = () => {
    const s = server.stats()
    return s.active + s.queued
  }
  const waiting = () => [...records.entries()].filter(([id, r]) => r.status === 'accepted' && running?.id !== id)

  async function onJob(job: Job): Promise<void> {
    if (stopped || claims.has(job.id) || records.has(job.id)) return
    const model = await engine.current()
    const refusal = claimRefusal(
      job,
      {
        enabled: config.enabled,
        prices: config.prices,
        modelHash: (model?.contentHash as Hex | undefined) ?? null,
        maxTokens: config.maxTokens,
        minTimeLeftMs: config.minTimeLeftMs,
      },
      now(),
    )
    if (refusal) {
      stats.declined[refusal]++
      return
    }
    if (!model || claims.size >= config.maxOpenClaims || waiting().length >= config.maxQueue) return
    const quote = await cashier.quoteFor(structuredClone(job.request), model, config.prices)
    const claim = await signClaim(init.signer, {
      v: 1,
      jobId: job.id,
      peerId: node.peerId.toString(),
      quote,
      acceptBy: Math.min(now() + config.claimTtlMs, job.deadline),
    })
    claims.set(job.id, { job, claim, hash: claimHash(claim) })
    stats.claimed++
    try {
      await askJobs(node, job.peerId, { type: 'claim', claim })
    } catch {
      // The consumer is gone or refused the claim: it will not be accepted.
      claims.delete(job.id)
    }
  }

  async function accept({
    job,
    claim,
    payment,
    fetchHash,
  }: Extract<JobsRequest, { type: 'accept' }>): Promise<JobsAnswer> {
    const held = claims.get(claim.jobId)
    if (!held || held.hash !== claimHash(claim) || job.id !== claim.jobId)
      throw new JobRefusedError({
        code: 'unknown-claim',
        details: `this node has no open claim ${claimHash(claim)} on job ${claim.jobId}`,
      })
    if (now() > held.claim.acceptBy)
      throw new JobRefusedError({
        code: 'claim-expired',
        details: `the claim could be accepted until ${held.claim.acceptBy}`,
      })
    if (!mayRun(held.job, now()))
      throw new JobRefusedError({ code: 'job-expired', details: 'the job is past its deadline' })
    if (records.has(job.id))
      throw new JobRefusedError({ code: 'unknown-claim', details: 'this job was accepted already' })
    if (waiting().length >= config.maxQueue)
      throw new JobRefusedError({ code: 'busy', details: `${config.maxQueue} accepted jobs wait already` })
    const admission = await admit(held.job, payment)
    claims.delete(job.id)
    jobs.set(job.id, held.job)
    records.set(job.id, {
      job: encodeJobValue(held.job),
      claim: encodeClaim(held.claim),
      payment,
      fetchHash,
      status: 'accepted',
      acceptedAt: now(),
      keepUntil: keepResultUntil(held.job, config.resultGraceMs),
    })
    admissions.set(job.id, admission)
    stats.accepted++
    await save()
    changed()
    schedule()
    return { ok: true, status: 'accepted' }
  }

  /** The cashier's admission at the claim's prices, which must price the job as the claim did. */
  async function admit(job: Job, payment: JsonValue): Promise<Admission> {
    const model = await engine.current()
    if (!model || model.contentHash.toLowerCase() !== job.modelHash.toLowerCase())
      throw new JobRefusedError({ code: 'job-expired', details: "this node no longer serves the job's model" })
    let admission: Admission
    try {
      admission = await cashier.admit({
        peer: job.peerId,
        request: structuredClone(job.request),
        payment,
        model,
        prices: config.prices,
      })
    } catch (error) {
      if (error instanceof PaymentRefusedError)
        throw new JobRefusedError({
          code: 'payment',
          details: error.details ?? error.shortMessage,
          quote: error.quote,
          settlement: error.settlement,
        })
      throw error
    }
    const held = claims.get(job.id)?.claim ?? decodeClaim(records.get(job.id)?.claim)
    const quote = decodeQuote(admission.quote)
    if (quote.maxCost !== held.quote.maxCost || quote.inputTokens !== held.quote.inputTokens) {
      admission.release()
      throw new JobRefusedError({
        code: 'unknown-claim',
        details: `the job is priced at ${quote.maxCost} now, the claim said ${held.quote.maxCost}`,
      })
    }
    return admission
  }

  async function fetch({ jobId, secret }: Extract<JobsRequest, { type: 'fetch' }>): Promise<JobsAnswer> {
    const record = records.get(jobId)
    if (!record) throw new JobRefusedError({ code: 'unknown-job', details: `no job ${jobId} is held here` })
    if (fetchHashOf(secret) !== record.fetchHash)
      throw new JobRefusedError({ code: 'forbidden', details: 'the secret does not open this job' })
    if (record.status === 'done' && record.result) {
      stats.fetched++
      return { ok: true, status: 'done', result: record.result }
    }
    if (record.status === 'accepted') return { ok: true, status: 'pending' }
    throw new JobRefusedError({
      code: 'job-expired',
      details: record.reason ?? 'the job was not run before its deadline',
    })
  }

  /** Runs the next accepted job when nothing live is active or queued; earliest deadline first. */
  function schedule(): void {
    if (stopped || running || live() > 0) return
    const next = waiting().sort(([a], [b]) => jobOf(a).deadline - jobOf(b).deadline)[0]
    if (!next) return
    const [id] = next
    const controller = new AbortController()
    running = { id, controller }
    stats.running = true
    void run(id, controller.signal)
      .catch((error: unknown) => end(id, 'failed', `not settled: ${(error as Error).message.split('\n')[0]}`))
      .catch(() => {})
      .finally(() => {
        running = null
        stats.running = false
        changed()
        schedule()
      })
  }

  async function run(id: Hex, signal: AbortSignal): Promise<void> {
    const job = jobOf(id)
    const admission = admissions.get(id)
    if (!admission || !mayRun(job, now())) return end(id, 'expired', 'the job was not run before its deadline')
    let result: InferenceResult
    try {
      const model = await engine.current()
      if (!model || model.contentHash.toLowerCase() !== job.modelHash.toLowerCase())
        return end(id, 'failed', "the node stopped serving the job's model")
      result = await runInference(engine, structuredClone(job.request), { signal })
    } catch (error) {
      if (signal.aborted) {
        stats.interrupted++
        return // A live request came first: the job waits for the next idle moment.
      }
      return end(id, 'failed', `the engine failed: ${(error as Error).message.split('\n')[0]}`)
    }
    if (signal.aborted || result.finish_reason === 'abort') {
      stats.interrupted++
      return
    }
    admissions.delete(id)
    const receipt = await admission.settle(result)
    if (receipt === null) return end(id, 'failed', 'the cashier gave no receipt')
    const text = result.text
    const current = records.get(id)
    if (!current) return
    records.set(id, {
      ...current,
      status: 'done',
      result: { text, finish_reason: result.finish_reason, usage: result.usage, receipt },
    })
    stats.done++
    prune()
    await save()
  }

  /** Ends an accepted job without a result: its reservation is released, nothing billed. */
  async function end(id: Hex, status: 'expired' | 'failed', reason: string): Promise<void> {
    admissions.get(id)?.release()
    admissions.delete(id)
    const current = records.get(id)
    if (current) records.set(id, { ...current, status, reason })
    stats[status]++
    await save()
  }

  /** Forgets void claims and results past their keeping time; keeps at most `maxStoredResults` finished records. */
  function prune(): boolean {
    let dropped = false
    const at = now()
    for (const [id, held] of claims) if (held.claim.acceptBy < at) claims.delete(id)
    for (const [id, record] of records) {
      if (record.status !== 'accepted' && record.keepUntil < at) {
        records.delete(id)
        jobs.delete(id)
        dropped = true
      }
    }
    const finished = [...records.entries()].filter(([, r]) => r.status !== 'accepted')
    for (const [id] of finished.slice(0, Math.max(0, finished.length - config.maxStoredResults))) {
      records.delete(id)
      jobs.delete(id)
      dropped = true
    }
    return dropped
  }

  async function sweep(): Promise<void> {
    const at = now()
    let ended = false
    for (const [id] of waiting()) {
      if (!mayRun(jobOf(id), at)) {
        await end(id, 'expired', 'the job was not run before its deadline')
        ended = true
      }
    }
    if (prune() || ended) {
      await save()
      changed()
    }
    schedule()
  }

  return {
    async start() {
      const loaded = await document.load()
      stopped = false
      for (const record of loaded.records) {
        const job = decodeJobValue(record.job)
        records.set(job.id, record)
        jobs.set(job.id, job)
      }
      // Reservations lived in memory: admit accepted jobs again with the voucher they came with.
      for (const [id, record] of records) {
        if (record.status !== 'accepted') continue
        try {
          admissions.set(id, await admit(jobOf(id), record.payment))
        } catch (error) {
          records.set(id, {
            ...record,
            status: 'failed',
            reason: `not admitted again after a restart: ${(error as Error).message.split('\n')[0]}`,
          })
          stats.failed++
        }
      }
      await save()
      unserve = await serveJobs(node, { accept, fetch })
      unwatch = watchJobs(node, (job) => void onJob(job).catch(() => {}), { chainId: init.chainId })
      unload = server.onLoadChange(() => {
        // Live requests come first: stop a running job at once; run one when the server is idle again.
        if (running && live() > 0) running.controller.abort(new Error('a live request came first'))
        schedule()
      })
      sweeper = setInterval(() => void sweep().catch(() => {}), config.sweepMs)
      ;(sweeper as { unref?: () => void }).unref?.()
      schedule()
    },
    async stop() {
      stopped = true
      clearInterval(sweeper)
      unload?.()
      unwatch?.()
      await unserve?.()
      running?.controller.abort(new Error('the node is stopping'))
      // Unrun jobs keep their records (admitted again on start); their in-memory reservations go with the cashier.
      for (const admission of admissions.values()) admission.release()
      admissions.clear()
      await save()
    },
    stats: () => ({ ...stats, declined: { ...stats.declined }, waiting: waiting().length }),
    poke: schedule,
  }
}
