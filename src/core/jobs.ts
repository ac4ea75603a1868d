/**
 * Async jobs: a consumer offers a request that may run later and cheaper than a live one, and a node with spare
 * capacity claims it. Here are the two signed messages, their strict decoders, and the rules both sides apply; the
 * money is the live request's, unchanged (a `Quote`, a voucher on the consumer's channel with the node, the
 * cashier's admission and signed receipt, `applyReceipt`).
 *
 * - A **job** is the consumer's offer, EIP-712 typed data (domain `Modelex`/`1`/chain id, like announcements)
 *   signed by the consumer's wallet: the request (its `requestHash` is signed, the request travels beside it), the
 *   model's content hash, the most it pays per million input and output tokens, its peer id (where claims go), a
 *   creation time, a deadline and a nonce. Its id is the typed data's digest, so a job cannot be altered without
 *   changing its id. Jobs travel on the `modelex/1/jobs` gossip topic.
 * - A **claim** is a node's acceptance, signed by its node signer: the job id, its peer id, a `Quote` for the job's
 *   request at the node's job prices (at most the job's maxima) and the time by which the consumer must accept.
 *
 * Rules:
 * 1. Who may claim: a node registered and active with the claim's signer, serving the job's model (the consumer
 *    reads the registry); the quote must pass the live rules — signer, operator, chain, model and max_tokens of the
 *    request, an input count within `inputTokenBound`, `maxCost` what its own prices give — and its prices must be
 *    at or below the job's maxima (instead of the registered live prices) and within the consumer's spend limits.
 * 2. One accepted claim per job: the consumer accepts exactly one, by sending that node a voucher on its channel
 *    with it that covers the claim's `maxCost` on top of everything settled and every other undelivered job
 *    (`nextVoucherAmount`), exactly as a live request pays. The node admits it through its cashier, which reserves
 *    the maximum until the job is settled or released.
 * 3. Expiry. A claim not accepted by its `acceptBy` is void (the node forgets it). A node never runs a job after its
 *    deadline: it releases the reservation (nothing is billed), and the consumer may offer the request again as a new
 *    job. A job run before its deadline is settled at once into a signed receipt (the cashier's `settle`), and its
 *    result is kept for the consumer until the deadline plus a grace period. A consumer that holds no receipt once
 *    that grace has passed moves the job from its channel's undelivered jobs to its interrupted requests
 *    (`expireJob`): a node that did settle it can then only be caught up with by the existing rules (its receipt,
 *    for at most the job's maximum, never beyond what was signed), so an undelivered job's voucher is not redeemable
 *    beyond receipts by an honest node, and nothing new can be taken by a dishonest one.
 * 4. Refusals. The gossip validator refuses a job that is too large, malformed, badly signed, for another chain,
 *    with a lifetime outside [`minTtlMs`, `maxTtlMs`], or created ahead of the clock; it ignores (without penalty)
 *    an expired one and one over its consumer's rate. A node declines to claim (`claimRefusal`) when jobs are off, the
 *    model is not the one it serves, the job's prices are below its minimum, max_tokens is above its cap, or too
 *    little time is left. A consumer refuses a claim that breaks rule 1 (`checkClaim`), and a node refuses an
 *    acceptance of a claim it did not issue, past `acceptBy` or the deadline, or with a voucher that does not cover
 *    it (the cashier's refusal, with its quote and settlement). A fetch must carry the secret whose hash the
 *    acceptance named, so a job id, which is public, does not open its result.
 */
import { getAddress, hashTypedData, isAddress, keccak256, recoverTypedDataAddress, type Address, type Hex } from 'viem'
import { inputTokenBound, checkSpend, type SpendLimits } from './bounds.ts'
import { applyReceipt, type ConsumerChannel } from './credit.ts'
import type { JsonValue } from './errors/base.ts'
import { InvalidClaimError, InvalidJobError, JOB_REFUSAL_CODES, type JobRefusalCode } from './errors/jobs.ts'
import { InvalidReceiptError } from './errors/payments.ts'
import { MalformedMessageError } from './errors/p2p.ts'
import type { FinishReason, InferenceRequest, Usage } from './inference.ts'
import { requestHash } from './payment.ts'
import { amount, decodeQuote, encodeQuote, hex, type Prices, type Quote } from './quote.ts'
import type { Receipt } from './receipt.ts'
import { decodeJson, encodeJson, integer, json, object, oneOf, only, string } from './wire/check.ts'
import { parseInferenceRequest } from './wire/infer.ts'

export const JOB_VERSION = 1

export const JOB_LIMITS = {
  /** A job as gossiped (request included). */
  maxJobBytes: 64 * 1024,
  maxClaimBytes: 4 * 1024,
  /** One frame of `/modelex/jobs/1.0.0` (a delivered result is the largest). */
  maxFrameBytes: 256 * 1024,
  /** A job lives at least this long (time to be claimed and run) and at most this long. */
  minTtlMs: 10_000,
  maxTtlMs: 7 * 24 * 60 * 60 * 1000,
  /** A job created further ahead of our clock than this is ignored. */
  maxClockSkewMs: 2 * 60 * 1000,
  /** max_tokens a job may ask for (a node applies its own, smaller cap). */
  maxTokens: 4096,
  /** A delivered result's text, at most (characters: up to 3 UTF-8 bytes each, so a result fits one frame). */
  maxResultChars: 64 * 1024,
} as const

/** The consumer's offer before it is signed. */
export type JobOffer = {
  v: typeof JOB_VERSION
  chainId: number
  /** The consumer's wallet: signs the job and the vouchers. */
  consumer: Address
  /** Where nodes send their claims. */
  peerId: string
  /** Content hash of the model (lower-case bytes32). */
  modelHash: Hex
  /** The request; max_tokens bounds the price. Its model id is the job's model. */
  request: InferenceRequest & { max_tokens: number }
  maxPricePerMillionInput: bigint
  maxPricePerMillionOutput: bigint
  /** Milliseconds since the epoch. */
  createdAt: number
  deadline: number
  nonce: number
}

export type Job = JobOffer & { id: Hex; signature: Hex }

export const JOB_TYPES = {
  Job: [
    { name: 'version', type: 'uint16' },
    { name: 'chainId', type: 'uint256' },
    { name: 'consumer', type: 'address' },
    { name: 'peerId', type: 'string' },
    { name: 'model', type: 'string' },
    { name: 'modelHash', type: 'bytes32' },
    { name: 'requestHash', type: 'bytes32' },
    { name: 'maxTokens', type: 'uint32' },
    { name: 'maxPricePerMillionInput', type: 'uint256' },
    { name: 'maxPricePerMillionOutput', type: 'uint256' },
    { name: 'createdAt', type: 'uint64' },
    { name: 'deadline', type: 'uint64' },
    { name: 'nonce', type: 'uint64' },
  ],
} as const

export function jobTypedData(offer: JobOffer) {
  return {
    domain: { name: 'Modelex', version: '1', chainId: offer.chainId },
    types: JOB_TYPES,
    primaryType: 'Job' as const,
    message: {
      version: offer.v,
      chainId: BigInt(offer.chainId),
      consumer: offer.consumer,
      peerId: offer.peerId,
      model: offer.request.model,
      modelHash: offer.modelHash,
      requestHash: requestHash(offer.request),
      maxTokens: offer.request.max_tokens,
      maxPricePerMillionInput: offer.maxPricePerMillionInput,
      maxPricePerMillionOutput: offer.maxPricePerMillionOutput,
      createdAt: BigInt(offer.createdAt),
      deadline: BigInt(offer.deadline),
      nonce: BigInt(offer.nonce),
    },
  }
}

/** The job's id: the digest of its typed data (what the consumer signs). */
export function jobId(offer: JobOffer): Hex {
  return hashTypedData(jobTypedData(offer))
}

/** Anything that signs EIP-712 typed data: a viem `LocalAccount`, or a wallet client bound to its account. */
export type TypedDataSigner = { signTypedData(typedData: any): Promise<Hex> } // eslint-disable-line @typescript-eslint/no-explicit-any

export async function signJob(signer: TypedDataSigner, offer: JobOffer): Promise<Job> {
  checkOffer(offer)
  const signature = await signer.signTypedData(jobTypedData(offer))
  return { ...offer, id: jobId(offer), signature: signature.toLowerCase() as Hex }
}

/** Checks the id and that the consumer it names signed it; throws `InvalidJobError`. */
export async function verifyJob(job: Job): Promise<Job> {
  const { id, signature, ...offer } = job
  if (jobId(offer).toLowerCase() !== id.toLowerCase())
    throw new InvalidJobError({ reason: 'id-mismatch', details: `id ${id} is not the hash of the job` })
  let recovered: Address
  try {
    recovered = await recoverTypedDataAddress({ ...jobTypedData(offer), signature })
  } catch (cause) {
    throw new InvalidJobError(
      { reason: 'bad-signature', details: 'the signature does not recover to any address' },
      cause,
    )
  }
  if (recovered.toLowerCase() !== job.consumer.toLowerCase())
    throw new InvalidJobError({
      reason: 'signer-mismatch',
      details: `signed by ${recovered}, names consumer ${job.consumer}`,
    })
  return job
}

/**
 * The timing rules of a job at time `now` (ms): alive, with a lifetime in range, not created ahead of the clock,
 * and for `chainId` when given. Throws `InvalidJobError`.
 */
export function checkJobTiming(
  job: Pick<JobOffer, 'createdAt' | 'deadline' | 'chainId'>,
  {
    now,
    chainId,
    limits = JOB_LIMITS,
  }: {
    now: number
    chainId?: number | undefined
    limits?: Pick<typeof JOB_LIMITS, 'minTtlMs' | 'maxTtlMs' | 'maxClockSkewMs'>
  },
): void {
  if (chainId !== undefined && job.chainId !== chainId)
    throw new InvalidJobError({ reason: 'wrong-chain', details: `job for chain ${job.chainId}, not ${chainId}` })
  const ttl = job.deadline - job.createdAt
  if (ttl < limits.minTtlMs || ttl > limits.maxTtlMs)
    throw new InvalidJobError({
      reason: 'deadline',
      details: `a lifetime of ${ttl} ms is outside ${limits.minTtlMs}..${limits.maxTtlMs} ms`,
    })
  if (job.createdAt > now + limits.maxClockSkewMs)
    throw new InvalidJobError({ reason: 'clock', details: `created ${job.createdAt - now} ms ahead of our clock` })
  if (job.deadline <= now)
    throw new InvalidJobError({ reason: 'expired', details: `its deadline passed ${now - job.deadline} ms ago` })
}

function checkOffer(offer: JobOffer): void {
  // The same checks the decoder applies, so a consumer cannot sign a job that nobody will accept.
  decodeJobValue(encodeJobValue({ ...offer, id: `0x${'00'.repeat(32)}`, signature: `0x${'00'.repeat(65)}` }), {
    skipId: true,
  })
}

const BYTES32 = /^0x[0-9a-f]{64}$/
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/
const PEER_ID = /^[1-9A-HJ-NP-Za-km-z]{32,128}$/

export function encodeJobValue(job: Job): JsonValue {
  return {
    v: job.v,
    id: job.id,
    chainId: job.chainId,
    consumer: job.consumer,
    peerId: job.peerId,
    modelHash: job.modelHash,
    request: job.request as unknown as JsonValue,
    maxPricePerMillionInput: job.maxPricePerMillionInput.toString(),
    maxPricePerMillionOutput: job.maxPricePerMillionOutput.toString(),
    createdAt: job.createdAt,
    deadline: job.deadline,
    nonce: job.nonce,
    signature: job.signature,
  }
}

export function encodeJob(job: Job): Uint8Array {
  const bytes = encodeJson(encodeJobValue(job))
  if (bytes.length > JOB_LIMITS.maxJobBytes)
    throw new InvalidJobError({ reason: 'too-large', details: `${bytes.length} bytes > ${JOB_LIMITS.maxJobBytes}` })
  return bytes
}

/** Strict decoding: size first, then every field. Throws `InvalidJobError` (too-large, schema or id-mismatch). */
export function decodeJob(bytes: Uint8Array): Job {
  if (bytes.length > JOB_LIMITS.maxJobBytes)
    throw new InvalidJobError({ reason: 'too-large', details: `${bytes.length} bytes > ${JOB_LIMITS.maxJobBytes}` })
  let value: unknown
  try {
    value = decodeJson(bytes)
  } catch (error) {
    throw new InvalidJobError({ reason: 'schema', details: (error as Error).message }, error)
  }
  return decodeJobValue(value)
}

/** Decodes a job from parsed JSON (a protocol frame or a stored record); the id must be the job's hash. */
export function decodeJobValue(value: unknown, { skipId = false }: { skipId?: boolean } = {}): Job {
  let job: Job
  try {
    const j = object(value, 'job')
    only(j, 'job', [
      'v',
      'id',
      'chainId',
      'consumer',
      'peerId',
      'modelHash',
      'request',
      'maxPricePerMillionInput',
      'maxPricePerMillionOutput',
      'createdAt',
      'deadline',
      'nonce',
      'signature',
    ])
    if (j['v'] !== JOB_VERSION) throw new MalformedMessageError(`job.v: expected ${JOB_VERSION}`)
    const peerId = string(j['peerId'], 'job.peerId', 128, 32)
    if (!PEER_ID.test(peerId)) throw new MalformedMessageError('job.peerId: expected a base58 peer id')
    const modelHash = string(j['modelHash'], 'job.modelHash', 66)
    if (!BYTES32.test(modelHash))
      throw new MalformedMessageError('job.modelHash: expected a lower-case bytes32 hex string')
    const signature = string(j['signature'], 'job.signature', 132)
    if (!SIGNATURE.test(signature)) throw new MalformedMessageError('job.signature: expected a 65-byte hex signature')
    const request = parseInferenceRequest(j['request'])
    if (request.max_tokens === undefined || request.max_tokens < 1 || request.max_tokens > JOB_LIMITS.maxTokens)
      throw new MalformedMessageError(`job.request.max_tokens: expected an integer in 1..${JOB_LIMITS.maxTokens}`)
    const createdAt = integer(j['createdAt'], 'job.createdAt', 0, Number.MAX_SAFE_INTEGER)
    const deadline = integer(j['deadline'], 'job.deadline', 0, Number.MAX_SAFE_INTEGER)
    job = {
      v: JOB_VERSION,
      id: hex(j['id'], 'job.id', 64).toLowerCase() as Hex,
      chainId: integer(j['chainId'], 'job.chainId', 1, Number.MAX_SAFE_INTEGER),
      consumer: address(j['consumer'], 'job.consumer'),
      peerId,
      modelHash: modelHash as Hex,
      request: request as InferenceRequest & { max_tokens: number },
      maxPricePerMillionInput: amount(j['maxPricePerMillionInput'], 'job.maxPricePerMillionInput'),
      maxPricePerMillionOutput: amount(j['maxPricePerMillionOutput'], 'job.maxPricePerMillionOutput'),
      createdAt,
      deadline,
      nonce: integer(j['nonce'], 'job.nonce', 0, Number.MAX_SAFE_INTEGER),
      signature: signature.toLowerCase() as Hex,
    }
  } catch (error) {
    if (error instanceof InvalidJobError) throw error
    throw new InvalidJobError({ reason: 'schema', details: (error as Error).message }, error)
  }
  if (!skipId) {
    const { id, signature: _signature, ...offer } = job
    if (jobId(offer) !== id)
      throw new InvalidJobError({ reason: 'id-mismatch', details: `id ${id} is not the hash of the job` })
  }
  return job
}

/** The gossip validator's logic for a job: decode (size, schema, id), timing, then the signature (the costly check). */
export async function validateJob(
  bytes: Uint8Array,
  options: { now: number; chainId?: number | undefined },
): Promise<Job> {
  const job = decodeJob(bytes)
  checkJobTiming(job, options)
  return verifyJob(job)
}

// ---------------------------------------------------------------------------------------------------------------
// Claims

/** A node's claim before it is signed. */
export type ClaimOffer = {
  v: typeof JOB_VERSION
  jobId: Hex
  /** The node's peer id: where the consumer sends its acceptance and later fetches the result. */
  peerId: string
  /** The job's request priced at the node's job prices (the live `Quote`, same fields and rules). */
  quote: Quote
  /** The consumer must accept by then (ms since the epoch); the node forgets the claim after it. */
  acceptBy: number
}

export type Claim = ClaimOffer & { signature: Hex }

export const CLAIM_TYPES = {
  Claim: [
    { name: 'version', type: 'uint16' },
    { name: 'jobId', type: 'bytes32' },
    { name: 'peerId', type: 'string' },
    { name: 'model', type: 'string' },
    { name: 'modelHash', type: 'bytes32' },
    { name: 'inputTokens', type: 'uint32' },
    { name: 'maxTokens', type: 'uint32' },
    { name: 'pricePerMillionInput', type: 'uint256' },
    { name: 'pricePerMillionOutput', type: 'uint256' },
    { name: 'maxCost', type: 'uint256' },
    { name: 'node', type: 'address' },
    { name: 'signer', type: 'address' },
    { name: 'acceptBy', type: 'uint64' },
  ],
} as const

export function claimTypedData(claim: ClaimOffer) {
  const q = claim.quote
  return {
    domain: { name: 'Modelex', version: '1', chainId: q.chainId },
    types: CLAIM_TYPES,
    primaryType: 'Claim' as const,
    message: {
      version: claim.v,
      jobId: claim.jobId,
      peerId: claim.peerId,
      model: q.model,
      modelHash: q.modelHash,
      inputTokens: q.inputTokens,
      maxTokens: q.maxTokens,
      pricePerMillionInput: q.pricePerMillionInput,
      pricePerMillionOutput: q.pricePerMillionOutput,
      maxCost: q.maxCost,
      node: q.node,
      signer: q.signer,
      acceptBy: BigInt(claim.acceptBy),
    },
  }
}

/** Identifies a claim (the digest its signer signed). */
export function claimHash(claim: ClaimOffer): Hex {
  return hashTypedData(claimTypedData(claim))
}

export async function signClaim(signer: TypedDataSigner, claim: ClaimOffer): Promise<Claim> {
  const signature = await signer.signTypedData(claimTypedData(claim))
  return { ...claim, signature: signature.toLowerCase() as Hex }
}

export function encodeClaim(claim: Claim): JsonValue {
  return {
    v: claim.v,
    jobId: claim.jobId,
    peerId: claim.peerId,
    quote: encodeQuote(claim.quote),
    acceptBy: claim.acceptBy,
    signature: claim.signature,
  }
}

/** Strict decoding of a claim; its quote must be consistent with itself (`decodeQuote`). Throws `InvalidClaimError`. */
export function decodeClaim(value: unknown): Claim {
  try {
    if (encodeJson(value).length > JOB_LIMITS.maxClaimBytes)
      throw new InvalidClaimError({
        reason: 'too-large',
        details: `a claim is at most ${JOB_LIMITS.maxClaimBytes} bytes`,
      })
    const c = object(value, 'claim')
    only(c, 'claim', ['v', 'jobId', 'peerId', 'quote', 'acceptBy', 'signature'])
    if (c['v'] !== JOB_VERSION) throw new MalformedMessageError(`claim.v: expected ${JOB_VERSION}`)
    const peerId = string(c['peerId'], 'claim.peerId', 128, 32)
    if (!PEER_ID.test(peerId)) throw new MalformedMessageError('claim.peerId: expected a base58 peer id')
    const signature = string(c['signature'], 'claim.signature', 132)
    if (!SIGNATURE.test(signature)) throw new MalformedMessageError('claim.signature: expected a 65-byte hex signature')
    let quote: Quote
    try {
      quote = decodeQuote(c['quote'])
    } catch (error) {
      throw new InvalidClaimError({ reason: 'quote', details: (error as Error).message }, error)
    }
    return {
      v: JOB_VERSION,
      jobId: hex(c['jobId'], 'claim.jobId', 64).toLowerCase() as Hex,
      peerId,
      quote,
      acceptBy: integer(c['acceptBy'], 'claim.acceptBy', 0, Number.MAX_SAFE_INTEGER),
      signature: signature.toLowerCase() as Hex,
    }
  } catch (error) {
    if (error instanceof InvalidClaimError) throw error
    throw new InvalidClaimError({ reason: 'schema', details: (error as Error).message }, error)
  }
}

/** The address that signed a claim; it must be the signer its quote names. Throws `InvalidClaimError`. */
export async function verifyClaimSignature(claim: Claim): Promise<void> {
  const { signature, ...offer } = claim
  let recovered: Address
  try {
    recovered = await recoverTypedDataAddress({ ...claimTypedData(offer), signature })
  } catch (cause) {
    throw new InvalidClaimError(
      { reason: 'bad-signature', details: 'the signature does not recover to any address' },
      cause,
    )
  }
  if (recovered.toLowerCase() !== claim.quote.signer.toLowerCase())
    throw new InvalidClaimError({
      reason: 'bad-signature',
      details: `signed by ${recovered}, the quote names signer ${claim.quote.signer}`,
    })
}

/** What the consumer knows of the claiming node independently of its claim: the registry. */
export type ClaimExpectation = {
  /** The registry's entry for the claim's operator, and whether it lists the job's model. */
  registered: { active: boolean; signer: Address; servesModel: boolean }
  chainId: number
  limits: SpendLimits
  now: number
}

/**
 * The consumer's rule 1 (see the module comment) for a claim on `job`, signature excluded (`verifyClaimSignature`).
 * Throws `InvalidClaimError`, or `SpendLimitError` for a claim that is merely more than the consumer allows.
 */
export function checkClaim(claim: Claim, job: Job, expected: ClaimExpectation): Quote {
  const q = claim.quote
  const refuse = (reason: ConstructorParameters<typeof InvalidClaimError>[0]['reason'], details: string): never => {
    throw new InvalidClaimError({ reason, details })
  }
  if (claim.jobId.toLowerCase() !== job.id.toLowerCase())
    refuse('wrong-job', `claim for job ${claim.jobId}, not ${job.id}`)
  if (q.model !== job.request.model || q.modelHash.toLowerCase() !== job.modelHash.toLowerCase())
    refuse('wrong-job', 'the claim quotes another model')
  if (q.maxTokens !== job.request.max_tokens)
    refuse('wrong-job', `the claim quotes max_tokens ${q.maxTokens}, the job asks ${job.request.max_tokens}`)
  if (q.chainId !== job.chainId || q.chainId !== expected.chainId)
    refuse('wrong-job', `the claim is for chain ${q.chainId}`)
  const { registered } = expected
  if (!registered.active || registered.signer.toLowerCase() !== q.signer.toLowerCase())
    refuse('unregistered', `operator ${q.node} is not active with signer ${q.signer} in the registry`)
  if (!registered.servesModel) refuse('unregistered', `operator ${q.node} is not registered for model ${job.modelHash}`)
  const bound = inputTokenBound(job.request)
  if (q.inputTokens > bound) refuse('quote', `${q.inputTokens} input tokens quoted; the prompt has at most ${bound}`)
  if (q.pricePerMillionInput > job.maxPricePerMillionInput || q.pricePerMillionOutput > job.maxPricePerMillionOutput) {
    refuse(
      'price',
      `prices ${q.pricePerMillionInput}/${q.pricePerMillionOutput} per million are above the job's ${job.maxPricePerMillionInput}/${job.maxPricePerMillionOutput}`,
    )
  }
  if (claim.acceptBy <= expected.now) refuse('expired', `the claim could be accepted until ${claim.acceptBy}`)
  if (job.deadline <= expected.now) refuse('expired', 'the job is past its deadline')
  checkSpend(q, q.maxCost, expected.limits)
  return q
}

/** The claim to accept among valid ones: the lowest maximum cost, then the lowest output price, then the first. */
export function pickClaim<T extends Pick<Claim, 'quote'>>(claims: readonly T[]): T | undefined {
  let best: T | undefined
  for (const claim of claims) {
    if (!best) best = claim
    else if (
      claim.quote.maxCost < best.quote.maxCost ||
      (claim.quote.maxCost === best.quote.maxCost &&
        claim.quote.pricePerMillionOutput < best.quote.pricePerMillionOutput)
    )
      best = claim
  }
  return best
}

// ---------------------------------------------------------------------------------------------------------------
// The node's rules

/** What a node takes on as jobs (`src/node/jobs.ts` configuration). */
export type JobPolicy = {
  enabled: boolean
  /** The node's job prices: the least it claims a job for, and what it quotes (at most the job's maxima). */
  prices: Prices
  /** The model it serves now (content hash), if any. */
  modelHash: Hex | null
  /** The highest max_tokens it runs. */
  maxTokens: number
  /** Time a job needs left before its deadline to be worth claiming (queueing and running). */
  minTimeLeftMs: number
}

export type ClaimRefusalReason = 'disabled' | 'model' | 'price' | 'max-tokens' | 'deadline'

/** Why a node declines to claim `job` at `now`, or null when it may claim it. */
export function claimRefusal(
  job: Pick<Job, 'modelHash' | 'request' | 'deadline' | 'maxPricePerMillionInput' | 'maxPricePerMillionOutput'>,
  policy: JobPolicy,
  now: number,
): ClaimRefusalReason | null {
  if (!policy.enabled) return 'disabled'
  if (!policy.modelHash || policy.modelHash.toLowerCase() !== job.modelHash.toLowerCase()) return 'model'
  if (
    job.maxPricePerMillionInput < policy.prices.pricePerMillionInput ||
    job.maxPricePerMillionOutput < policy.prices.pricePerMillionOutput
  )
    return 'price'
  if (job.request.max_tokens > policy.maxTokens) return 'max-tokens'
  if (job.deadline - now < policy.minTimeLeftMs) return 'deadline'
  return null
}

/** Whether a node may still start an accepted job: never at or after its deadline. */
export function mayRun(job: Pick<Job, 'deadline'>, now: number): boolean {
  return now < job.deadline
}

/** Until when a node keeps a delivered result for its consumer. */
export function keepResultUntil(job: Pick<Job, 'deadline'>, graceMs: number): number {
  return job.deadline + graceMs
}

/** The hash a consumer names when it accepts; it fetches with the secret. */
export function fetchHashOf(secret: Hex): Hex {
  return keccak256(secret)
}

// ---------------------------------------------------------------------------------------------------------------
// The consumer's channel

/** The entry a job adds to the consumer's channel with the node while it is undelivered. */
export function jobEntry(
  job: Pick<Job, 'request'>,
  quote: Pick<Quote, 'maxCost'>,
): { requestHash: Hex; maxCost: bigint } {
  return { requestHash: requestHash(job.request), maxCost: quote.maxCost }
}

/** Records an accepted job on the channel (after its voucher was signed with `nextVoucherAmount`). */
export function addJob(channel: ConsumerChannel, entry: { requestHash: Hex; maxCost: bigint }): ConsumerChannel {
  return { ...channel, jobs: [...(channel.jobs ?? []), entry] }
}

/** Forgets an accepted job the node refused outright (it reserved nothing for it). */
export function dropJob(channel: ConsumerChannel, requestHash_: Hex): ConsumerChannel {
  const jobs = channel.jobs ?? []
  const at = jobs.findIndex((j) => j.requestHash.toLowerCase() === requestHash_.toLowerCase())
  return at === -1 ? channel : { ...channel, jobs: jobs.filter((_, i) => i !== at) }
}

/**
 * Settles a delivered job's receipt (its signature checked by `verifySignedReceipt`): the same money checks as a
 * live receipt (`applyReceipt`: input billed as quoted, cost exactly what the claim's prices give, a cumulative total
 * that continues the channel and stays within what was signed). When a later receipt already moved the settled
 * total past this one (its gap was this job), the receipt only takes the job off the list, and must still be exact
 * for its quote.
 */
export function applyJobReceipt(channel: ConsumerChannel, receipt: Receipt, quote: Quote): ConsumerChannel {
  const without = dropJob(channel, receipt.requestHash)
  if (receipt.cumulativePaid > channel.settled) return applyReceipt(without, receipt, quote)
  if (receipt.cumulativePaid < receipt.cost)
    throw new InvalidReceiptError({
      reason: 'cumulative',
      details: `cumulativePaid ${receipt.cumulativePaid} is below the receipt's own cost ${receipt.cost}`,
    })
  // Counted already: check the money against the quote alone.
  applyReceipt(
    {
      ...without,
      settled: receipt.cumulativePaid - receipt.cost,
      signed: receipt.cumulativePaid,
      interrupted: [],
      jobs: [],
    },
    receipt,
    quote,
  )
  return without
}

/**
 * A job past its deadline and grace without a receipt: it leaves the undelivered jobs (later vouchers no longer
 * cover it) and joins the interrupted requests, so a node that did settle it can still be caught up with by the
 * existing rules, for at most its maximum.
 */
export function expireJob(channel: ConsumerChannel, requestHash_: Hex): ConsumerChannel {
  const entry = (channel.jobs ?? []).find((j) => j.requestHash.toLowerCase() === requestHash_.toLowerCase())
  if (!entry) return channel
  return { ...dropJob(channel, requestHash_), interrupted: [...(channel.interrupted ?? []), entry] }
}

// ---------------------------------------------------------------------------------------------------------------
// The `/modelex/jobs/1.0.0` messages: one request frame, one answer frame.

export type JobResult = { text: string; finish_reason: FinishReason; usage: Usage; receipt: JsonValue }

/**
 * `claim`: a node offers its claim to the job's consumer. `accept`: the consumer accepts a claim with a voucher and
 * the hash of its fetch secret. `fetch`: the consumer asks for the result with the secret.
 */
export type JobsRequest =
  | { type: 'claim'; claim: Claim }
  | { type: 'accept'; job: Job; claim: Claim; payment: JsonValue; fetchHash: Hex }
  | { type: 'fetch'; jobId: Hex; secret: Hex }

export type JobsAnswer =
  | { ok: true; status: 'noted' | 'accepted' | 'pending' }
  | { ok: true; status: 'done'; result: JobResult }
  | { ok: false; code: JobRefusalCode; message: string; quote?: JsonValue; settlement?: JsonValue }

export function encodeJobsRequest(message: JobsRequest): JsonValue {
  if (message.type === 'claim') return { type: 'claim', claim: encodeClaim(message.claim) }
  if (message.type === 'accept')
    return {
      type: 'accept',
      job: encodeJobValue(message.job),
      claim: encodeClaim(message.claim),
      payment: message.payment,
      fetchHash: message.fetchHash,
    }
  return { type: 'fetch', jobId: message.jobId, secret: message.secret }
}

/** Strict decoding of a request frame; throws `MalformedMessageError`, `InvalidJobError` or `InvalidClaimError`. */
export function decodeJobsRequest(value: unknown): JobsRequest {
  const m = object(value, 'message')
  const type = oneOf(m['type'], 'message.type', ['claim', 'accept', 'fetch'] as const)
  if (type === 'claim') {
    only(m, 'message', ['type', 'claim'])
    return { type, claim: decodeClaim(m['claim']) }
  }
  if (type === 'accept') {
    only(m, 'message', ['type', 'job', 'claim', 'payment', 'fetchHash'])
    return {
      type,
      job: decodeJobValue(m['job']),
      claim: decodeClaim(m['claim']),
      payment: json(m['payment'], 'message.payment'),
      fetchHash: hex(m['fetchHash'], 'message.fetchHash', 64).toLowerCase() as Hex,
    }
  }
  only(m, 'message', ['type', 'jobId', 'secret'])
  return {
    type,
    jobId: hex(m['jobId'], 'message.jobId', 64).toLowerCase() as Hex,
    secret: hex(m['secret'], 'message.secret', 64).toLowerCase() as Hex,
  }
}

export function encodeJobsAnswer(answer: JobsAnswer): JsonValue {
  return answer as unknown as JsonValue
}

const FINISH_REASONS = ['stop', 'length', 'abort'] as const

/** Strict decoding of an answer frame; throws `MalformedMessageError`. */
export function decodeJobsAnswer(value: unknown): JobsAnswer {
  const a = object(value, 'answer')
  if (a['ok'] === true) {
    const status = oneOf(a['status'], 'answer.status', ['noted', 'accepted', 'pending', 'done'] as const)
    if (status !== 'done') {
      only(a, 'answer', ['ok', 'status'])
      return { ok: true, status }
    }
    only(a, 'answer', ['ok', 'status', 'result'])
    const r = object(a['result'], 'answer.result')
    only(r, 'answer.result', ['text', 'finish_reason', 'usage', 'receipt'])
    const u = object(r['usage'], 'answer.result.usage')
    only(u, 'answer.result.usage', ['prompt_tokens', 'completion_tokens', 'total_tokens'])
    const usage: Usage = {
      prompt_tokens: integer(u['prompt_tokens'], 'usage.prompt_tokens', 0, 2 ** 32),
      completion_tokens: integer(u['completion_tokens'], 'usage.completion_tokens', 0, 2 ** 32),
      total_tokens: integer(u['total_tokens'], 'usage.total_tokens', 0, 2 ** 33),
    }
    return {
      ok: true,
      status,
      result: {
        text: string(r['text'], 'answer.result.text', JOB_LIMITS.maxResultChars),
        finish_reason: oneOf(r['finish_reason'], 'answer.result.finish_reason', FINISH_REASONS),
        usage,
        receipt: json(r['receipt'], 'answer.result.receipt'),
      },
    }
  }
  if (a['ok'] !== false) throw new MalformedMessageError('answer.ok: expected a boolean')
  only(a, 'answer', ['ok', 'code', 'message', 'quote', 'settlement'])
  const answer: JobsAnswer = {
    ok: false,
    code: oneOf(a['code'], 'answer.code', JOB_REFUSAL_CODES),
    message: string(a['message'], 'answer.message', 4096),
  }
  if (a['quote'] !== undefined) answer.quote = json(a['quote'], 'answer.quote')
  if (a['settlement'] !== undefined) answer.settlement = json(a['settlement'], 'answer.settlement')
  return answer
}

function address(value: unknown, path: string): Address {
  const text = string(value, path, 42)
  if (!isAddress(text, { strict: false })) throw new MalformedMessageError(`${path}: expected an address`)
  return getAddress(text)
}
