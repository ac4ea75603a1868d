/**
 * The `/modelex/attestations/1.0.0` protocol over libp2p: the relay serves its cache of the latest attestations
 * (`src/core/latest-attestations.ts`), and an `AttestationBook` asks its relays for them when it starts and after
 * each reconnection, so a peer that joins late knows the reputation at once. The asker validates every answer with
 * its gossip validator: the relay can withhold an attestation, not forge one.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import { MAX_ATTESTATION_BYTES } from '../core/attestation.ts'
import {
  decodeLatestAttestationsRequest,
  encodeAttestationFrame,
  encodeLatestAttestationsRequest,
  LATEST_ATTESTATIONS_DEFAULTS,
  LATEST_ATTESTATIONS_PROTOCOL,
  MAX_LATEST_ATTESTATIONS_REQUEST_BYTES,
  type LatestAttestationsQuery,
} from '../core/latest-attestations.ts'
import { readFrames } from './frames.ts'
import type { ModelexNode } from './node.ts'

const TIMEOUT_MS = 5_000

/** What the server hands out: the relay's cache, or (in the adversarial suite) something bent around it. */
export type LatestAttestationsSource = { latest(query: LatestAttestationsQuery, nowS: number): Uint8Array[] }

export type LatestAttestationsServerCounts = { requests: number; served: number; malformed: number }

export function serveLatestAttestations(
  libp2p: Libp2p,
  source: LatestAttestationsSource,
  { now = Date.now }: { now?: () => number } = {},
) {
  const counts: LatestAttestationsServerCounts = { requests: 0, served: 0, malformed: 0 }
  async function handle(stream: Stream): Promise<void> {
    const reader = readFrames(stream, MAX_LATEST_ATTESTATIONS_REQUEST_BYTES)
    const timeout = AbortSignal.timeout(TIMEOUT_MS)
    try {
      const frame = await reader.next()
      if (!(frame instanceof Uint8Array)) {
        if (frame.kind === 'invalid') counts.malformed++
        return stream.abort(new Error('no valid request frame'))
      }
      let query: LatestAttestationsQuery
      try {
        query = decodeLatestAttestationsRequest(frame)
      } catch (error) {
        counts.malformed++
        throw error
      }
      counts.requests++
      for (const bytes of source.latest(query, Math.floor(now() / 1000)).slice(-query.limit)) {
        if (stream.writableNeedsDrain) await stream.onDrain({ signal: timeout })
        stream.send(encodeAttestationFrame(bytes))
        counts.served++
      }
      await stream.close({ signal: timeout })
    } finally {
      reader.dispose()
    }
  }
  return {
    counts,
    async start() {
      await libp2p.handle(
        LATEST_ATTESTATIONS_PROTOCOL,
        (stream) => {
          handle(stream).catch((error: unknown) =>
            stream.abort(error instanceof Error ? error : new Error(String(error))),
          )
        },
        { runOnLimitedConnection: true, maxInboundStreams: 64 },
      )
    },
    async stop() {
      await libp2p.unhandle(LATEST_ATTESTATIONS_PROTOCOL)
    },
  }
}

/** One relay's answer: which relay, and the attestation bytes it sent (unvalidated). */
export type RelayAttestations = { relay: string; attestations: Uint8Array[] }

/** Asks each connected relay of `node` for its latest attestations; a relay that fails or times out gives nothing. */
export async function fetchLatestAttestations(
  node: ModelexNode,
  query: Partial<LatestAttestationsQuery> = {},
): Promise<RelayAttestations[]> {
  const full: LatestAttestationsQuery = {
    ...query,
    limit: Math.min(query.limit ?? LATEST_ATTESTATIONS_DEFAULTS.maxAnswer, LATEST_ATTESTATIONS_DEFAULTS.maxAnswer),
  }
  const relays = new Set(
    node.relays
      .map((r) => r.getComponents().findLast((c) => c.name === 'p2p')?.value)
      .filter((id): id is string => id !== undefined),
  )
  const connections = node.libp2p
    .getConnections()
    .filter((c) => relays.has(c.remotePeer.toString()) && c.status === 'open')
  // One connection per relay: a relay reached twice would only answer twice.
  const byRelay = new Map(connections.map((c) => [c.remotePeer.toString(), c] as const))
  return Promise.all(
    [...byRelay].map(async ([relay, connection]) => ({
      relay,
      attestations: await ask(connection.newStream.bind(connection), full).catch(() => []),
    })),
  )
}

async function ask(
  newStream: (protocol: string, options: { signal: AbortSignal; runOnLimitedConnection: boolean }) => Promise<Stream>,
  query: LatestAttestationsQuery,
): Promise<Uint8Array[]> {
  const signal = AbortSignal.timeout(TIMEOUT_MS)
  const stream = await newStream(LATEST_ATTESTATIONS_PROTOCOL, { signal, runOnLimitedConnection: true })
  const reader = readFrames(stream, MAX_ATTESTATION_BYTES)
  const onTimeout = () => stream.abort(new Error('no attestations in time'))
  signal.addEventListener('abort', onTimeout, { once: true })
  const found: Uint8Array[] = []
  try {
    stream.send(encodeLatestAttestationsRequest(query))
    // Bounded: a relay that sends more than asked for is cut off there.
    while (found.length < query.limit) {
      const frame = await reader.next()
      if (!(frame instanceof Uint8Array)) break
      found.push(frame)
    }
    return found
  } finally {
    signal.removeEventListener('abort', onTimeout)
    reader.dispose()
    stream.close().catch(() => {})
  }
}
