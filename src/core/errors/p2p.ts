/**
 * Errors of the peer-to-peer layer: frames and messages that break the wire format, announcements and attestations
 * that fail validation, and the typed outcomes of an inference request sent to another node.
 */
import { BaseError, registerErrorClass, type JsonValue } from './base.ts'

/** A length-prefixed frame declares more bytes than the reader accepts. */
export class FrameTooLargeError extends BaseError {
  override name = 'FrameTooLargeError' as const
  constructor({ length, limit }: { length: number; limit: number }) {
    super(
      `A frame of ${length} bytes exceeds the limit of ${limit} bytes; the peer is sending more than the protocol allows.`,
      { data: { length, limit } },
    )
  }
  get length(): number {
    return this.data?.['length'] as number
  }
  get limit(): number {
    return this.data?.['limit'] as number
  }
}
registerErrorClass('FrameTooLargeError', FrameTooLargeError)

/** The bytes of a frame or a wire message do not follow the format (bad length prefix, bad JSON, wrong shape). */
export class MalformedMessageError extends BaseError {
  override name = 'MalformedMessageError' as const
  constructor(details: string, cause?: unknown) {
    super('A message from a peer does not follow the wire format; it was dropped.', { details, cause })
  }
}
registerErrorClass('MalformedMessageError', MalformedMessageError)

/**
 * Why an announcement was refused. `reject` reasons prove the sender wrong (gossipsub lowers its score);
 * `ignore` reasons (stale, replayed) can reach an honest peer through a slow path, so they are only dropped.
 */
export type AnnouncementRejection =
  'schema' | 'too-large' | 'bad-signature' | 'signer-mismatch' | 'peer-mismatch' | 'wrong-topic' | 'stale' | 'sequence'

export const IGNORED_ANNOUNCEMENT_REASONS: ReadonlySet<AnnouncementRejection> = new Set(['stale', 'sequence'])

export class InvalidAnnouncementError extends BaseError {
  override name = 'InvalidAnnouncementError' as const
  constructor({ reason, details, cause }: { reason: AnnouncementRejection; details: string; cause?: unknown }) {
    super(`An announcement was refused (${reason}).`, { details, cause, data: { reason } })
  }
  get reason(): AnnouncementRejection {
    return this.data?.['reason'] as AnnouncementRejection
  }
}
registerErrorClass('InvalidAnnouncementError', InvalidAnnouncementError)

/**
 * Why an attestation was refused. Like announcements, `reject` reasons prove the sender wrong (every honest
 * forwarder checks them the same way, the relay included); the others are dropped without blame: stale, future and
 * replayed ones can reach an honest peer late, and the registry checks (`unbound-signer`, `unregistered-node`,
 * `registry-unavailable`, `wrong-domain`) need a chain view the relay lacks, so a relay forwarding them in good
 * faith must not be penalised for it.
 */
export type AttestationRejection =
  | 'schema'
  | 'too-large'
  | 'bad-signature'
  | 'signer-mismatch'
  | 'score-range'
  | 'sample-size'
  | 'window'
  | 'self-attestation'
  | 'future'
  | 'stale'
  | 'replayed'
  | 'duplicate'
  | 'wrong-domain'
  | 'unbound-signer'
  | 'unregistered-node'
  | 'registry-unavailable'

export const IGNORED_ATTESTATION_REASONS: ReadonlySet<AttestationRejection> = new Set([
  'future',
  'stale',
  'replayed',
  'duplicate',
  'wrong-domain',
  'unbound-signer',
  'unregistered-node',
  'registry-unavailable',
])

export class InvalidAttestationError extends BaseError {
  override name = 'InvalidAttestationError' as const
  constructor({ reason, details, cause }: { reason: AttestationRejection; details: string; cause?: unknown }) {
    super(`An attestation was refused (${reason}).`, { details, cause, data: { reason } })
  }
  get reason(): AttestationRejection {
    return this.data?.['reason'] as AttestationRejection
  }
}
registerErrorClass('InvalidAttestationError', InvalidAttestationError)

/**
 * A request or an answer of the attestation protocols (`/modelex/attestations/1.0.0`, the relay's cache of the
 * latest attestations; `/modelex/attestation-proof/1.0.0`, an evaluator's inclusion proofs) does not follow their
 * wire format or exceeds their limits. The stream it came on is closed; nothing of it is used.
 */
export class InvalidAttestationRequestError extends BaseError {
  override name = 'InvalidAttestationRequestError' as const
  constructor({ protocol, details, cause }: { protocol: string; details: string; cause?: unknown }) {
    super(`A message on ${protocol} does not follow the protocol or its limits; it was refused.`, {
      details,
      cause,
      data: { protocol },
    })
  }
  get protocol(): string {
    return this.data?.['protocol'] as string
  }
}
registerErrorClass('InvalidAttestationRequestError', InvalidAttestationRequestError)

/**
 * Anchoring a batch of an evaluator's attestations failed. `unreachable`: the chain or the wallet could not be
 * reached; `rejected`: the contract refused the transaction (say the signer is no longer bound to a registered node).
 * Either way the batch stays stored as cut, with its root fixed, and is sent again on the next attempt: nothing due is
 * lost, and a root that did land meanwhile is recognised and not sent twice.
 */
export class AttestationAnchorError extends BaseError {
  override name = 'AttestationAnchorError' as const
  constructor({
    reason,
    root,
    count,
    details,
    cause,
  }: {
    reason: 'unreachable' | 'rejected'
    root: string
    count: number
    details?: string | undefined
    cause?: unknown
  }) {
    const what = reason === 'unreachable' ? 'the chain could not be reached' : 'the contract refused the transaction'
    super(
      `Could not anchor a batch of ${count} attestation(s) (root ${root}): ${what}. The batch is kept and sent again on the next attempt.`,
      { details, cause, data: { reason, root, count } },
    )
  }
  get reason(): 'unreachable' | 'rejected' {
    return this.data?.['reason'] as 'unreachable' | 'rejected'
  }
  get root(): string {
    return this.data?.['root'] as string
  }
}
registerErrorClass('AttestationAnchorError', AttestationAnchorError)

/** The error codes a serving node sends in an `error` frame. */
export const INFER_ERROR_CODES = [
  'BAD_REQUEST',
  'UNSUPPORTED_MODEL',
  'BUSY',
  'PAYMENT_REQUIRED',
  'TIMEOUT',
  'INTERNAL',
] as const
export type InferErrorCode = (typeof INFER_ERROR_CODES)[number]

const inferMessages: Record<InferErrorCode, string> = {
  BAD_REQUEST: 'The node refused the request as malformed or outside its limits.',
  UNSUPPORTED_MODEL: 'The node does not serve the requested model; pick a node that announces it.',
  BUSY: 'The node is busy; retry after the delay it asked for, or pick another node.',
  PAYMENT_REQUIRED: 'The node requires a payment this request did not carry or that it did not accept.',
  TIMEOUT: 'The request timed out on the serving node.',
  INTERNAL: 'The serving node failed while running the request.',
}

/** A node answered an inference request with an `error` frame. */
export class InferRequestError extends BaseError {
  override name = 'InferRequestError' as const
  constructor({
    code,
    message,
    retryAfterMs,
    quote,
    settlement,
  }: {
    code: InferErrorCode
    message: string
    retryAfterMs?: number | undefined
    quote?: JsonValue | undefined
    settlement?: JsonValue | undefined
  }) {
    const data: Record<string, JsonValue> = { code }
    if (retryAfterMs !== undefined) data['retryAfterMs'] = retryAfterMs
    if (quote !== undefined) data['quote'] = quote
    if (settlement !== undefined) data['settlement'] = settlement
    super(inferMessages[code], { details: message, data })
  }
  /** For PAYMENT_REQUIRED: the node's quote for the request, when it sent one. */
  get quote(): JsonValue | undefined {
    return this.data?.['quote']
  }
  /** For PAYMENT_REQUIRED after a refused voucher: the channel's latest signed receipt, to catch up with. */
  get settlement(): JsonValue | undefined {
    return this.data?.['settlement']
  }
  get code(): InferErrorCode {
    return this.data?.['code'] as InferErrorCode
  }
  /** For BUSY: how long the node asked us to wait. */
  get retryAfterMs(): number | undefined {
    return this.data?.['retryAfterMs'] as number | undefined
  }
}
registerErrorClass('InferRequestError', InferRequestError)

export type InferStreamFailure = 'dial' | 'closed' | 'reset' | 'timeout' | 'protocol'

/** The stream to a serving node failed before its final frame: it could not be opened, closed early or broke. */
export class InferStreamError extends BaseError {
  override name = 'InferStreamError' as const
  constructor({ reason, details, cause }: { reason: InferStreamFailure; details: string; cause?: unknown }) {
    super(inferStreamMessages[reason], { details, cause, data: { reason } })
  }
  get reason(): InferStreamFailure {
    return this.data?.['reason'] as InferStreamFailure
  }
}
registerErrorClass('InferStreamError', InferStreamError)

const inferStreamMessages: Record<InferStreamFailure, string> = {
  dial: 'Could not open a stream to the node; it may be offline. Pick another node.',
  closed: 'The node closed the stream before finishing the answer; it may have gone offline.',
  reset: 'The connection to the node broke during the answer; it may have gone offline.',
  timeout: 'The node sent nothing for too long; the request was given up.',
  protocol: 'The node broke the infer protocol; the request was given up.',
}

/** A stored key (peer key, node signer) could not be read. */
export class StoredKeyError extends BaseError {
  override name = 'StoredKeyError' as const
}
registerErrorClass('StoredKeyError', StoredKeyError)

/** A Node program's state file (the gateway's channels and receipts) could not be read. */
export class StoreFileError extends BaseError {
  override name = 'StoreFileError' as const
  constructor({ path, details }: { path: string; details: string }) {
    super(`The state file ${path} could not be read. Move it away to start with an empty state.`, {
      details,
      data: { path },
    })
  }
}
registerErrorClass('StoreFileError', StoreFileError)

/**
 * A relay's directory answer that does not add up: a delta relative to a view we do not hold, one that does not lead
 * to the digest it declares, or one carrying an entry that fails verification (forged or altered). The consumer drops
 * that relay's answer and asks again from scratch; the other relays' answers are unaffected.
 */
export type DirectoryViewFailure = 'wrong-base' | 'digest-mismatch' | 'forged-entry' | 'malformed'

export class DirectoryViewError extends BaseError {
  override name = 'DirectoryViewError' as const
  constructor({ reason, details, cause }: { reason: DirectoryViewFailure; details: string; cause?: unknown }) {
    super(`A relay's directory answer was refused (${reason}); its view is dropped and asked for again.`, {
      details,
      cause,
      data: { reason },
    })
  }
  get reason(): DirectoryViewFailure {
    return this.data?.['reason'] as DirectoryViewFailure
  }
}
registerErrorClass('DirectoryViewError', DirectoryViewError)
