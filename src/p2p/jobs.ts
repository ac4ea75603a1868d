/**
 * Async jobs on the network: jobs are gossiped on `modelex/1/jobs`, validated by every peer and the relay before they
 * are forwarded (size, schema, id, signature, deadline sanity, a rate per consumer); claims, acceptances and fetches
 * go over `/modelex/jobs/1.0.0`, one frame each way (`src/core/jobs.ts` has the messages and rules). A libp2p node
 * has one handler per protocol and one validator per topic, so the consumer side (claims) and the provider side
 * (acceptances, fetches) of one node share them here.
 */
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub'
import type { JsonValue } from '../core/errors/base.ts'
import { IGNORED_JOB_REASONS, InvalidJobError, JobRefusedError } from '../core/errors/jobs.ts'
import {
  decodeJobsAnswer,
  decodeJobsRequest,
  encodeJob,
  encodeJobsAnswer,
  encodeJobsRequest,
  JOB_LIMITS,
  validateJob,
  type Job,
  type JobsAnswer,
  type JobsRequest,
} from '../core/jobs.ts'
import { RateLimiter } from '../core/rate-limit.ts'
import { JOBS_DEFAULTS, JOBS_PROTOCOL, JOBS_TOPIC, JOBS_TOPIC_SCORE } from './constants.ts'
import { unwatchTopic, watchTopic, type Validate } from './gossip.ts'
import type { ModelexNode } from './node.ts'
import { askOneFrame, serveOneFrame } from './one-frame.ts'

export type JobsGateOptions = {
  now?: () => number
  /** Jobs for other chains are refused (the relay, which serves any chain, leaves it out). */
  chainId?: number
  ratePerSecond?: number
  rateBurst?: number
}

export type JobsGate = {
  validate: Validate
  /** What passed validation, by gossip message, for the message handler (so it does not decode twice). */
  take(message: Message): Job | undefined
  /** Judges job bytes with the same rules and counters; resolves to the job or to the error. */
  check(bytes: Uint8Array): Promise<Job | InvalidJobError>
  counts: { accepted: number; rejected: number; ignored: number }
}

/**
 * The gossipsub validator of the jobs topic: a bad format or signature is rejected (the sender's score drops: every
 * honest forwarder validates first); an expired job, one from a fast clock, and a consumer over its rate are ignored.
 * The rate is counted only for jobs that passed every other check, so a forger cannot use up a consumer's budget.
 */
export function jobsGate({
  now = Date.now,
  chainId,
  ratePerSecond = JOBS_DEFAULTS.ratePerSecond,
  rateBurst = JOBS_DEFAULTS.rateBurst,
}: JobsGateOptions = {}): JobsGate {
  const rate = new RateLimiter({
    perSecond: ratePerSecond,
    burst: rateBurst,
    maxKeys: JOBS_DEFAULTS.maxTrackedConsumers,
  })
  const passed = new WeakMap<Message, Job>()
  const counts = { accepted: 0, rejected: 0, ignored: 0 }
  const check = async (bytes: Uint8Array): Promise<Job | InvalidJobError> => {
    try {
      const at = now()
      const job = await validateJob(bytes, { now: at, chainId })
      if (!rate.take(job.consumer.toLowerCase(), at).ok)
        throw new InvalidJobError({
          reason: 'rate',
          details: `consumer ${job.consumer} posts more than ${ratePerSecond} jobs per second`,
        })
      counts.accepted++
      return job
    } catch (error) {
      const refused =
        error instanceof InvalidJobError
          ? error
          : new InvalidJobError({ reason: 'schema', details: (error as Error).message }, error)
      counts[IGNORED_JOB_REASONS.has(refused.reason) ? 'ignored' : 'rejected']++
      return refused
    }
  }
  return {
    counts,
    check,
    async validate(_from, message) {
      const verdict = await check(message.data)
      if (!(verdict instanceof InvalidJobError)) {
        passed.set(message, verdict)
        return TopicValidatorResult.Accept
      }
      return IGNORED_JOB_REASONS.has(verdict.reason) ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
    },
    take(message) {
      const job = passed.get(message)
      passed.delete(message)
      return job
    },
  }
}

type Board = { gate: JobsGate; listeners: Set<(job: Job) => void>; onMessage: (event: CustomEvent<Message>) => void }
const boards = new WeakMap<ModelexNode, Board>()

/**
 * Hears the jobs posted on the network (validated): joins the topic on first use for this node, leaves it when the
 * last listener goes. Returns the function that removes `listener`.
 */
export function watchJobs(node: ModelexNode, listener: (job: Job) => void, options: JobsGateOptions = {}): () => void {
  const pubsub = node.libp2p.services.pubsub
  let board = boards.get(node)
  if (!board) {
    const gate = jobsGate(options)
    const listeners = new Set<(job: Job) => void>()
    const onMessage = (event: CustomEvent<Message>) => {
      if (event.detail.topic !== JOBS_TOPIC) return
      const job = gate.take(event.detail)
      if (job) for (const l of listeners) l(job)
    }
    board = { gate, listeners, onMessage }
    boards.set(node, board)
    pubsub.addEventListener('message', onMessage)
    watchTopic(pubsub, JOBS_TOPIC, gate.validate, JOBS_TOPIC_SCORE)
  }
  const current = board
  current.listeners.add(listener)
  return () => {
    current.listeners.delete(listener)
    if (current.listeners.size > 0 || boards.get(node) !== current) return
    boards.delete(node)
    pubsub.removeEventListener('message', current.onMessage)
    unwatchTopic(pubsub, JOBS_TOPIC)
  }
}

/**
 * Posts a job on the jobs topic, retrying until a peer of the topic (the relay) takes it or `timeoutMs` passes.
 * Resolves with the number of peers it went to (0 when none took it in time: post again later).
 */
export async function publishJob(
  node: ModelexNode,
  job: Job,
  {
    timeoutMs = JOBS_DEFAULTS.publishTimeoutMs,
    retryMs = JOBS_DEFAULTS.publishRetryMs,
    signal,
  }: { timeoutMs?: number; retryMs?: number; signal?: AbortSignal } = {},
): Promise<number> {
  const bytes = encodeJob(job)
  const until = Date.now() + timeoutMs
  for (;;) {
    signal?.throwIfAborted()
    const { recipients } = await node.libp2p.services.pubsub.publish(JOBS_TOPIC, bytes)
    if (recipients.length > 0 || Date.now() + retryMs > until) return recipients.length
    await new Promise((resolve) => setTimeout(resolve, retryMs))
  }
}

export type JobsHandlers = {
  /** The consumer side: a node offers a claim on one of our jobs. */
  claim?: (request: Extract<JobsRequest, { type: 'claim' }>) => Promise<JobsAnswer>
  /** The provider side: a consumer accepts our claim, or fetches a result. */
  accept?: (request: Extract<JobsRequest, { type: 'accept' }>) => Promise<JobsAnswer>
  fetch?: (request: Extract<JobsRequest, { type: 'fetch' }>) => Promise<JobsAnswer>
}

type Served = { handlers: JobsHandlers; stop: Promise<() => Promise<void>> }
const served = new WeakMap<ModelexNode, Served>()

/**
 * Serves `/modelex/jobs/1.0.0` on `node` with `handlers` (merged with those another part of the same node set);
 * returns the function that removes them. A request for a side no one serves here is answered `malformed`.
 */
export async function serveJobs(node: ModelexNode, handlers: JobsHandlers): Promise<() => Promise<void>> {
  let entry = served.get(node)
  if (!entry) {
    const shared: JobsHandlers = {}
    const answer = async (value: unknown): Promise<JsonValue> => {
      let request: JobsRequest
      try {
        request = decodeJobsRequest(value)
      } catch (error) {
        return encodeJobsAnswer({ ok: false, code: 'malformed', message: firstLine(error) })
      }
      const handler = shared[request.type] as ((r: JobsRequest) => Promise<JobsAnswer>) | undefined
      if (!handler)
        return encodeJobsAnswer({
          ok: false,
          code: 'malformed',
          message: `this node takes no ${request.type} messages`,
        })
      try {
        return encodeJobsAnswer(await handler(request))
      } catch (error) {
        if (error instanceof JobRefusedError) return encodeJobsAnswer(refusalAnswer(error))
        return encodeJobsAnswer({ ok: false, code: 'malformed', message: firstLine(error) })
      }
    }
    entry = {
      handlers: shared,
      stop: serveOneFrame(node, JOBS_PROTOCOL, JOB_LIMITS.maxFrameBytes, answer, {
        maxInboundStreams: JOBS_DEFAULTS.maxInboundStreams,
      }),
    }
    served.set(node, entry)
  }
  const current = entry
  Object.assign(current.handlers, handlers)
  await current.stop
  return async () => {
    for (const key of Object.keys(handlers) as (keyof JobsHandlers)[])
      if (current.handlers[key] === handlers[key]) delete current.handlers[key]
    if (Object.keys(current.handlers).length > 0 || served.get(node) !== current) return
    served.delete(node)
    await (
      await current.stop
    )()
  }
}

function refusalAnswer(error: JobRefusedError): JobsAnswer {
  const answer: JobsAnswer = {
    ok: false,
    code: error.code,
    message: (error.details ?? error.shortMessage).split('\n')[0] ?? 'refused',
  }
  if (error.quote !== undefined) answer.quote = error.quote
  if (error.settlement !== undefined) answer.settlement = error.settlement
  return answer
}

/** Sends one request on `/modelex/jobs/1.0.0` and returns the answer; a refusal is thrown as `JobRefusedError`. */
export async function askJobs(
  node: ModelexNode,
  peer: string,
  request: JobsRequest,
  timeoutMs: number = JOBS_DEFAULTS.requestTimeoutMs,
): Promise<Extract<JobsAnswer, { ok: true }>> {
  const answer = decodeJobsAnswer(
    await askOneFrame(node, peer, JOBS_PROTOCOL, JOB_LIMITS.maxFrameBytes, encodeJobsRequest(request), timeoutMs),
  )
  if (!answer.ok)
    throw new JobRefusedError({
      code: answer.code,
      details: answer.message,
      quote: answer.quote,
      settlement: answer.settlement,
    })
  return answer
}

function firstLine(error: unknown): string {
  const e = error as { details?: string; message?: string }
  return (e.details ?? e.message ?? String(error)).split('\n')[0] ?? 'invalid'
}
