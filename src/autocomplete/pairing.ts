/**
 * Both ends of `/modelex/pair/1.0.0` over libp2p, and the infer-server policy it feeds. The browser side
 * (`createPairingService`) answers pairing requests with its loaded models and lets paired peers use its engine
 * through the ordinary infer protocol without payment — the user's own gateway, not a customer. The gateway side
 * (`pair`) dials the peer id through the relay and returns the browser's models, or a typed `PairingError`.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import {
  decodePairRequest,
  decodePairResponse,
  encodePairRequest,
  encodePairResponse,
  MAX_PAIR_FRAME_BYTES,
  PAIR_PROTOCOL,
  tokensEqual,
  type PairedModel,
} from '../core/autocomplete-pairing.ts'
import { PairingError } from '../core/errors/gateway.ts'
import type { InferenceEngine } from '../core/inference.ts'
import { admitIf, type PaymentPolicy } from '../p2p/infer-server.ts'
import { connectToPeer } from '../p2p/dial.ts'
import { readFrames } from '../p2p/frames.ts'
import type { ModelexNode } from '../p2p/node.ts'

export type PairingServiceOptions = {
  token: string
  engine: InferenceEngine
  /** Whether the loaded model can fill in the middle (the engine does not say). */
  hasFim: () => boolean
  /** Wrong tokens a peer may send before it is refused for good (per service lifetime). */
  maxFailures?: number
}

export type PairingService = {
  readonly paired: ReadonlySet<string>
  /** The infer server's policy: paired peers are served, everyone else is told to pair. */
  readonly policy: PaymentPolicy
  onPaired(listener: (peer: string) => void): () => void
  /** Replaces the token and forgets every paired gateway: they must pair again with the new one. */
  setToken(token: string): void
  start(): Promise<void>
  stop(): Promise<void>
}

const PAIR_TIMEOUT_MS = 10_000

export function createPairingService(
  libp2p: Libp2p,
  { token: initialToken, engine, hasFim, maxFailures = 5 }: PairingServiceOptions,
): PairingService {
  let token = initialToken
  const paired = new Set<string>()
  const failures = new Map<string, number>()
  const listeners = new Set<(peer: string) => void>()

  async function models(): Promise<PairedModel[]> {
    const loaded = await engine.current()
    return loaded
      ? [
          {
            id: loaded.id,
            contentHash: loaded.contentHash,
            engine: loaded.engine,
            contextLength: loaded.contextLength,
            fim: hasFim(),
          },
        ]
      : []
  }

  async function handle(stream: Stream, peer: string): Promise<void> {
    const reader = readFrames(stream, MAX_PAIR_FRAME_BYTES)
    const timer = setTimeout(() => stream.abort(new Error('pairing timed out')), PAIR_TIMEOUT_MS)
    try {
      const frame = await reader.next()
      if (!(frame instanceof Uint8Array)) return
      const request = decodePairRequest(frame)
      if ((failures.get(peer) ?? 0) >= maxFailures) {
        stream.send(encodePairResponse({ type: 'refused', reason: 'busy' }))
      } else if (!tokensEqual(request.token, token)) {
        failures.set(peer, (failures.get(peer) ?? 0) + 1)
        stream.send(encodePairResponse({ type: 'refused', reason: 'bad-token' }))
      } else {
        const fresh = !paired.has(peer)
        paired.add(peer)
        stream.send(encodePairResponse({ type: 'paired', models: await models() }))
        if (fresh) for (const listener of listeners) listener(peer)
      }
      await stream.close({ signal: AbortSignal.timeout(5_000) })
    } finally {
      clearTimeout(timer)
      reader.dispose()
    }
  }

  return {
    paired,
    policy: admitIf(
      ({ peer }) => paired.has(peer),
      'this node serves only the gateway paired with it; pair with the token shown in its Code view',
    ),
    onPaired(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    setToken(next) {
      token = next
      paired.clear()
      failures.clear()
    },
    async start() {
      await libp2p.handle(
        PAIR_PROTOCOL,
        (stream, connection) => {
          handle(stream, connection.remotePeer.toString()).catch((error: unknown) =>
            stream.abort(error instanceof Error ? error : new Error(String(error))),
          )
        },
        { runOnLimitedConnection: true, maxInboundStreams: 8 },
      )
    },
    async stop() {
      await libp2p.unhandle(PAIR_PROTOCOL)
    },
  }
}

/** Pairs with the browser node `peer`: returns the models it serves, or throws `PairingError`. */
export async function pair(
  node: ModelexNode,
  { peer, token, signal }: { peer: string; token: string; signal?: AbortSignal },
): Promise<PairedModel[]> {
  let stream: Stream
  try {
    const connection = await connectToPeer(node, peer, signal ? { signal } : {})
    stream = await connection.newStream(PAIR_PROTOCOL, {
      runOnLimitedConnection: true,
      signal: signal ?? AbortSignal.timeout(PAIR_TIMEOUT_MS),
    })
  } catch (error) {
    throw new PairingError({
      peer,
      reason: 'unreachable',
      details: error instanceof Error ? error.message : String(error),
      cause: error,
    })
  }
  const reader = readFrames(stream, MAX_PAIR_FRAME_BYTES)
  const timer = setTimeout(() => stream.abort(new Error('no pairing answer')), PAIR_TIMEOUT_MS)
  try {
    stream.send(encodePairRequest(token))
    const frame = await reader.next()
    if (!(frame instanceof Uint8Array))
      throw new PairingError({
        peer,
        reason: 'unreachable',
        details: `the stream ended (${frame.kind}) before an answer`,
      })
    let response
    try {
      response = decodePairResponse(frame)
    } catch (error) {
      throw new PairingError({ peer, reason: 'protocol', details: (error as Error).message, cause: error })
    }
    if (response.type === 'refused')
      throw new PairingError({
        peer,
        reason: 'bad-token',
        details:
          response.reason === 'busy'
            ? 'too many wrong tokens from this gateway; reload the app for a new token'
            : 'the token does not match',
      })
    return response.models
  } finally {
    clearTimeout(timer)
    reader.dispose()
    stream.close().catch(() => {})
  }
}
