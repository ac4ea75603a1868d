/**
 * The requesting side of `/modelex/infer/1.0.0`: `infer(node, { peer, request })` returns an async iterable of
 * deltas; `result` settles with the `done` frame (usage, finish reason, receipt) and the `accepted` quote. Errors
 * are typed: `InferRequestError` (the node answered with an error code), `InferStreamError` (no stream, or it
 * ended or broke before the answer was complete, or went silent), `InferenceAbortedError` (our signal fired).
 * Our write side stays open after the request (a client that closes it is served too, but can then only cancel by
 * a reset). Aborting the signal sends a `cancel` frame and waits briefly for the node's `done` (finish reason
 * `abort`, with the receipt of what was sent; deltas that cross the cancel are still yielded, since they are
 * billed), which then resolves `result` while the iteration throws `InferenceAbortedError`; leaving the loop early
 * resets the stream.
 * `askQuote` sends a quote-only request and returns the node's quote.
 *
 * @example
 * const call = infer(node, { peer, request: { kind: 'chat', model, messages }, signal })
 * for await (const delta of call) output += delta.text
 * const { usage } = await call.result
 */
import type { PeerId, Stream } from '@libp2p/interface'
import type { JsonValue } from '../core/errors/base.ts'
import { InferenceAbortedError } from '../core/errors/engine.ts'
import { InferRequestError, InferStreamError, MalformedMessageError } from '../core/errors/p2p.ts'
import type { Delta, FinishReason, InferenceRequest, Usage } from '../core/inference.ts'
import {
  decodeResponse,
  encodeCancelFrame,
  encodeRequestFrame,
  MAX_FRAME_BYTES,
  type InferResponseMessage,
} from '../core/wire/infer.ts'
import { INFER_CLIENT_DEFAULTS } from './constants.ts'
import { readFrames, type FrameReader } from './frames.ts'
import type { ModelexNode } from './node.ts'
import { takeInferStream } from './warm.ts'

export type InferParameters = {
  peer: PeerId | string
  request: InferenceRequest
  payment?: JsonValue | null
  signal?: AbortSignal
  /** Give up when nothing arrives for this long. */
  idleTimeoutMs?: number
  /** After our signal fires, how long to wait for the node's `done` to the cancel before resetting. */
  cancelGraceMs?: number
}

export type InferOutcome = {
  finish_reason: FinishReason
  usage: Usage
  receipt: JsonValue | null
  quote: JsonValue | null
  /** Whether the answer came over a relayed circuit rather than a direct (WebRTC or WebSocket) connection. */
  relayed: boolean
  /**
   * Whether the request went out on a stream opened ahead of it (the node was kept warm, `warmUp`) rather than one
   * opened for it, which costs a protocol negotiation round trip first (like Node's `request.reusedSocket`).
   */
  warm: boolean
}

export type InferCall = AsyncIterable<Delta> & { result: Promise<InferOutcome> }

export function infer(node: ModelexNode, parameters: InferParameters): InferCall {
  let resolveResult!: (outcome: InferOutcome) => void
  let rejectResult!: (error: unknown) => void
  const result = new Promise<InferOutcome>((resolve, reject) => {
    resolveResult = resolve
    rejectResult = reject
  })
  // Callers that only iterate must not see an unhandled rejection from `result`.
  result.catch(() => {})
  let started = false
  return {
    result,
    [Symbol.asyncIterator]() {
      if (started) throw new Error('An infer call can be iterated once.')
      started = true
      const iterator = run(node, parameters, resolveResult)
      return {
        async next() {
          try {
            return await iterator.next()
          } catch (error) {
            rejectResult(error)
            throw error
          }
        },
        async return() {
          const done = await iterator.return(undefined)
          rejectResult(new InferenceAbortedError('the caller stopped reading'))
          return done
        },
      }
    },
  }
}

async function* run(
  node: ModelexNode,
  {
    peer,
    request,
    payment = null,
    signal,
    idleTimeoutMs = INFER_CLIENT_DEFAULTS.idleTimeoutMs,
    cancelGraceMs = INFER_CLIENT_DEFAULTS.cancelGraceMs,
  }: InferParameters,
  resolve: (outcome: InferOutcome) => void,
): AsyncGenerator<Delta, void, undefined> {
  if (signal?.aborted) throw new InferenceAbortedError()
  const { stream, relayed, warm } = await openStream(node, peer, signal)
  // Cancelled while the stream was opening: the request never goes out (a listener added to an aborted signal would
  // never fire, so the node would serve, and hold the payment for, a request nobody reads).
  if (signal?.aborted) {
    stream.abort(new Error('cancelled before the request was sent'))
    throw new InferenceAbortedError()
  }
  // The request goes out first: nothing can arrive before it, and the rest of the set-up is not on its path.
  try {
    stream.send(encodeRequestFrame({ type: 'request', v: 1, request, payment }))
  } catch (error) {
    stream.abort(error instanceof Error ? error : new Error(String(error)))
    throw error
  }
  const reader: FrameReader = readFrames(stream, MAX_FRAME_BYTES)
  let complete = false
  let cancelling = false
  let timedOut = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const arm = (ms = idleTimeoutMs) => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      timedOut = true
      stream.abort(new Error('idle timeout'))
    }, ms)
  }
  // A cancel asks the node to stop and settle what it sent; a node that does not answer soon is reset.
  const onAbort = () => {
    cancelling = true
    try {
      stream.send(encodeCancelFrame())
      arm(cancelGraceMs)
    } catch {
      stream.abort(new Error('cancelled by the caller'))
    }
  }
  try {
    signal?.addEventListener('abort', onAbort, { once: true })
    arm()
    let quote: JsonValue | null = null
    for (;;) {
      const frame = await reader.next()
      if (!(frame instanceof Uint8Array)) {
        if (cancelling) throw new InferenceAbortedError(timedOut ? 'the node did not answer the cancel' : undefined)
        if (timedOut)
          throw new InferStreamError({ reason: 'timeout', details: `nothing from the node for ${idleTimeoutMs} ms` })
        if (frame.kind === 'invalid')
          throw new InferStreamError({ reason: 'protocol', details: frame.error.message, cause: frame.error })
        if (frame.kind === 'reset')
          throw new InferStreamError({ reason: 'reset', details: frame.error.message, cause: frame.error })
        throw new InferStreamError({ reason: 'closed', details: 'the stream ended without a done or error frame' })
      }
      if (!cancelling) arm()
      const message = decode(frame)
      if (message.type === 'accepted') quote = message.quote
      // Deltas that cross our cancel are still part of the answer (the node bills what it sent), so they are read.
      else if (message.type === 'delta') yield { text: message.text, tokens: message.tokens }
      else if (message.type === 'error') {
        complete = true
        if (cancelling) throw new InferenceAbortedError()
        throw new InferRequestError(message)
      } else if (message.type === 'quote') {
        throw new InferStreamError({
          reason: 'protocol',
          details: 'a quote frame answered a request that was not quote-only',
        })
      } else {
        complete = true
        resolve({
          finish_reason: message.finish_reason,
          usage: message.usage,
          receipt: message.receipt,
          quote,
          relayed,
          warm,
        })
        if (cancelling) throw new InferenceAbortedError()
        return
      }
    }
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
    reader.dispose()
    // After the final frame we close our half gracefully; in any other case the reset tells the node to stop.
    if (complete) stream.close().catch(() => {})
    else stream.abort(new Error('request abandoned'))
  }
}

/** Asks a node what `request` would cost (a quote-only request): the quote as the node sent it, not yet checked. */
export async function askQuote(
  node: ModelexNode,
  {
    peer,
    request,
    signal,
    idleTimeoutMs = INFER_CLIENT_DEFAULTS.idleTimeoutMs,
  }: Omit<InferParameters, 'payment' | 'cancelGraceMs'>,
): Promise<JsonValue> {
  if (signal?.aborted) throw new InferenceAbortedError()
  // The paid request usually follows at once: the next warm spare opens now, not after this stream has closed.
  const { stream } = await openStream(node, peer, signal, { replaceAtOnce: true })
  const reader = readFrames(stream, MAX_FRAME_BYTES)
  const timer = setTimeout(() => stream.abort(new Error('idle timeout')), idleTimeoutMs)
  const onAbort = () => stream.abort(new Error('cancelled by the caller'))
  signal?.addEventListener('abort', onAbort, { once: true })
  let complete = false
  try {
    stream.send(encodeRequestFrame({ type: 'request', v: 1, request, payment: null, quoteOnly: true }))
    const frame = await reader.next()
    if (signal?.aborted) throw new InferenceAbortedError()
    if (!(frame instanceof Uint8Array))
      throw new InferStreamError({
        reason: frame.kind === 'reset' ? 'reset' : frame.kind === 'invalid' ? 'protocol' : 'closed',
        details: 'no quote from the node',
      })
    const message = decode(frame)
    complete = true
    if (message.type === 'quote') return message.quote
    if (message.type === 'error') throw new InferRequestError(message)
    throw new InferStreamError({ reason: 'protocol', details: `a ${message.type} frame answered a quote-only request` })
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
    reader.dispose()
    if (complete) stream.close().catch(() => {})
    else stream.abort(new Error('request abandoned'))
  }
}

async function openStream(
  node: ModelexNode,
  peer: PeerId | string,
  signal: AbortSignal | undefined,
  options?: { replaceAtOnce?: boolean },
): Promise<{ stream: Stream; relayed: boolean; warm: boolean }> {
  try {
    // A node kept warm (`warmUp`) has a negotiated stream waiting: the request goes out without a round trip first.
    return await takeInferStream(node, peer, signal, options)
  } catch (error) {
    if (signal?.aborted) throw new InferenceAbortedError(undefined)
    throw new InferStreamError({
      reason: 'dial',
      details: error instanceof Error ? error.message : String(error),
      cause: error,
    })
  }
}

function decode(frame: Uint8Array): InferResponseMessage {
  try {
    return decodeResponse(frame)
  } catch (error) {
    if (error instanceof MalformedMessageError)
      throw new InferStreamError({ reason: 'protocol', details: error.details ?? error.message, cause: error })
    throw error
  }
}
