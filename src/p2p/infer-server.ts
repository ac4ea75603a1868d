/**
 * The serving side of `/modelex/infer/1.0.0`: takes an `InferenceEngine` and answers requests from peers, within
 * limits — request size (256 KiB) and frame size (64 KiB), streams per peer, a per-peer rate, a separate small
 * budget for quotes (per peer and at once), a cap on max_tokens, a bounded queue in front of the engine's capacity,
 * and timeouts for the request, the queue and idle streams.
 *
 * A `PaymentPolicy` decides: `quote` prices a quote-only request, `admit` turns a request into an `Admission`
 * (or refuses it with `PaymentRefusedError`), and the admission later `settle`s what was served into the `done`
 * frame's receipt, or is `release`d when nothing is owed. A client may close its write side after its request;
 * a `cancel` frame or a reset stops the generation. On a cancel the node settles the tokens it already sent, at
 * once rather than when its engine stops (which may be seconds later, at a prefill batch boundary), so the receipt
 * reaches a client that waits for it and the reservation does not outlive the request; the slot stays taken until
 * the engine has stopped. A reset client never sees that receipt (the node's next refusal carries it), so stopping
 * just before `done` is not a way to be served for free. The final frame is followed by a graceful close of our side.
 */
import type { Connection, Stream } from '@libp2p/interface'
import type { JsonValue } from '../core/errors/base.ts'
import { PaymentRefusedError } from '../core/errors/payments.ts'
import { FrameTooLargeError, type InferErrorCode } from '../core/errors/p2p.ts'
import {
  isDeterministic,
  runInference,
  type Delta,
  type InferenceEngine,
  type InferenceRequest,
  type InferenceResult,
  type LoadedModel,
} from '../core/inference.ts'
import { peerCacheOwner } from '../core/prefix-cache.ts'
import { RateLimiter } from '../core/rate-limit.ts'
import {
  decodeClientFrame,
  decodeRequest,
  encodeResponseFrame,
  INFER_PROTOCOL,
  MAX_FRAME_BYTES,
  MAX_REQUEST_BYTES,
  type InferResponseMessage,
} from '../core/wire/infer.ts'
import { INFER_SERVER_DEFAULTS } from './constants.ts'
import { readFrames, sendFrame, type FrameReader, type StreamEnd } from './frames.ts'
import type { ModelexLibp2p } from './node.ts'

export type PaymentContext = { peer: string; request: InferenceRequest; payment: JsonValue | null; model: LoadedModel }

/** An admitted request's money: its quote for the `accepted` frame, then exactly one of `settle` or `release`. */
export type Admission = {
  quote: JsonValue | null
  /** Bills what was served (the whole answer, or on a cancel what was sent) and returns the receipt for `done`. */
  settle(result: InferenceResult): Promise<JsonValue | null>
  /** Nothing is owed: the request failed, or was cancelled before any output. */
  release(): void
}

export type PaymentPolicy = {
  /** Admits a request or throws `PaymentRefusedError` (PAYMENT_REQUIRED); any other error answers INTERNAL. */
  admit(context: PaymentContext): Promise<Admission>
  /** Prices a quote-only request; without it such requests are refused. */
  quote?(context: PaymentContext): Promise<JsonValue>
}

const FREE: Admission = { quote: null, settle: async () => null, release() {} }

/** Serves every request, unpaid and without a quote (tests, and nodes that serve only themselves). */
export const servesEveryRequest: PaymentPolicy = { admit: async () => FREE }

/** A policy that admits what `allow` says, free of charge, and refuses the rest with `message`. */
export function admitIf(allow: (context: PaymentContext) => boolean, message: string): PaymentPolicy {
  return {
    admit: async (context) => {
      if (!allow(context)) throw new PaymentRefusedError({ details: message })
      return FREE
    },
  }
}

/**
 * Several policies in order, for a node that serves more than one kind of peer (its paired gateways free, everyone
 * else for pay): the first that admits a request wins; when all refuse, the last refusal (with its quote) is the
 * answer. Quotes come from the first policy that gives them.
 */
export function chainPolicies(...policies: PaymentPolicy[]): PaymentPolicy {
  const pricing = policies.find((p) => p.quote)
  return {
    async admit(context) {
      let refusal: unknown = new PaymentRefusedError({ details: 'no policy admits this request' })
      for (const policy of policies) {
        try {
          return await policy.admit(context)
        } catch (error) {
          if (!(error instanceof PaymentRefusedError)) throw error
          refusal = error
        }
      }
      throw refusal
    },
    ...(pricing?.quote ? { quote: pricing.quote.bind(pricing) } : {}),
  }
}

/**
 * A policy that only looks at requests for the model `engine` has loaded and refuses the rest, so a node that serves
 * several engines from one server (a provider's, and a tab's shared with its gateway) bills only the one it prices.
 */
export function forModelOf(engine: InferenceEngine, policy: PaymentPolicy): PaymentPolicy {
  const check = async ({ model }: PaymentContext) => {
    const loaded = await engine.current()
    if (loaded?.id !== model.id)
      throw new PaymentRefusedError({
        details: `this node takes payment only for ${loaded ? loaded.id : 'no model'}, not ${model.id}`,
      })
  }
  const { quote } = policy
  return {
    async admit(context) {
      await check(context)
      return policy.admit(context)
    },
    ...(quote
      ? {
          async quote(context: PaymentContext) {
            await check(context)
            return quote.call(policy, context)
          },
        }
      : {}),
  }
}

export type InferServerLimits = { -readonly [K in keyof typeof INFER_SERVER_DEFAULTS]: number }

/** The engines a server answers from: each request goes to the one whose loaded model it names. */
export type ServedEngines = () => Iterable<InferenceEngine>

export type InferServerSettings = {
  policy?: PaymentPolicy
  limits?: Partial<InferServerLimits>
  now?: () => number
}

/** One engine, or a changing set of them (`engines`, read at each request: a peer's engine slot). */
export type InferServerOptions = InferServerSettings &
  ({ engine: InferenceEngine; engines?: never } | { engines: ServedEngines; engine?: never })

export type InferServerStats = {
  capacity: number
  active: number
  queued: number
  served: number
  quoted: number
  refused: Record<InferErrorCode, number>
  cancelled: number
}

export type InferServer = {
  start(): Promise<void>
  stop(): Promise<void>
  stats(): InferServerStats
  /** Fires when active or queued counts change (the announcer re-announces on change). */
  onLoadChange(listener: () => void): () => void
  /** Cancels the requests `engine` is answering (it stops being served; the server keeps running). */
  cancelServedBy(engine: InferenceEngine): void
}

class Refusal extends Error {
  constructor(
    readonly code: InferErrorCode,
    message: string,
    readonly retryAfterMs?: number,
    readonly quote?: JsonValue,
    readonly settlement?: JsonValue,
  ) {
    super(message)
  }
}

export function createInferServer(libp2p: ModelexLibp2p, options: InferServerOptions): InferServer {
  const { policy = servesEveryRequest, limits = {}, now = () => performance.now() } = options
  const only = options.engine
  const served: ServedEngines = options.engines ?? (() => (only ? [only] : []))
  const config: InferServerLimits = { ...INFER_SERVER_DEFAULTS, ...limits }
  const rate = new RateLimiter({ perSecond: config.ratePerSecond, burst: config.rateBurst })
  const quoteRate = new RateLimiter({ perSecond: config.quoteRatePerSecond, burst: config.quoteBurst })
  let quoting = 0
  const perPeer = new Map<string, number>()
  const waiting: (() => void)[] = []
  /** Each request in flight and the engine answering it (null until one is chosen). */
  const inFlight = new Map<AbortController, InferenceEngine | null>()
  const loadListeners = new Set<() => void>()
  const stats: InferServerStats = {
    capacity: config.capacity,
    active: 0,
    queued: 0,
    served: 0,
    quoted: 0,
    cancelled: 0,
    refused: { BAD_REQUEST: 0, UNSUPPORTED_MODEL: 0, BUSY: 0, PAYMENT_REQUIRED: 0, TIMEOUT: 0, INTERNAL: 0 },
  }
  const loadChanged = () => {
    for (const listener of loadListeners) listener()
  }

  async function acquireSlot(signal: AbortSignal): Promise<() => void> {
    // Cancelled while it was being admitted: an 'abort' listener added now would never fire, and the request would
    // wait for a slot (holding its payment in reserve) until one freed.
    if (signal.aborted) throw signal.reason
    if (stats.active >= config.capacity) {
      if (stats.queued >= config.maxQueue)
        throw new Refusal(
          'BUSY',
          `all ${config.capacity} slots are busy and ${stats.queued} requests wait`,
          config.busyRetryAfterMs,
        )
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
            reject(
              signal.aborted
                ? signal.reason
                : new Refusal('TIMEOUT', `no free slot within ${config.queueTimeoutMs} ms`),
            )
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

  /** The served engine whose loaded model is `id`, or UNSUPPORTED_MODEL naming what is served. */
  async function engineFor(id: string): Promise<{ engine: InferenceEngine; model: LoadedModel }> {
    const loaded: string[] = []
    for (const engine of served()) {
      const model = await engine.current()
      if (model?.id === id) return { engine, model }
      if (model) loaded.push(model.id)
    }
    throw new Refusal(
      'UNSUPPORTED_MODEL',
      `this node serves ${loaded.length > 0 ? loaded.join(', ') : 'no model'}, not ${id}`,
    )
  }

  /** Prices a quote-only request within the quote budget: a few per peer per second, a few at once overall. */
  async function quoteOnly(context: PaymentContext): Promise<JsonValue> {
    if (!policy.quote) throw new Refusal('BAD_REQUEST', 'this node does not give quotes')
    const allowed = quoteRate.take(context.peer, now())
    if (!allowed.ok) throw new Refusal('BUSY', 'too many quotes from this peer', allowed.retryAfterMs)
    if (quoting >= config.maxConcurrentQuotes)
      throw new Refusal('BUSY', 'too many quotes at once', config.busyRetryAfterMs)
    quoting++
    try {
      return await policy.quote(context)
    } finally {
      quoting--
    }
  }

  /**
   * Watches what the client sends after its request: a `cancel` frame or a reset cancels; closing its write side
   * (having nothing more to say) does not.
   */
  /** Resolves with null once `signal` is aborted (never rejects). */
  function aborted(signal: AbortSignal): Promise<null> {
    return new Promise((resolve) => {
      if (signal.aborted) resolve(null)
      else signal.addEventListener('abort', () => resolve(null), { once: true })
    })
  }

  function watchClient(reader: FrameReader, cancel: AbortController, graceful: { requested: boolean }): void {
    void (async () => {
      for (;;) {
        const frame = await reader.next()
        if (cancel.signal.aborted) return
        if (frame instanceof Uint8Array) {
          try {
            decodeClientFrame(frame)
            graceful.requested = true
            cancel.abort(new Error('the client cancelled'))
          } catch {
            cancel.abort(new Error('the client sent an invalid frame'))
          }
          return
        }
        if (frame.kind !== 'end') cancel.abort(new Error('the client reset the stream'))
        return
      }
    })()
  }

  async function handle(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const cancel = new AbortController()
    inFlight.set(cancel, null)
    const reader = readFrames(stream, MAX_REQUEST_BYTES)
    const graceful = { requested: false }
    let finished = false
    const onGone = () => {
      if (!finished) cancel.abort(new Error('the client closed the stream'))
    }
    stream.addEventListener('close', onGone)
    stream.inactivityTimeout = config.idleTimeoutMs
    perPeer.set(peer, (perPeer.get(peer) ?? 0) + 1)
    let releaseSlot: (() => void) | undefined
    let admission: Admission | undefined
    let admissionEnded = false

    const send = (message: InferResponseMessage) => sendFrame(stream, encodeResponseFrame(message), cancel.signal)
    const finish = async (message: InferResponseMessage) => {
      finished = true
      if (stream.status !== 'open' || stream.writeStatus !== 'writable') return
      await sendFrame(stream, encodeResponseFrame(message))
      // A graceful close: waits for the bytes to leave, so the final frame is not lost to a fast close.
      await stream.close({ signal: AbortSignal.timeout(5_000) })
    }

    try {
      if ((perPeer.get(peer) ?? 0) > config.maxStreamsPerPeer)
        throw new Refusal('BUSY', `at most ${config.maxStreamsPerPeer} streams per peer`, config.busyRetryAfterMs)

      const first = await firstFrame(reader, config.requestTimeoutMs)
      if (first === 'timeout') throw new Refusal('TIMEOUT', `no request within ${config.requestTimeoutMs} ms`)
      if (!(first instanceof Uint8Array)) {
        if (first.kind === 'invalid')
          throw new Refusal(
            'BAD_REQUEST',
            first.error instanceof FrameTooLargeError
              ? `request larger than ${MAX_REQUEST_BYTES} bytes`
              : first.error.message,
          )
        return // The client went away before asking anything (or dropped a stream it had opened in advance).
      }
      // Counted when the request arrives, not when the stream opens: a client keeping a node warm opens its next
      // stream ahead of the request (see warm.ts), and a stream that never carries one costs no request.
      const allowed = rate.take(peer, now())
      if (!allowed.ok) throw new Refusal('BUSY', 'too many requests from this peer', allowed.retryAfterMs)
      let message
      try {
        message = decodeRequest(first)
      } catch (error) {
        throw new Refusal('BAD_REQUEST', (error as Error).message)
      }
      const { request, payment } = message
      const { engine, model } = await engineFor(request.model)
      inFlight.set(cancel, engine)
      if ((request.max_tokens ?? 0) > config.maxTokens)
        throw new Refusal('BAD_REQUEST', `max_tokens above this node's cap of ${config.maxTokens}`)
      const context: PaymentContext = { peer, request, payment, model }
      if (message.quoteOnly) {
        const quote = await quoteOnly(context)
        stats.quoted++
        await finish({ type: 'quote', quote })
        return
      }
      watchClient(reader, cancel, graceful)
      admission = await policy.admit(context)

      releaseSlot = await acquireSlot(cancel.signal)
      const quote = admission.quote

      // Deltas are merged until the next microtask, so a token-by-token engine sends each token at once while
      // a burst (an engine that yields many tokens without waiting) goes out as few frames; while the stream's
      // buffer is full they keep merging and go out on drain. What went out is counted: a cancel bills it.
      let pending: Delta | null = null
      let flushing = false
      let scheduled = false
      const sent = { text: '', tokens: 0 }
      let accepted: Promise<void> = Promise.resolve()
      const flush = async () => {
        if (flushing) return
        flushing = true
        try {
          await accepted
          while (pending && !cancel.signal.aborted) {
            if (stream.writableNeedsDrain) await stream.onDrain({ signal: cancel.signal })
            if (cancel.signal.aborted) break
            const piece = takePiece(pending)
            pending = piece.rest
            stream.send(encodeResponseFrame({ type: 'delta', text: piece.delta.text, tokens: piece.delta.tokens }))
            sent.text += piece.delta.text
            sent.tokens += piece.delta.tokens
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
      // The engine starts first and `accepted` goes out while it works (it is written at once unless the stream is
      // full); deltas wait for it, so it still comes first on the wire.
      // A completion that does not ask to be reproducible (no seed) may reuse the KV cache of this consumer's
      // previous prompt (a typing user's next suggestion prefills only the edit); the cache is never another party's.
      const reuse = request.kind === 'completion' && !isDeterministic(request)
      const running = runInference(engine, request, {
        signal: cancel.signal,
        onDelta,
        cacheOwner: peerCacheOwner(peer),
        ...(reuse ? { reusePrefix: true } : {}),
      })
      running.catch(() => {}) // Awaited below; this only keeps an early send failure from leaving it unhandled.
      accepted = send({ type: 'accepted', model: model.id, quote })
      await accepted
      // A cancel settles at once: the bill is what reached the wire, known the moment the cancel arrives, so the
      // receipt does not wait for an engine that stops only at its next batch boundary (a WebAssembly prefill can
      // take seconds), and the consumer's next voucher need not cover a reservation it no longer knows of. The
      // slot stays taken until the engine has stopped.
      const result = await Promise.race([running, aborted(cancel.signal)])
      await Promise.resolve()
      await flushed
      if (pending && !cancel.signal.aborted) await flush()
      if (cancel.signal.aborted || result?.finish_reason === 'abort') {
        stats.cancelled++
        admissionEnded = true
        const slot = releaseSlot
        releaseSlot = undefined
        running.then(slot, slot)
        // Bill what reached the wire, not what the engine made after the cancel; nothing sent, nothing owed.
        const promptTokens = result?.usage.prompt_tokens ?? 0
        const usage = {
          prompt_tokens: promptTokens,
          completion_tokens: sent.tokens,
          total_tokens: promptTokens + sent.tokens,
        }
        const timings = result?.timings ?? { prefill_ms: 0, decode_ms: 0 }
        let receiptValue: JsonValue | null = null
        if (sent.tokens === 0) admission.release()
        else receiptValue = await admission.settle({ timings, text: sent.text, finish_reason: 'abort', usage })
        if (graceful.requested)
          await finish({ type: 'done', finish_reason: 'abort', usage, receipt: receiptValue }).catch(() => {})
        return
      }
      if (!result) throw new Error('unreachable: no result without a cancel')
      admissionEnded = true
      const receiptValue = await admission.settle(result)
      stats.served++
      await finish({ type: 'done', finish_reason: result.finish_reason, usage: result.usage, receipt: receiptValue })
    } catch (error) {
      if (cancel.signal.aborted) {
        stats.cancelled++
        // A cancel frame that arrived before any output (queued, or still being admitted) ends with an empty done.
        if (graceful.requested)
          await finish({
            type: 'done',
            finish_reason: 'abort',
            usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
            receipt: null,
          }).catch(() => {})
        return
      }
      const refusal = error instanceof Refusal ? error : toRefusal(error)
      stats.refused[refusal.code]++
      const frame: InferResponseMessage = { type: 'error', code: refusal.code, message: refusal.message }
      if (refusal.retryAfterMs !== undefined) frame.retryAfterMs = refusal.retryAfterMs
      if (refusal.quote !== undefined) frame.quote = refusal.quote
      if (refusal.settlement !== undefined) frame.settlement = refusal.settlement
      await finish(frame).catch(() => {})
    } finally {
      finished = true
      releaseSlot?.()
      if (admission && !admissionEnded) admission.release()
      reader.dispose()
      stream.removeEventListener('close', onGone)
      inFlight.delete(cancel)
      const count = (perPeer.get(peer) ?? 1) - 1
      if (count <= 0) perPeer.delete(peer)
      else perPeer.set(peer, count)
      if (cancel.signal.aborted && !graceful.requested && stream.status === 'open') stream.abort(new Error('cancelled'))
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
        {
          maxInboundStreams: config.maxInboundStreams,
          maxOutboundStreams: config.maxInboundStreams,
          runOnLimitedConnection: true,
        },
      )
    },
    async stop() {
      await libp2p.unhandle(INFER_PROTOCOL)
      for (const controller of inFlight.keys()) controller.abort(new Error('the node is stopping'))
    },
    cancelServedBy(engine) {
      for (const [controller, by] of inFlight)
        if (by === engine) controller.abort(new Error('the model is no longer served'))
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
  return {
    delta: { text: delta.text.slice(0, cut), tokens: share },
    rest: { text: delta.text.slice(cut), tokens: delta.tokens - share },
  }
}

function toRefusal(error: unknown): Refusal {
  if (error instanceof PaymentRefusedError)
    return new Refusal(
      'PAYMENT_REQUIRED',
      error.details ?? error.shortMessage,
      undefined,
      error.quote,
      error.settlement,
    )
  const name = error instanceof Error ? error.name : ''
  const message = error instanceof Error ? error.message : String(error)
  if (name === 'InvalidInferenceRequestError') return new Refusal('BAD_REQUEST', message)
  if (name === 'ModelMismatchError' || name === 'ModelNotLoadedError') return new Refusal('UNSUPPORTED_MODEL', message)
  return new Refusal('INTERNAL', message.split('\n')[0] ?? 'internal error')
}

/**
 * The stream's first frame, or 'timeout' when none comes within `ms`. A plain timer, cleared when the frame comes:
 * this is on every request's path, and aborting a signal to stop a sleep costs an exception object with its stack.
 */
function firstFrame(reader: FrameReader, ms: number): Promise<Uint8Array | StreamEnd | 'timeout'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), ms)
    void reader.next().then((frame) => {
      clearTimeout(timer)
      resolve(frame)
    })
  })
}
