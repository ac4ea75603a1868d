/**
 * The oracle service: a provider that opts in answers OracleRouter requests for the templates it chose, on its own
 * engine, with commit-reveal. It watches `OracleRequested` and `SubscriptionCreated` from the last block it saw (kept
 * in its store, so after downtime or an RPC outage it backfills what it missed), and for each request of an opted-in
 * template registered for the model it serves:
 *
 * 1. **answers** — fills the template from the request's input (`oracle-answer.ts`) or, for a subscription's round,
 *    scores every item of the round's data set window (`datasets.ts`, fetched by hash from its own store or from
 *    peers over `/modelex/dataset/1.0.0`) and takes the rounded mean; the output is validated (`validateOutput`);
 * 2. **commits** `keccak256(abi.encode(requestId, operator, value, salt))` from the node signer (the router accepts
 *    the operator or its signer and binds the operator into the commitment). The value and salt are stored durably
 *    BEFORE the commit is sent, so a crash or a lost reply never leads to a second, different answer;
 * 3. **reveals** once commits close (k commits, or the commit deadline), before the reveal deadline;
 * 4. **finalizes** a request it committed to (or a round of a subscription it keeps) once the router allows it, so a
 *    request whose nodes did not all reveal still settles (median or refund).
 *
 * Before every transaction it reads the request's state and the chain's time (`nextOracleAction`): it never commits
 * twice, never after a deadline, never reveals what it did not commit. Chain errors retry with back-off; the queue of
 * requests survives restarts. Live paid requests come first: oracle inference waits while the infer server has
 * requests running or queued. As a keeper it opens the due round of every subscription of its templates.
 *
 * Answers are greedy and seeded (`renderTemplate`), so honest nodes on the same model and engine build agree.
 */
import type { Address, Client, Hex } from 'viem'
import { hexToString } from 'viem'
import { getBlock } from 'viem/actions'
import { commitOracleAnswer } from '../chain/actions/commitOracleAnswer.ts'
import { finalizeOracle } from '../chain/actions/finalizeOracle.ts'
import { getOracleActivity } from '../chain/actions/getOracleActivity.ts'
import { getOracleRequest } from '../chain/actions/getOracleRequest.ts'
import { getRegisteredTemplate } from '../chain/actions/getRegisteredTemplate.ts'
import { getRound } from '../chain/actions/getRound.ts'
import { getSubscription, type GetSubscriptionReturnType } from '../chain/actions/getSubscription.ts'
import type { WalletClient } from '../chain/actions/internal.ts'
import { openRound } from '../chain/actions/openRound.ts'
import { revealOracleAnswer } from '../chain/actions/revealOracleAnswer.ts'
import { generateSalt, nextOracleAction } from '../core/commit-reveal.ts'
import { parseDataset, selectWindow, type DatasetItem } from '../core/datasets.ts'
import {
  DatasetUnavailableError,
  EmptyRoundWindowError,
  OracleInputError,
  OracleSaltLostError,
} from '../core/errors/oracle.ts'
import { runInference, type InferenceEngine } from '../core/inference.ts'
import {
  answersOnChain,
  chainValueOf,
  roundValue,
  singleTextParameter,
  templateValuesFromInput,
} from '../core/oracle-answer.ts'
import { decodeRoundInput } from '../core/oracle-round.ts'
import {
  BUILTIN_TEMPLATES,
  renderTemplate,
  templateId,
  validateOutput,
  type PromptTemplate,
  type TemplateParameterValues,
} from '../core/templates.ts'
import type { DatasetSource } from '../p2p/datasets.ts'
import type { KeyValueStore } from '../store/kv.ts'
import { storedDocument } from '../store/payments.ts'

export const ORACLE_DEFAULTS = {
  /** How often the service reads the chain (events, the state of its requests, due rounds). */
  pollMs: 2_000,
  /** After a failed step (RPC down, a transaction that did not land), wait this long, doubling up to `maxRetryMs`. */
  retryMs: 1_000,
  maxRetryMs: 30_000,
  /** Blocks per event query when catching up (RPC providers cap log ranges). */
  maxBlockRange: 5_000n,
  /** Finished requests kept in the store (for the Node view and `jobs()`); older ones are dropped. */
  keepFinished: 256,
  /** Headline scores kept in memory: rolling windows of consecutive rounds share most items. */
  scoreCacheSize: 10_000,
  /** Longest wait for the engine to be free of live requests before one oracle inference runs anyway. */
  maxIdleWaitMs: 30_000,
} as const

/** Opt-in, per template (by hash) and model: the provider's `oracle` option. */
export type OracleOptions = {
  enabled: boolean
  /** Templates answered (their hashes); a request of another template is ignored. */
  templates: readonly Hex[]
  /** Open due rounds of subscriptions of these templates (default true). */
  keeper?: boolean
  pollMs?: number
}

export type OracleComponents = {
  engine: InferenceEngine
  /** Sends commits, reveals, finalizations and round openings (the node signer). */
  wallet: WalletClient
  reader: Client
  store: KeyValueStore
  /** Data sets of subscriptions: the node's own, then peers (`fetchDatasetFromAny`). */
  datasets?: DatasetSource
  /** Templates the node knows besides the built-ins and the router's registrations. */
  templates?: { get(hash: Hex): Promise<PromptTemplate | null> }
  /** Whether no live request is running or queued: oracle inference waits for it. */
  idle?: () => boolean
}

export type OracleInit = OracleOptions & {
  router: Address
  operator: Address
  /** First block to watch when the store has none (the deployment's start block). */
  startBlock: bigint
  now?: () => number
  onChange?: () => void
}

/** Where a request is for this node. */
/** `settling`: nothing left to send but the finalization this node owes (it committed, or keeps the round's subscription). */
export type OracleJobStage = 'new' | 'committing' | 'committed' | 'revealed' | 'settling' | 'done'
export type OracleJob = {
  requestId: bigint
  templateHash: Hex
  modelHash: Hex
  input: Hex
  k: number
  commitDeadline: bigint
  revealDeadline: bigint
  blockNumber: bigint
  stage: OracleJobStage
  /** The answer and salt, stored before the commit is sent. */
  value: bigint | null
  salt: Hex | null
  /** How the request ended for this node: revealed and paid, abstained (error), or missed (a phase passed). */
  outcome: 'revealed' | 'abstained' | 'missed' | null
  paid: bigint
  error: { name: string; message: string } | null
  attempts: number
  retryAt: number
}

type OracleState = { watchFrom: bigint | null; jobs: OracleJob[]; subscriptions: bigint[] }

export type OracleMetrics = {
  answered: number
  revealed: number
  abstained: number
  missed: number
  pending: number
  roundsOpened: number
  earned: bigint
  watchFrom: bigint | null
  lastError: string | null
}

export type OracleService = {
  start(): Promise<void>
  stop(): Promise<void>
  /** Runs one pass now (tests and the Node view's "check now"); resolves when it is done. */
  poll(): Promise<void>
  jobs(): readonly OracleJob[]
  metrics(): OracleMetrics
}

const PERMANENT = new Set([
  'OracleInputError',
  'EmptyRoundWindowError',
  'OutputConstraintError',
  'TemplateParameterError',
  'InvalidDatasetError',
  'OracleSaltLostError',
  'InvalidTemplateError',
  'InvalidChainValueError',
])

export function createOracleService(components: OracleComponents, init: OracleInit): OracleService {
  const { engine, wallet, reader } = components
  const now = init.now ?? Date.now
  const opted = new Set(init.templates.map((h) => h.toLowerCase()))
  const document = storedDocument<OracleState>(
    components.store,
    `oracle-v1:${init.router.toLowerCase()}:${init.operator.toLowerCase()}`,
    () => ({ watchFrom: null, jobs: [], subscriptions: [] }),
  )
  let state: OracleState = { watchFrom: null, jobs: [], subscriptions: [] }
  let running = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let working: Promise<void> = Promise.resolve()
  let retryAt = 0
  let retryDelay: number = ORACLE_DEFAULTS.retryMs
  let lastError: string | null = null
  let roundsOpened = 0
  const templates = new Map<string, PromptTemplate | null>(BUILTIN_TEMPLATES.map((t) => [templateId(t), t]))
  const schedules = new Map<string, GetSubscriptionReturnType>()
  const scores = new Map<string, bigint>()
  const datasets = new Map<string, DatasetItem[]>()

  const save = () => document.save(state)
  const changed = () => init.onChange?.()

  async function templateOf(hash: Hex): Promise<PromptTemplate | null> {
    const key = hash.toLowerCase()
    if (templates.has(key)) return templates.get(key) ?? null
    const template =
      (await components.templates?.get(hash)) ??
      (await getRegisteredTemplate(reader, { router: init.router, templateHash: hash, fromBlock: init.startBlock }))
        ?.template ??
      null
    templates.set(key, template)
    return template
  }

  async function waitForIdle(): Promise<void> {
    if (!components.idle) return
    const until = now() + ORACLE_DEFAULTS.maxIdleWaitMs
    while (!components.idle() && now() < until && running) await new Promise((r) => setTimeout(r, 50))
  }

  /** One validated answer of the template for `values`, as its int256. */
  async function answerOnce(
    template: PromptTemplate,
    values: TemplateParameterValues,
    requestId: bigint,
  ): Promise<bigint> {
    const loaded = await engine.current()
    if (!loaded)
      throw new OracleInputError({ requestId: requestId.toString(), reason: 'the engine has no model loaded' })
    await waitForIdle()
    const result = await runInference(engine, renderTemplate(template, values, { model: loaded.id }))
    const value = chainValueOf(template, validateOutput(template, result.text, values), values)
    if (value === null)
      throw new OracleInputError({ requestId: requestId.toString(), reason: 'its template has no numeric output' })
    return value
  }

  async function datasetItems(hash: Hex): Promise<DatasetItem[]> {
    const cached = datasets.get(hash.toLowerCase())
    if (cached) return cached
    const bytes = await components.datasets?.get(hash)
    if (!bytes) throw new DatasetUnavailableError({ hash, asked: 0 })
    const items = parseDataset(bytes)
    datasets.set(hash.toLowerCase(), items)
    return items
  }

  /** The value this node answers `job` with (see `oracle-answer.ts` for the definitions). */
  async function answer(job: OracleJob, subscriptionId: bigint): Promise<bigint> {
    const template = await templateOf(job.templateHash)
    const id = job.requestId.toString()
    if (!template)
      throw new OracleInputError({ requestId: id, reason: `its template ${job.templateHash} is unknown to this node` })
    if (!answersOnChain(template))
      throw new OracleInputError({ requestId: id, reason: 'its template has no numeric output' })
    if (subscriptionId === 0n)
      return answerOnce(template, templateValuesFromInput(template, job.input, job.requestId), job.requestId)
    const round = decodeRoundInput(job.input)
    const asset = hexToString(round.params)
    const items = selectWindow(await datasetItems(round.datasetHash), {
      asset,
      windowStart: round.windowStart,
      windowEnd: round.windowEnd,
    })
    if (items.length === 0)
      throw new EmptyRoundWindowError({
        asset,
        windowStart: round.windowStart.toString(),
        windowEnd: round.windowEnd.toString(),
      })
    const parameter = singleTextParameter(template, () => {
      throw new OracleInputError({
        requestId: id,
        reason: 'its template has not exactly one required text parameter for the items',
      })
    })
    const values: bigint[] = []
    for (const item of items) {
      const key = `${job.templateHash}:${item.headline}`
      let score = scores.get(key)
      if (score === undefined) {
        score = await answerOnce(template, { [parameter]: item.headline }, job.requestId)
        if (scores.size >= ORACLE_DEFAULTS.scoreCacheSize) scores.delete(scores.keys().next().value as string)
        scores.set(key, score)
      }
      values.push(score)
    }
    return roundValue(values) as bigint
  }

  const describe = (error: unknown) => ({
    name: (error as Error).name,
    message: (error as Error).message.split('\n')[0] ?? '',
  })

  function finish(job: OracleJob, outcome: OracleJob['outcome'], error?: unknown): void {
    job.stage = 'done'
    job.outcome = outcome
    if (error) job.error = describe(error)
  }

  function backOff(job: OracleJob, error: unknown): void {
    job.attempts++
    job.retryAt =
      now() + Math.min(ORACLE_DEFAULTS.retryMs * 2 ** Math.min(job.attempts - 1, 5), ORACLE_DEFAULTS.maxRetryMs)
    job.error = describe(error)
  }

  const revertName = (error: unknown): string | undefined => (error as { errorName?: string }).errorName

  /** One step of one request: read its state, then do what the rules allow. */
  async function step(job: OracleJob, chainNow: bigint): Promise<void> {
    const request = await getOracleRequest(reader, {
      router: init.router,
      requestId: job.requestId,
      operator: init.operator,
    })
    const node = request.node ?? { committed: false, revealed: false }
    const action = nextOracleAction(request, node, chainNow)
    // Finalizing is owed for a request this node committed to, or a round of a subscription it keeps (else a round
    // nobody answered would stay open, never marked missed nor refunded).
    const owesSettlement =
      request.status === 'open' &&
      (node.committed || (request.subscriptionId !== 0n && state.subscriptions.includes(request.subscriptionId)))
    const settle = (outcome: OracleJob['outcome'], error?: unknown): void => {
      if (!owesSettlement) return finish(job, outcome, error)
      job.stage = 'settling'
      job.outcome = outcome
      if (error) job.error = describe(error)
    }
    // A commit that landed before its reply was lost (or before a crash) is recognised here.
    if (node.committed && job.stage === 'committing') job.stage = 'committed'
    if (node.revealed && (job.stage === 'committing' || job.stage === 'committed')) job.stage = 'revealed'
    if (action === 'finalize') {
      if (owesSettlement) {
        try {
          await finalizeOracle(wallet, { router: init.router, requestId: job.requestId })
        } catch (error) {
          if (revertName(error) !== 'RequestSettled') throw error
        }
      }
      return finish(job, node.revealed ? 'revealed' : (job.outcome ?? 'missed'))
    }
    if (job.stage === 'settling') return request.status === 'open' ? undefined : finish(job, job.outcome)
    switch (action) {
      case 'commit': {
        if (job.value === null || job.salt === null) {
          let value: bigint
          try {
            value = await answer(job, request.subscriptionId)
          } catch (error) {
            if (PERMANENT.has((error as Error).name)) return settle('abstained', error)
            throw error
          }
          job.value = value
          job.salt = generateSalt()
          job.stage = 'committing'
          // Durable before the transaction: whatever happens next, this node's answer to this request is this one.
          await save()
          changed()
        }
        try {
          await commitOracleAnswer(wallet, {
            router: init.router,
            requestId: job.requestId,
            operator: init.operator,
            value: job.value as bigint,
            salt: job.salt as Hex,
          })
          job.stage = 'committed'
        } catch (error) {
          const name = revertName(error)
          if (name === 'AlreadyCommitted') job.stage = 'committed'
          else if (name === 'CommitClosed' || name === 'RequestSettled') settle('missed', error)
          else throw error
        }
        return
      }
      case 'reveal': {
        if (job.value === null || job.salt === null)
          return settle('missed', new OracleSaltLostError({ requestId: job.requestId.toString() }))
        try {
          const { paid } = await revealOracleAnswer(wallet, {
            router: init.router,
            requestId: job.requestId,
            value: job.value,
            salt: job.salt,
          })
          job.paid = paid
          job.stage = 'revealed'
        } catch (error) {
          const name = revertName(error)
          if (name === 'AlreadyRevealed') job.stage = 'revealed'
          else if (name === 'RevealClosed' || name === 'RequestSettled') settle('missed', error)
          else throw error
        }
        return
      }
      case 'wait':
        return
      case 'done':
        return settle(node.revealed ? 'revealed' : job.error && PERMANENT.has(job.error.name) ? 'abstained' : 'missed')
    }
  }

  /** Opens the round of each kept subscription whose slot is running, if nobody has yet. */
  async function keep(chainNow: bigint): Promise<void> {
    if (init.keeper === false) return
    for (const id of [...state.subscriptions]) {
      let schedule = schedules.get(id.toString())
      if (!schedule) {
        schedule = await getSubscription(reader, { router: init.router, subscriptionId: id })
        schedules.set(id.toString(), schedule)
      }
      const end = schedule.start + BigInt(schedule.rounds) * schedule.period
      if (schedule.cancelled || chainNow >= end) {
        // Stays kept until its last round's request is settled (finalize duty), then dropped.
        const open = state.jobs.some((j) => j.stage !== 'done' && j.input.length > 2 && inputSubscription(j) === id)
        if (!open) state.subscriptions = state.subscriptions.filter((s) => s !== id)
        continue
      }
      if (chainNow < schedule.start) continue
      const round = Number((chainNow - schedule.start) / schedule.period)
      const status = await getRound(reader, { router: init.router, subscriptionId: id, round })
      if (status.status !== 'openable') continue
      try {
        await openRound(wallet, { router: init.router, subscriptionId: id, round })
        roundsOpened++
      } catch (error) {
        const name = revertName(error)
        if (name === 'SubscriptionCancelledAlready') schedules.delete(id.toString())
        else if (
          name !== 'RoundAlreadyOpened' &&
          name !== 'RoundNotDue' &&
          name !== 'RoundExpired' &&
          name !== 'InsufficientBalance'
        )
          throw error
      }
    }
  }

  function inputSubscription(job: OracleJob): bigint | null {
    try {
      return decodeRoundInput(job.input).subscriptionId
    } catch {
      return null
    }
  }

  /** Reads new events from the last block seen; new requests and subscriptions of opted-in templates join the queue. */
  async function watch(served: Hex | null): Promise<void> {
    let from = state.watchFrom ?? init.startBlock
    const latest = (await getBlock(reader, { blockTag: 'latest' })).number
    while (from <= latest) {
      const to = from + ORACLE_DEFAULTS.maxBlockRange - 1n < latest ? from + ORACLE_DEFAULTS.maxBlockRange - 1n : latest
      const activity = await getOracleActivity(reader, {
        router: init.router,
        fromBlock: from,
        toBlock: to,
        templateHashes: [...opted] as Hex[],
      })
      for (const r of activity.requests) {
        if (!opted.has(r.templateHash.toLowerCase())) continue
        if (served === null || r.modelHash.toLowerCase() !== served) continue
        if (state.jobs.some((j) => j.requestId === r.requestId)) continue
        state.jobs.push({
          ...r,
          stage: 'new',
          value: null,
          salt: null,
          outcome: null,
          paid: 0n,
          error: null,
          attempts: 0,
          retryAt: 0,
        })
      }
      for (const s of activity.subscriptions) {
        if (opted.has(s.templateHash.toLowerCase()) && !state.subscriptions.includes(s.subscriptionId))
          state.subscriptions.push(s.subscriptionId)
      }
      state.watchFrom = to + 1n
      // Jobs and the block they were read up to are one document: a restart never skips nor loses a request.
      await save()
      from = to + 1n
    }
  }

  function prune(): void {
    const finished = state.jobs.filter((j) => j.stage === 'done')
    if (finished.length <= ORACLE_DEFAULTS.keepFinished) return
    const drop = new Set(finished.slice(0, finished.length - ORACLE_DEFAULTS.keepFinished))
    state.jobs = state.jobs.filter((j) => !drop.has(j))
  }

  async function pass(): Promise<void> {
    if (!init.enabled || opted.size === 0) return
    const loaded = await engine.current()
    const served = loaded ? (loaded.contentHash.toLowerCase() as Hex) : null
    await watch(served)
    const block = await getBlock(reader, { blockTag: 'latest' })
    await keep(block.timestamp)
    for (const job of state.jobs) {
      if (job.stage === 'done' || job.retryAt > now()) continue
      // Each step reads the chain's time afresh: answering can take longer than a block.
      const chainNow = (await getBlock(reader, { blockTag: 'latest' })).timestamp
      try {
        await step(job, chainNow)
        if (!(['done', 'settling'] as OracleJobStage[]).includes(job.stage)) job.error = null
        job.attempts = 0
        job.retryAt = 0
      } catch (error) {
        backOff(job, error)
        lastError = job.error?.message ?? 'error'
      }
      await save()
      changed()
    }
    prune()
    await save()
  }

  function serial(work: () => Promise<void>): Promise<void> {
    const next = working.then(work, work)
    working = next.catch(() => {})
    return next
  }

  async function tick(): Promise<void> {
    timer = undefined
    if (!running) return
    if (now() >= retryAt) {
      await serial(async () => {
        try {
          await pass()
          lastError = null
          retryDelay = ORACLE_DEFAULTS.retryMs
        } catch (error) {
          lastError = (error as Error).message.split('\n')[0] ?? 'error'
          retryAt = now() + retryDelay
          retryDelay = Math.min(retryDelay * 2, ORACLE_DEFAULTS.maxRetryMs)
          changed()
        }
      })
    }
    if (running) timer = setTimeout(() => void tick(), init.pollMs ?? ORACLE_DEFAULTS.pollMs)
  }

  return {
    async start() {
      state = await document.load()
      running = true
      timer = setTimeout(() => void tick(), 0)
    },
    async stop() {
      running = false
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      await working
    },
    poll: () => serial(pass),
    jobs: () => state.jobs,
    metrics() {
      const jobs = state.jobs
      return {
        answered: jobs.filter((j) => j.value !== null).length,
        revealed: jobs.filter((j) => j.stage === 'revealed' || j.outcome === 'revealed').length,
        abstained: jobs.filter((j) => j.outcome === 'abstained').length,
        missed: jobs.filter((j) => j.outcome === 'missed').length,
        pending: jobs.filter((j) => j.stage !== 'done').length,
        roundsOpened,
        earned: jobs.reduce((sum, j) => sum + j.paid, 0n),
        watchFrom: state.watchFrom,
        lastError,
      }
    },
  }
}
