/**
 * The `/modelex/announcements/1.0.0` protocol over libp2p: the relay serves its last-value cache of announcements
 * (`src/core/latest-announcements.ts`), and a directory that joins a model's topic asks the relay once, so it knows
 * the nodes at once instead of after their next periodic announcement. What comes back is validated by the asker
 * like any gossip message; the relay cannot forge an announcement, only withhold one (gossip still brings it).
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import { MAX_ANNOUNCEMENT_BYTES } from '../core/announcement.ts'
import {
  decodeLatestRequest,
  encodeAnnouncementFrame,
  encodeLatestRequest,
  LATEST_ANNOUNCEMENTS_PROTOCOL,
  MAX_LATEST_PER_TOPIC,
  MAX_LATEST_REQUEST_BYTES,
  type LatestAnnouncements,
} from '../core/latest-announcements.ts'
import { readFrames } from './frames.ts'
import type { ModelexNode } from './node.ts'

const TIMEOUT_MS = 5_000

export function serveLatestAnnouncements(
  libp2p: Libp2p,
  cache: LatestAnnouncements,
  { now = Date.now }: { now?: () => number } = {},
) {
  async function handle(stream: Stream): Promise<void> {
    const reader = readFrames(stream, MAX_LATEST_REQUEST_BYTES)
    const timeout = AbortSignal.timeout(TIMEOUT_MS)
    try {
      const frame = await reader.next()
      if (!(frame instanceof Uint8Array)) return
      const { topic } = decodeLatestRequest(frame)
      for (const bytes of cache.latest(topic, now())) {
        if (stream.writableNeedsDrain) await stream.onDrain({ signal: timeout })
        stream.send(encodeAnnouncementFrame(bytes))
      }
      await stream.close({ signal: timeout })
    } finally {
      reader.dispose()
    }
  }
  return {
    async start() {
      await libp2p.handle(
        LATEST_ANNOUNCEMENTS_PROTOCOL,
        (stream) => {
          handle(stream).catch((error: unknown) =>
            stream.abort(error instanceof Error ? error : new Error(String(error))),
          )
        },
        { runOnLimitedConnection: true, maxInboundStreams: 64 },
      )
    },
    async stop() {
      await libp2p.unhandle(LATEST_ANNOUNCEMENTS_PROTOCOL)
    },
  }
}

/** Asks each connected relay of `node` for the announcements it holds on `topic`; failures give nothing. */
export async function fetchLatestAnnouncements(node: ModelexNode, topic: string): Promise<Uint8Array[]> {
  const relays = new Set(
    node.relays
      .map((r) => r.getComponents().findLast((c) => c.name === 'p2p')?.value)
      .filter((id): id is string => id !== undefined),
  )
  const connections = node.libp2p
    .getConnections()
    .filter((c) => relays.has(c.remotePeer.toString()) && c.status === 'open')
  const answers = await Promise.all(
    connections.map((connection) => ask(connection.newStream.bind(connection), topic).catch(() => [])),
  )
  return answers.flat()
}

async function ask(
  newStream: (protocol: string, options: { signal: AbortSignal; runOnLimitedConnection: boolean }) => Promise<Stream>,
  topic: string,
): Promise<Uint8Array[]> {
  const signal = AbortSignal.timeout(TIMEOUT_MS)
  const stream = await newStream(LATEST_ANNOUNCEMENTS_PROTOCOL, { signal, runOnLimitedConnection: true })
  const reader = readFrames(stream, MAX_ANNOUNCEMENT_BYTES)
  const onTimeout = () => stream.abort(new Error('no announcements in time'))
  signal.addEventListener('abort', onTimeout, { once: true })
  const found: Uint8Array[] = []
  try {
    stream.send(encodeLatestRequest(topic))
    for (;;) {
      const frame = await reader.next()
      if (!(frame instanceof Uint8Array)) break
      found.push(frame)
      if (found.length >= MAX_LATEST_PER_TOPIC) break
    }
    return found
  } finally {
    signal.removeEventListener('abort', onTimeout)
    reader.dispose()
    stream.close().catch(() => {})
  }
}
