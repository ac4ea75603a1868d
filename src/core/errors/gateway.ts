/**
 * Errors of the localhost OpenAI-compatible gateway and of pairing it with a browser node. Each carries the HTTP
 * status the gateway answers with (`status`) and an OpenAI-style error `type`, so clients written for OpenAI show
 * the message as it is.
 */
import { BaseError, registerErrorClass, type BaseErrorParameters } from './base.ts'

export type GatewayErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'service_unavailable'
  | 'upstream_error'
  | 'payment_required'

/**
 * OpenAI-style `code`s for failures a client may act on by kind: `spend_limit` (a node asks more than the gateway's
 * spend limits allow), `upstream_overrun` (a node sent more than max_tokens). Other errors use their name.
 */
export type GatewayErrorCode = 'spend_limit' | 'upstream_overrun'

export class GatewayError extends BaseError {
  override name: string = 'GatewayError'
  constructor(
    shortMessage: string,
    {
      status,
      type,
      code,
      ...rest
    }: BaseErrorParameters & { status: number; type: GatewayErrorType; code?: GatewayErrorCode | undefined },
  ) {
    super(shortMessage, { ...rest, data: { ...rest.data, status, type, ...(code ? { code } : {}) } })
  }
  get status(): number {
    return this.data?.['status'] as number
  }
  get type(): GatewayErrorType {
    return this.data?.['type'] as GatewayErrorType
  }
  /** The error body's `code`: a `GatewayErrorCode` where one applies, else the error's name. */
  get code(): string {
    return (this.data?.['code'] as GatewayErrorCode | undefined) ?? this.name
  }
}
registerErrorClass('GatewayError', GatewayError)

export class GatewayAuthError extends GatewayError {
  override name = 'GatewayAuthError' as const
  constructor() {
    super(
      'Missing or wrong bearer token. Use the token the gateway printed when it started (Authorization: Bearer <token>, or the API key setting of your editor).',
      { status: 401, type: 'authentication_error' },
    )
  }
}
registerErrorClass('GatewayAuthError', GatewayAuthError)

export class NodeNotPairedError extends GatewayError {
  override name = 'NodeNotPairedError' as const
  constructor(details?: string) {
    super(
      'No browser node is paired with this gateway. Open the app\'s Code view, load a coder model, and copy its pairing line: restart the gateway with --pair <peer id>:<token>, or POST {"peer","token"} to /modelex/pair.',
      { status: 503, type: 'service_unavailable', details },
    )
  }
}
registerErrorClass('NodeNotPairedError', NodeNotPairedError)

export class RequestTooLargeError extends GatewayError {
  override name = 'RequestTooLargeError' as const
  constructor({ limit }: { limit: number }) {
    super(`The request body is larger than ${limit} bytes. Send less context.`, {
      status: 413,
      type: 'invalid_request_error',
      data: { limit },
    })
  }
}
registerErrorClass('RequestTooLargeError', RequestTooLargeError)

export class InvalidGatewayRequestError extends GatewayError {
  override name = 'InvalidGatewayRequestError' as const
  constructor(details: string, cause?: unknown) {
    super('The request is not a valid OpenAI completion or chat completion body.', {
      status: 400,
      type: 'invalid_request_error',
      details,
      cause,
    })
  }
}
registerErrorClass('InvalidGatewayRequestError', InvalidGatewayRequestError)

export class UnknownRouteError extends GatewayError {
  override name = 'UnknownRouteError' as const
  constructor({ method, path }: { method: string; path: string }) {
    super(
      `No route ${method} ${path}. The gateway serves GET /v1/models, POST /v1/completions and POST /v1/chat/completions.`,
      { status: 404, type: 'not_found_error', data: { method, path } },
    )
  }
}
registerErrorClass('UnknownRouteError', UnknownRouteError)

export class ModelNotServedError extends GatewayError {
  override name = 'ModelNotServedError' as const
  constructor({ requested, served }: { requested: string; served: string }) {
    super(`The paired node serves ${served}, not ${requested}. Use the model id from GET /v1/models.`, {
      status: 404,
      type: 'not_found_error',
      data: { requested, served },
    })
  }
}
registerErrorClass('ModelNotServedError', ModelNotServedError)

/** The browser node refused or failed the request, or could not be reached. */
export class UpstreamNodeError extends GatewayError {
  override name = 'UpstreamNodeError' as const
  constructor({
    peer,
    details,
    cause,
    status = 502,
    code,
  }: {
    peer: string
    details?: string
    cause?: unknown
    status?: number
    code?: GatewayErrorCode
  }) {
    super(
      `The paired browser node ${peer} could not answer. Keep its tab open with a model loaded; it reconnects on its own.`,
      { status, type: 'upstream_error', code, details, cause, data: { peer } },
    )
  }
}
registerErrorClass('UpstreamNodeError', UpstreamNodeError)

/** Pairing failed: the token is wrong, or the node could not be reached. */
export class PairingError extends GatewayError {
  override name = 'PairingError' as const
  constructor({
    peer,
    reason,
    details,
    cause,
  }: {
    peer: string
    reason: 'bad-token' | 'unreachable' | 'protocol'
    details?: string
    cause?: unknown
  }) {
    const messages = {
      'bad-token':
        'The browser node refused the pairing token. Copy the pairing line again from the Code view (its token changes when you make a new one there).',
      unreachable:
        'The browser node could not be reached through the relay. Keep its tab open and check that it shows "connected".',
      protocol: 'The browser node answered the pairing request with something unexpected.',
    }
    super(messages[reason], {
      status: reason === 'bad-token' ? 401 : 502,
      type: reason === 'bad-token' ? 'authentication_error' : 'upstream_error',
      details,
      cause,
      data: { peer, reason },
    })
  }
  get reason(): 'bad-token' | 'unreachable' | 'protocol' {
    return this.data?.['reason'] as 'bad-token' | 'unreachable' | 'protocol'
  }
}
registerErrorClass('PairingError', PairingError)

/** The paid network route was asked for, but the gateway has no wallet or no deployment to pay with. */
export class NetworkRouteUnavailableError extends GatewayError {
  override name = 'NetworkRouteUnavailableError' as const
  constructor(details?: string) {
    super(
      "Paid routing to network nodes needs a deployment and a wallet: start the gateway with MODELEX_WALLET_KEY=0x… (or --wallet-key-file <file>) and --deployment <file> (default: the local stack's, where a funded devnet wallet is made for you).",
      { status: 503, type: 'service_unavailable', details },
    )
  }
}
registerErrorClass('NetworkRouteUnavailableError', NetworkRouteUnavailableError)

/**
 * A paid request to a network node failed: no node serves the model, the wallet cannot pay, the node's quote or
 * receipt did not check out, or the node stopped mid-answer. `reason` is the name of the underlying error.
 */
export class PaidRouteError extends GatewayError {
  override name = 'PaidRouteError' as const
  constructor({
    reason,
    status,
    code,
    details,
    cause,
  }: {
    reason: string
    status: number
    code?: GatewayErrorCode | undefined
    details?: string
    cause?: unknown
  }) {
    const type: GatewayErrorType =
      status === 402
        ? 'payment_required'
        : status === 503
          ? 'service_unavailable'
          : status === 400
            ? 'invalid_request_error'
            : status === 404
              ? 'not_found_error'
              : 'upstream_error'
    super(`The paid request to the network failed (${reason}).`, {
      status,
      type,
      code,
      details,
      cause,
      data: { reason },
    })
  }
  get reason(): string {
    return this.data?.['reason'] as string
  }
}
registerErrorClass('PaidRouteError', PaidRouteError)

/** A command-line option or its environment variable has a value the gateway cannot use; it does not start. */
export class GatewayOptionError extends BaseError {
  override name = 'GatewayOptionError' as const
  /** `value` is left out of the message for secrets (the token, a pairing line). */
  constructor({ option, expected, value }: { option: string; expected: string; value?: string }) {
    super(
      `${option} must be ${expected}${value === undefined ? '' : `, got ${JSON.stringify(value)}`}. Run \`npm run gateway -- --help\` for the options.`,
      { data: { option, expected } },
    )
  }
  get option(): string {
    return this.data?.['option'] as string
  }
}
registerErrorClass('GatewayOptionError', GatewayOptionError)
