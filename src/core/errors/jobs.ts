/**
 * Errors of async jobs: a job offer or a node's claim that breaks the rules (the gossip validator and both sides
 * refuse it), and a node's refusal of an acceptance or a fetch. Each keeps its facts in `data`, so it survives the
 * wire and a worker boundary.
 */
import { BaseError, registerErrorClass, type JsonValue } from './base.ts'

/**
 * Why a job offer is refused. `too-large`/`schema`: not a job of this format; `bad-signature`/`signer-mismatch`:
 * not signed by the consumer it names; `id-mismatch`: its id is not the hash of its contents; `deadline`: a lifetime
 * outside the allowed range; `expired`: its deadline has passed; `clock`: created ahead of our clock; `rate`: its
 * consumer posts faster than allowed; `wrong-chain`: for another chain.
 */
export type JobRejection =
  | 'too-large'
  | 'schema'
  | 'bad-signature'
  | 'signer-mismatch'
  | 'id-mismatch'
  | 'deadline'
  | 'expired'
  | 'clock'
  | 'rate'
  | 'wrong-chain'

/** Rejections an honest forwarder can cause (late delivery, a faster clock, others' rate): ignored in gossip, never penalised. */
export const IGNORED_JOB_REASONS: ReadonlySet<JobRejection> = new Set(['expired', 'clock', 'rate'])

export class InvalidJobError extends BaseError {
  override name = 'InvalidJobError' as const
  constructor({ reason, details }: { reason: JobRejection; details: string }, cause?: unknown) {
    super(`The job offer is invalid (${reason}); post a new one signed by the consumer's wallet.`, {
      details,
      data: { reason },
      cause,
    })
  }
  get reason(): JobRejection {
    return this.data?.['reason'] as JobRejection
  }
}
registerErrorClass('InvalidJobError', InvalidJobError)

/**
 * Why a consumer refuses a node's claim. `schema`/`too-large`: not a claim; `bad-signature`: not signed by the signer
 * its quote names; `wrong-job`: for another job, model or max_tokens; `quote`: an input count above the consumer's
 * bound, or a quote inconsistent with itself; `price`: above the job's maximum prices; `expired`: offered past its
 * own expiry or the job's deadline; `unregistered`: the registry does not know the node as active with this signer
 * serving the model.
 */
export type ClaimRejection =
  'too-large' | 'schema' | 'bad-signature' | 'wrong-job' | 'quote' | 'price' | 'expired' | 'unregistered'

export class InvalidClaimError extends BaseError {
  override name = 'InvalidClaimError' as const
  constructor({ reason, details }: { reason: ClaimRejection; details: string }, cause?: unknown) {
    super(`The node's claim is invalid (${reason}); wait for another claim.`, { details, data: { reason }, cause })
  }
  get reason(): ClaimRejection {
    return this.data?.['reason'] as ClaimRejection
  }
}
registerErrorClass('InvalidClaimError', InvalidClaimError)

/**
 * What a node answers instead of taking an acceptance or handing a result. `unknown-claim`: it issued no such claim
 * (or forgot it); `claim-expired`: accepted after the claim's `acceptBy`; `job-expired`: the job's deadline passed;
 * `payment`: the voucher does not cover the claim (the node's `quote` and, when the consumer is behind, the channel's
 * latest receipt as `settlement`); `busy`: the node's job queue is full; `unknown-job`: no such job is held here;
 * `forbidden`: the fetch secret does not open this job; `malformed`: not a message of the protocol.
 */
export type JobRefusalCode =
  'unknown-claim' | 'claim-expired' | 'job-expired' | 'payment' | 'busy' | 'unknown-job' | 'forbidden' | 'malformed'

export const JOB_REFUSAL_CODES: readonly JobRefusalCode[] = [
  'unknown-claim',
  'claim-expired',
  'job-expired',
  'payment',
  'busy',
  'unknown-job',
  'forbidden',
  'malformed',
]

export class JobRefusedError extends BaseError {
  override name = 'JobRefusedError' as const
  constructor({
    code,
    details,
    quote,
    settlement,
  }: {
    code: JobRefusalCode
    details: string
    quote?: JsonValue | undefined
    settlement?: JsonValue | undefined
  }) {
    const data: Record<string, JsonValue> = { code }
    if (quote !== undefined) data['quote'] = quote
    if (settlement !== undefined) data['settlement'] = settlement
    super(`The node refused the job request (${code}).`, { details, data })
  }
  get code(): JobRefusalCode {
    return this.data?.['code'] as JobRefusalCode
  }
  get quote(): JsonValue | undefined {
    return this.data?.['quote']
  }
  get settlement(): JsonValue | undefined {
    return this.data?.['settlement']
  }
}
registerErrorClass('JobRefusedError', JobRefusedError)

/** A job ended without a result: no acceptable claim came, or its deadline (and the grace to fetch) passed. */
export class JobNotDeliveredError extends BaseError {
  override name = 'JobNotDeliveredError' as const
  constructor({
    jobId,
    reason,
    details,
  }: {
    jobId: string
    reason: 'no-claim' | 'expired' | 'refused'
    details?: string
  }) {
    super(`Job ${jobId} was not delivered (${reason}); post it again with a later deadline or a higher price.`, {
      ...(details === undefined ? {} : { details }),
      data: { jobId, reason },
    })
  }
  get jobId(): string {
    return this.data?.['jobId'] as string
  }
  get reason(): 'no-claim' | 'expired' | 'refused' {
    return this.data?.['reason'] as 'no-claim' | 'expired' | 'refused'
  }
}
registerErrorClass('JobNotDeliveredError', JobNotDeliveredError)
