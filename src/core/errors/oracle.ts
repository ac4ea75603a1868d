/**
 * Errors of oracle work: data sets of dated items (a file that breaks the format, a peer that sends other bytes
 * than the hash asked for, a data set nobody serves), and a node's answer to an OracleRouter request (an input it
 * cannot fill the template with, a template whose output has no on-chain number, a round with nothing to score,
 * a salt that was lost). The oracle service records them per request; none becomes a made-up answer.
 */
import { BaseError, registerErrorClass } from './base.ts'

/** A data set's bytes break the format (dated JSON lines) or its limits; `line` is 1-based (0: the whole file). */
export class InvalidDatasetError extends BaseError {
  override name = 'InvalidDatasetError' as const
  constructor({ line, reason }: { line: number; reason: string }) {
    super(
      `The data set is not valid${line > 0 ? ` at line ${line}` : ''}: ${reason}. Publish a data set of dated JSON lines (id, date, asset, headline).`,
      { data: { line, reason } },
    )
  }
  get line(): number {
    return this.data?.['line'] as number
  }
  get reason(): string {
    return this.data?.['reason'] as string
  }
}
registerErrorClass('InvalidDatasetError', InvalidDatasetError)

/** A peer answered a data set request with bytes of another hash: it is refused (a peer can withhold, never substitute). */
export class DatasetHashMismatchError extends BaseError {
  override name = 'DatasetHashMismatchError' as const
  constructor({ requested, received, peer }: { requested: string; received: string; peer: string }) {
    super(`Peer ${peer} sent a data set of hash ${received} for ${requested}; it was refused. Ask another peer.`, {
      data: { requested, received, peer },
    })
  }
  get peer(): string {
    return this.data?.['peer'] as string
  }
}
registerErrorClass('DatasetHashMismatchError', DatasetHashMismatchError)

/** No peer asked (nor the local store) has the data set; the round cannot be answered by this node. */
export class DatasetUnavailableError extends BaseError {
  override name = 'DatasetUnavailableError' as const
  constructor({ hash, asked }: { hash: string; asked: number }, cause?: unknown) {
    super(
      `No source had the data set ${hash} (${asked} peers asked). Serve it from the requester's node or give it to this node.`,
      { data: { hash, asked }, cause },
    )
  }
  get hash(): string {
    return this.data?.['hash'] as string
  }
}
registerErrorClass('DatasetUnavailableError', DatasetUnavailableError)

/** A request's input cannot fill its template (see `templateValuesFromInput`). */
export class OracleInputError extends BaseError {
  override name = 'OracleInputError' as const
  constructor({ requestId, reason }: { requestId: string; reason: string }, cause?: unknown) {
    super(`Oracle request ${requestId} cannot be answered: ${reason}. The node does not answer it.`, {
      data: { requestId, reason },
      cause,
    })
  }
  get requestId(): string {
    return this.data?.['requestId'] as string
  }
  get reason(): string {
    return this.data?.['reason'] as string
  }
}
registerErrorClass('OracleInputError', OracleInputError)

/** A round's window holds no item for its asset: the node abstains, and if every node does the round is missed (refunded). */
export class EmptyRoundWindowError extends BaseError {
  override name = 'EmptyRoundWindowError' as const
  constructor({ asset, windowStart, windowEnd }: { asset: string; windowStart: string; windowEnd: string }) {
    super(
      `The data set has no item for ${asset} dated in [${windowStart}, ${windowEnd}); the node does not answer the round.`,
      { data: { asset, windowStart, windowEnd } },
    )
  }
}
registerErrorClass('EmptyRoundWindowError', EmptyRoundWindowError)

/** The node committed to a request but no longer has the value and salt (its store was lost): the commitment cannot be revealed. */
export class OracleSaltLostError extends BaseError {
  override name = 'OracleSaltLostError' as const
  constructor({ requestId }: { requestId: string }) {
    super(
      `The node committed to oracle request ${requestId} but has no stored salt for it: it cannot reveal. Keep the provider's store on durable storage.`,
      { data: { requestId } },
    )
  }
}
registerErrorClass('OracleSaltLostError', OracleSaltLostError)
