/**
 * The serving side of `/modelex/infer/1.0.0`: takes an `InferenceEngine` and answers requests from peers, within
 * limits — request size (256 KiB) and frame size (64 KiB), streams per peer, a per-peer rate, a cap on
 * max_tokens, a bounded queue in front of the engine's capacity, and timeouts for the request, the queue and idle
 * streams. A payment hook decides whether a request is paid for (`src/node/` checks vouchers) and a
 * receipt hook fills the `done` frame's receipt.
 *
 * Closing the stream (either half, or a reset) before `done` cancels the generation. The final frame is
 * followed by a graceful close of our side, so it reaches the client before the stream ends.
 */
import type { Connection, Stream } from '@libp2p/interface'
import type { JsonValue } from '../core/errors/base.ts'
import { FrameTooLargeError, type InferErrorCode } from '../core/errors/p2p.ts'
import { runInference, type Delta, type InferenceEngine, type InferenceRequest, type InferenceResult, type LoadedModel } from '../core/inference.ts'
import { RateLimiter } from '../core/rate-limit.ts'
import { decodeRequest, encodeResponseFrame, INFER_PROTOCOL, MAX_FRAME_BYTES, MAX_REQUEST_BYTES, type InferResponseMessage } from '../core/wire/infer.ts'
import { INFER_SERVER_DEFAULTS } from './constants.ts'
import { readFrames, sendFrame } from './frames.ts'
import type { ModelexLibp2p } from './node.ts'

export type PaymentContext = { peer: string; request: InferenceRequest; payment: JsonValue | null; model: LoadedModel }
/** A refusal may carry the quote (PAYMENT_REQUIRED with a price: how a consumer asks a node for a quote). */
export type PaymentDecision = { ok: true; quote: JsonValue | null } | { ok: false; message: string; quote?: JsonValue }
export type PaymentPolicy = (context: PaymentContext) => Promise<PaymentDecision>
export type ReceiptHook = (context: PaymentContext & { result: InferenceResult }) => Promise<JsonValue | null>
/** Called once for every request the policy accepted, after it ended in any way (done, cancelled, failed). */
export type ReleaseHook = (context: PaymentContext) => void

/** Until payments exist every request is served, with no quote. */
export const acceptEveryRequest: PaymentPolicy = async () => ({ ok: true, quote: null })

export type InferServerLimits = { -readonly [K in keyof typeof INFER_SERVER_DEFAULTS]: number }

export type InferServerOptions = {
  engine: InferenceEngine
  policy?: PaymentPolicy
  receipt?: ReceiptHook
  release?: ReleaseHook
  limits?: Partial<InferServerLimits>
  now?: () => number
}

export type InferServerStats = { capacity: number; active: number; queued: number; served: number; refused: Record<InferErrorCode, number>; cancelled: number }

export type InferServer = {
  start(): Promise<void>
  stop(): Promise<void>
  stats(): InferServerStats
  /** Fires when active or queued counts change (the announcer re-announces on change). */
  onLoadChange(listener: () => void): () => void
}

class Refusal extends Error {
  constructor(
    readonly code: InferErrorCode,
    message: string,
    readonly retryAfterMs?: number,
    readonly quote?: JsonValue,
  ) {
    super(message)
  }
}

export function createInferServer(libp2p: ModelexLibp2p, { engine, policy = acceptEveryRequest, receipt = async () => null, release = () => {}, limits = {}, now = () => performance.now() }: InferServerOptions): InferServer {
  const config: InferServerLimits = { ...INFER_SERVER_DEFAULTS, ...limits }
  const rate = new RateLimiter({ perSecond: config.ratePerSecond, burst: config.rateBurst })
  const perPeer = new Map<string, number>()
  const waiting: (() => void)[] = []
  const inFlight = new Set<AbortController>()
  const loadListeners = new Set<() => void>()
  const stats: InferServerStats = { capacity: config.capacity, active: 0, queued: 0, served: 0, cancelled: 0, refused: { BAD_REQUEST: 0, UNSUPPORTED_MODEL: 0, BUSY: 0, PAYMENT_REQUIRED: 0, TIMEOUT: 0, INTERNAL: 0 } }
  const loadChanged = () => {
    for (const listener of loadListeners) listener()
  }

  async function acquireSlot(signal: AbortSignal): Promise<() => void> {
    if (stats.active >= config.capacity) {
      if (stats.queued >= config.maxQueue) throw new Refusal('BUSY', `all ${config.capacity} slots are busy and ${stats.queued} requests wait`, config.busyRetryAfterMs)
      stats.queued++
      loadChanged()
      try {
        await new Promise<void>((resolve, reject) => {
          const go = () => {
            clearTimeout(timer)
            signal.removeEventListener('abort', abandon)
            resolve()
          }
          const abandon = () => {
            clearTimeout(timer)
            const at = waiting.indexOf(go)
            if (at !== -1) waiting.splice(at, 1)
            reject(signal.aborted ? signal.reason : new Refusal('TIMEOUT', `no free slot within ${config.queueTimeoutMs} ms`))
          }
          const timer = setTimeout(abandon, config.queueTimeoutMs)
          signal.addEventListener('abort', abandon, { once: true })
          waiting.push(go)
        })
      } finally {
        stats.queued--
      }
    }
    stats.active++
    loadChanged()
    let released = false
    return () => {
      if (released) return
      released = true
      stats.active--
      waiting.shift()?.()
      loadChanged()
    }
  }

  async function handle(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const cancel = new AbortController()
    inFlight.add(cancel)
    const reader = readFrames(stream, MAX_REQUEST_BYTES)
    let finished = false
    const onGone = () => {
      if (!finished) cancel.abort(new Error('the client closed the stream'))
    }
    stream.addEventListener('close', onGone)
    stream.addEventListener('remoteCloseWrite', onGone)
    stream.inactivityTimeout = config.idleTimeoutMs
    perPeer.set(peer, (perPeer.get(peer) ?? 0) + 1)
    let releaseSlot: (() => void) | undefined
    let accepted: PaymentContext | undefined

    const send = (message: InferResponseMessage) => sendFrame(stream, encodeResponseFrame(message), cancel.signal)
    const finish = async (message: InferResponseMessage) => {
      finished = true
      if (stream.status !== 'open' || stream.writeStatus !== 'writable') return
      await send(message)
      // A graceful close: waits for the bytes to leave, so the final frame is not lost to a fast close.
      await stream.close({ signal: AbortSignal.timeout(5_000) })
    }

    try {
      if ((perPeer.get(peer) ?? 0) > config.maxStreamsPerPeer) throw new Refusal('BUSY', `at most ${config.maxStreamsPerPeer} streams per peer`, config.busyRetryAfterMs)
      const allowed = rate.take(peer, now())
      if (!allowed.ok) throw new Refusal('BUSY', 'too many requests from this peer', allowed.retryAfterMs)

      const waited = new AbortController()
      const first = await Promise.race([reader.next(), sleep(config.requestTimeoutMs, waited.signal).then(() => (waited.signal.aborted ? 'settled' : ('timeout' as const)))])
      waited.abort()
      if (first === 'timeout' || first === 'settled') throw new Refusal('TIMEOUT', `no request within ${config.requestTimeoutMs} ms`)
      if (!(first instanceof Uint8Array)) {
        if (first.kind === 'invalid') throw new Refusal('BAD_REQUEST', first.error instanceof FrameTooLargeError ? `request larger than ${MAX_REQUEST_BYTES} bytes` : first.error.message)
        return // The client went away before asking anything.
      }
      let message
      try {
        message = decodeRequest(first)
      } catch (error) {
        throw new Refusal('BAD_REQUEST', (error as Error).message)
      }
      const { request, payment } = message
      const model = await engine.current()
      if (!model || model.id !== request.model) throw new Refusal('UNSUPPORTED_MODEL', `this node serves ${model ? model.id : 'no model'}, not ${request.model}`)
      if ((request.max_tokens ?? 0) > config.maxTokens) throw new Refusal('BAD_REQUEST', `max_tokens above this node's cap of ${config.maxTokens}`)
      const context: PaymentContext = { peer, request, payment, model }
      const decision = await policy(context)
      if (!decision.ok) throw new Refusal('PAYMENT_REQUIRED', decision.message, undefined, decision.quote)
      accepted = context

      releaseSlot = await acquireSlot(cancel.signal)
      await send({ type: 'accepted', model: model.id, quote: decision.quote })

      // Deltas are merged until the next microtask, so a token-by-token engine sends each token at once while
      // a burst (an engine that yields many tokens without waiting) goes out as few frames; while the stream's
      // buffer is full they keep merging and go out on drain.
      let pending: Delta | null = null
      let flushing = false
      let scheduled = false
      const flush = async () => {
        if (flushing) return
        flushing = true
        try {
          while (pending && !cancel.signal.aborted) {
            if (stream.writableNeedsDrain) await stream.onDrain({ signal: cancel.signal })
            const piece = takePiece(pending)
            pending = piece.rest
            stream.send(encodeResponseFrame({ type: 'delta', text: piece.delta.text, tokens: piece.delta.tokens }))
          }
        } catch {
          // The stream went away: the generation is cancelled through `onGone`.
        } finally {
          flushing = false
        }
      }
      let flushed: Promise<void> = Promise.resolve()
      const onDelta = (delta: Delta) => {
        pending = pending ? { text: pending.text + delta.text, tokens: pending.tokens + delta.tokens } : delta
        if (flushing || scheduled) return
        scheduled = true
        queueMicrotask(() => {
          scheduled = false
          flushed = flush()
        })
      }
      const result = await runInference(engine, request, { signal: cancel.signal, onDelta })
      await Promise.resolve()
      await flushed
      if (pending) await flush()
      if (cancel.signal.aborted || result.finish_reason === 'abort') {
        stats.cancelled++
        return
      }
      const receiptValue = await receipt({ ...context, result })
      stats.served++
      await finish({ type: 'done', finish_reason: result.finish_reason, usage: result.usage, receipt: receiptValue })
    } catch (error) {
      if (cancel.signal.aborted) {
        stats.cancelled++
        return
      }
      const refusal = error instanceof Refusal ? error : toRefusal(error)
      stats.refused[refusal.code]++
      const frame: InferResponseMessage = { type: 'error', code: refusal.code, message: refusal.message }
      if (refusal.retryAfterMs !== undefined) frame.retryAfterMs = refusal.retryAfterMs
      if (refusal.quote !== undefined) frame.quote = refusal.quote
      await finish(frame).catch(() => {})
    } finally {
      finished = true
      releaseSlot?.()
      if (accepted) release(accepted)
      reader.dispose()
      stream.removeEventListener('close', onGone)
      stream.removeEventListener('remoteCloseWrite', onGone)
      inFlight.delete(cancel)
      const count = (perPeer.get(peer) ?? 1) - 1
      if (count <= 0) perPeer.delete(peer)
      else perPeer.set(peer, count)
      if (cancel.signal.aborted && stream.status === 'open') stream.abort(new Error('cancelled'))
    }
  }

  return {
    async start() {
      await libp2p.handle(
        INFER_PROTOCOL,
        (stream, connection) => {
          handle(stream, connection).catch((error: unknown) => {
            // Every path above answers or aborts; this is the last guard against an unhandled rejection.
            stream.abort(error instanceof Error ? error : new Error(String(error)))
          })
        },
        { maxInboundStreams: config.maxInboundStreams, maxOutboundStreams: config.maxInboundStreams, runOnLimitedConnection: true },
      )
    },
    async stop() {
      await libp2p.unhandle(INFER_PROTOCOL)
      for (const controller of inFlight) controller.abort(new Error('the node is stopping'))
    },
    stats: () => ({ ...stats, refused: { ...stats.refused } }),
    onLoadChange(listener) {
      loadListeners.add(listener)
      return () => loadListeners.delete(listener)
    },
  }
}

/** Splits merged output into frames that stay under the frame limit (UTF-8 may take 3 bytes per UTF-16 unit). */
const MAX_DELTA_CHARS = Math.floor((MAX_FRAME_BYTES - 256) / 3)
function takePiece(delta: Delta): { delta: Delta; rest: Delta | null } {
  if (delta.text.length <= MAX_DELTA_CHARS) return { delta, rest: null }
  let cut = MAX_DELTA_CHARS
  // Do not split a surrogate pair.
  const code = delta.text.charCodeAt(cut - 1)
  if (code >= 0xd800 && code <= 0xdbff) cut--
  const share = Math.round((delta.tokens * cut) / delta.text.length)
  return { delta: { text: delta.text.slice(0, cut), tokens: share }, rest: { text: delta.text.slice(cut), tokens: delta.tokens - share } }
}

function toRefusal(error: unknown): Refusal {
  const name = error instanceof Error ? error.name : ''
  const message = error instanceof Error ? error.message : String(error)
  if (name === 'InvalidInferenceRequestError') return new Refusal('BAD_REQUEST', message)
  if (name === 'ModelMismatchError' || name === 'ModelNotLoadedError') return new Refusal('UNSUPPORTED_MODEL', message)
  return new Refusal('INTERNAL', message.split('\n')[0] ?? 'internal error')
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })
}
