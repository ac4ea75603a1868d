/**
 * The requesting side of `/modelex/infer/1.0.0`: `infer(node, { peer, request })` returns an async iterable of
 * deltas; `result` settles with the `done` frame (usage, finish reason, receipt) and the `accepted` quote. Errors
 * are typed: `InferRequestError` (the node answered with an error code), `InferStreamError` (no stream, or it
 * ended or broke before the answer was complete, or went silent), `InferenceAbortedError` (our signal fired).
 * Aborting, or leaving the loop early, resets the stream, which cancels the generation on the node.
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
import { decodeResponse, encodeRequestFrame, INFER_PROTOCOL, MAX_FRAME_BYTES } from '../core/wire/infer.ts'
import { INFER_CLIENT_DEFAULTS } from './constants.ts'
import { connectToPeer } from './dial.ts'
import { readFrames, type FrameReader } from './frames.ts'
import { isRelayed, type ModelexNode } from './node.ts'

export type InferParameters = {
  peer: PeerId | string
  request: InferenceRequest
  payment?: JsonValue | null
  signal?: AbortSignal
  /** Give up when nothing arrives for this long. */
  idleTimeoutMs?: number
}

export type InferOutcome = {
  finish_reason: FinishReason
  usage: Usage
  receipt: JsonValue | null
  quote: JsonValue | null
  /** Whether the answer came over a relayed circuit rather than a direct (WebRTC or WebSocket) connection. */
  relayed: boolean
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

async function* run(node: ModelexNode, { peer, request, payment = null, signal, idleTimeoutMs = INFER_CLIENT_DEFAULTS.idleTimeoutMs }: InferParameters, resolve: (outcome: InferOutcome) => void): AsyncGenerator<Delta, void, undefined> {
  if (signal?.aborted) throw new InferenceAbortedError()
  let stream: Stream
  let relayed: boolean
  try {
    const connection = await connectToPeer(node, peer, signal ? { signal } : {})
    relayed = isRelayed(connection)
    stream = await connection.newStream(INFER_PROTOCOL, { runOnLimitedConnection: true, ...(signal ? { signal } : {}) })
  } catch (error) {
    if (signal?.aborted) throw new InferenceAbortedError(undefined)
    throw new InferStreamError({ reason: 'dial', details: error instanceof Error ? error.message : String(error), cause: error })
  }
  const reader: FrameReader = readFrames(stream, MAX_FRAME_BYTES)
  let complete = false
  let timedOut = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const arm = () => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      timedOut = true
      stream.abort(new Error('idle timeout'))
    }, idleTimeoutMs)
  }
  const onAbort = () => stream.abort(new Error('cancelled by the caller'))
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    stream.send(encodeRequestFrame({ type: 'request', v: 1, request, payment }))
    arm()
    let quote: JsonValue | null = null
    for (;;) {
      const frame = await reader.next()
      if (signal?.aborted) throw new InferenceAbortedError()
      if (!(frame instanceof Uint8Array)) {
        if (timedOut) throw new InferStreamError({ reason: 'timeout', details: `nothing from the node for ${idleTimeoutMs} ms` })
        if (frame.kind === 'invalid') throw new InferStreamError({ reason: 'protocol', details: frame.error.message, cause: frame.error })
        if (frame.kind === 'reset') throw new InferStreamError({ reason: 'reset', details: frame.error.message, cause: frame.error })
        throw new InferStreamError({ reason: 'closed', details: 'the stream ended without a done or error frame' })
      }
      arm()
      let message
      try {
        message = decodeResponse(frame)
      } catch (error) {
        if (error instanceof MalformedMessageError) throw new InferStreamError({ reason: 'protocol', details: error.details ?? error.message, cause: error })
        throw error
      }
      if (message.type === 'accepted') quote = message.quote
      else if (message.type === 'delta') yield { text: message.text, tokens: message.tokens }
      else if (message.type === 'error') {
        complete = true
        throw new InferRequestError(message)
      } else {
        complete = true
        resolve({ finish_reason: message.finish_reason, usage: message.usage, receipt: message.receipt, quote, relayed })
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
