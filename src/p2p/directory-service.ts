/**
 * The directory query protocol (`/modelex/directory/1.0.0`) over libp2p, both sides. The relay keeps a
 * `DirectoryStore` of validated announcements (from gossip and from providers that publish to it directly) and
 * answers "the best N of model M" with the signed bytes, then, for a watching asker, a delta whenever that view
 * changes. The consumer verifies every entry it is handed (schema, model, age, signature) and checks that each delta
 * leads to the digest the relay declared: a relay can withhold an entry, not forge or alter one. Rules and wire are
 * in `src/core/directory-view.ts`.
 */
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import {
  announcementTopic,
  decodeAnnouncement,
  MAX_ANNOUNCEMENT_BYTES,
  MAX_CLOCK_SKEW_MS,
  type Announcement,
} from '../core/announcement.ts'
import { DirectoryStore, queryKey, type DirectoryAnswer, type DirectoryStoreOptions } from '../core/directory-store.ts'
import {
  applyDelta,
  decodeDirectoryRequest,
  decodeViewHeader,
  DIRECTORY_PROTOCOL,
  encodeDirectoryRequest,
  encodeEntryFrame,
  encodeViewHeader,
  idsOf,
  isExpired,
  MAX_PUBLISHED_PER_STREAM,
  MAX_VIEW_HEADER_BYTES,
  verifyDirectoryEntry,
  viewDigest,
  type DirectoryQuery,
  type DirectoryRank,
  type DirectoryView,
} from '../core/directory-view.ts'
import { DirectoryViewError, InvalidAnnouncementError } from '../core/errors/p2p.ts'
import { readFrames, sendFrame } from './frames.ts'

export const DIRECTORY_SERVICE_DEFAULTS = {
  /** Watching streams the relay keeps, overall and per peer; beyond, a query is answered once and closed. */
  maxWatchers: 8192,
  maxWatchersPerPeer: 16,
  /** Changes within this window go out as one delta. */
  pushDelayMs: 50,
  expireCheckMs: 10_000,
  requestTimeoutMs: 10_000,
  maxInboundStreams: 256,
} as const

export type DirectoryServiceCounts = {
  queries: number
  watching: number
  published: number
  refused: number
  malformed: number
}

export type DirectoryServiceOptions = {
  /** Validates an announcement that came by the publish side (the relay's announcement gate); undefined to refuse it. */
  validate: (bytes: Uint8Array, topic: string) => Promise<Announcement | undefined>
  /** Called for each model asked about or published, so the relay joins its gossip topic (and hears other relays). */
  join?: (contentHash: string) => void
  store?: DirectoryStoreOptions
  now?: () => number
} & Partial<typeof DIRECTORY_SERVICE_DEFAULTS>

export type DirectoryService = {
  readonly store: DirectoryStore
  readonly counts: DirectoryServiceCounts
  /** Keeps an announcement that passed validation elsewhere (the relay's gossip handler). */
  record(announcement: Announcement, bytes: Uint8Array): void
  start(): Promise<void>
  stop(): Promise<void>
}

type Watcher = {
  peer: string
  model: string
  rank: DirectoryRank
  limit: number
  digest: string
  stream: Stream
  timer: ReturnType<typeof setTimeout> | undefined
  sending: Promise<void>
}

/** The relay side: serves queries and watches from the store, and takes providers' published announcements. */
export function serveDirectory(libp2p: Libp2p, options: DirectoryServiceOptions): DirectoryService {
  const settings = { ...DIRECTORY_SERVICE_DEFAULTS, ...options }
  const { validate, join, now = Date.now } = options
  const store = new DirectoryStore(options.store)
  const counts: DirectoryServiceCounts = { queries: 0, watching: 0, published: 0, refused: 0, malformed: 0 }
  const watchers = new Map<string, Set<Watcher>>()
  const perPeer = new Map<string, number>()
  let expiry: ReturnType<typeof setInterval> | undefined

  const send = async (stream: Stream, answer: DirectoryAnswer) => {
    const signal = AbortSignal.timeout(settings.requestTimeoutMs)
    await sendFrame(
      stream,
      encodeViewHeader({
        digest: answer.digest,
        base: answer.base,
        removed: answer.removed,
        count: answer.upserts.length,
      }),
      signal,
    )
    for (const entry of answer.upserts) await sendFrame(stream, encodeEntryFrame(entry.bytes), signal)
  }

  const drop = (watcher: Watcher) => {
    const key = queryKey(watcher.model, watcher.rank, watcher.limit)
    const set = watchers.get(key)
    if (!set?.delete(watcher)) return
    clearTimeout(watcher.timer)
    if (set.size === 0) watchers.delete(key)
    perPeer.set(watcher.peer, (perPeer.get(watcher.peer) ?? 1) - 1)
    if (perPeer.get(watcher.peer) === 0) perPeer.delete(watcher.peer)
    counts.watching--
  }

  const push = (watcher: Watcher) => {
    watcher.timer = undefined
    watcher.sending = watcher.sending.then(async () => {
      const answer = store.answer(watcher.model, watcher.rank, watcher.limit, watcher.digest, now())
      if (answer.digest === watcher.digest) return
      watcher.digest = answer.digest
      await send(watcher.stream, answer)
    })
    watcher.sending.catch(() => {
      drop(watcher)
      watcher.stream.abort(new Error('the watcher could not be updated'))
    })
  }

  store.onChange((_model, key) => {
    for (const watcher of watchers.get(key) ?? [])
      watcher.timer ??= setTimeout(() => push(watcher), settings.pushDelayMs)
  })

  const publish = async (stream: Stream, reader: ReturnType<typeof readFrames>) => {
    for (let i = 0; i < MAX_PUBLISHED_PER_STREAM; i++) {
      const frame = await reader.next()
      if (!(frame instanceof Uint8Array)) {
        // Our side too, or the stream would stay half-open and count against the protocol's inbound streams.
        if (frame.kind === 'end') await stream.close({ signal: AbortSignal.timeout(settings.requestTimeoutMs) })
        return
      }
      let topic: string
      try {
        topic = announcementTopic(decodeAnnouncement(frame).models[0]?.contentHash ?? '')
      } catch {
        counts.refused++
        continue
      }
      const announcement = await validate(frame, topic)
      if (!announcement) {
        counts.refused++
        continue
      }
      counts.published++
      for (const model of announcement.models) join?.(model.contentHash)
      store.record(announcement, frame, now())
    }
    stream.abort(new Error(`more than ${MAX_PUBLISHED_PER_STREAM} announcements on one stream`))
  }

  const query = async (
    stream: Stream,
    peer: string,
    request: DirectoryQuery,
    reader: ReturnType<typeof readFrames>,
  ) => {
    counts.queries++
    join?.(request.model)
    const answer = store.answer(request.model, request.rank, request.limit, request.since, now())
    await send(stream, answer)
    const key = queryKey(request.model, request.rank, request.limit)
    if (
      !request.watch ||
      counts.watching >= settings.maxWatchers ||
      (perPeer.get(peer) ?? 0) >= settings.maxWatchersPerPeer
    ) {
      await stream.close({ signal: AbortSignal.timeout(settings.requestTimeoutMs) })
      return
    }
    const watcher: Watcher = {
      peer,
      model: request.model,
      rank: request.rank,
      limit: request.limit,
      digest: answer.digest,
      stream,
      timer: undefined,
      sending: Promise.resolve(),
    }
    let set = watchers.get(key)
    if (!set) watchers.set(key, (set = new Set()))
    set.add(watcher)
    perPeer.set(peer, (perPeer.get(peer) ?? 0) + 1)
    counts.watching++
    // The asker says nothing more; its end of the stream (or a reset) ends the watch.
    await reader.next()
    drop(watcher)
    stream.abort(new Error('watch ended'))
  }

  async function handle(stream: Stream, peer: PeerId): Promise<void> {
    const reader = readFrames(stream, MAX_ANNOUNCEMENT_BYTES)
    try {
      const first = await Promise.race([
        reader.next(),
        new Promise<null>((resolve) => setTimeout(() => resolve(null), settings.requestTimeoutMs).unref?.()),
      ])
      if (!(first instanceof Uint8Array)) {
        if (first === null || first.kind === 'invalid') counts.malformed++
        return stream.abort(new Error('no valid request frame'))
      }
      let request
      try {
        request = decodeDirectoryRequest(first)
      } catch (error) {
        counts.malformed++
        throw error
      }
      if (request.type === 'publish') await publish(stream, reader)
      else await query(stream, peer.toString(), request, reader)
    } finally {
      reader.dispose()
    }
  }

  return {
    store,
    counts,
    record(announcement, bytes) {
      store.record(announcement, bytes, now())
    },
    async start() {
      await libp2p.handle(
        DIRECTORY_PROTOCOL,
        (stream, connection) => {
          handle(stream, connection.remotePeer).catch((error: unknown) =>
            stream.abort(error instanceof Error ? error : new Error(String(error))),
          )
        },
        { runOnLimitedConnection: true, maxInboundStreams: settings.maxInboundStreams },
      )
      expiry = setInterval(() => store.expire(now()), settings.expireCheckMs)
    },
    async stop() {
      clearInterval(expiry)
      for (const set of [...watchers.values()]) for (const watcher of [...set]) drop(watcher)
      await libp2p.unhandle(DIRECTORY_PROTOCOL)
    },
  }
}

// The asking side.

type NewStream = (
  protocol: string,
  options: { signal?: AbortSignal; runOnLimitedConnection: boolean },
) => Promise<Stream>

export type EntryVerifier = (bytes: Uint8Array, model: string) => Promise<Announcement>

/**
 * `verifyDirectoryEntry` with a bounded memory of bytes already verified, so the same announcement from two relays
 * (or in two views) costs one signature recovery. The age is checked again at every use.
 */
export function createEntryVerifier({
  now = Date.now,
  max = 4096,
}: { now?: () => number; max?: number } = {}): EntryVerifier {
  const verified = new Map<string, Announcement>()
  const text = new TextDecoder()
  return async (bytes, model) => {
    const key = text.decode(bytes)
    const known = verified.get(key)
    if (known) {
      if (!known.models.some((m) => m.contentHash === model))
        throw new InvalidAnnouncementError({ reason: 'wrong-topic', details: `the entry does not list model ${model}` })
      if (known.timestamp - now() > MAX_CLOCK_SKEW_MS || isExpired(known, now()))
        throw new InvalidAnnouncementError({ reason: 'stale', details: `timestamp ${known.timestamp} is out of date` })
      return known
    }
    const announcement = await verifyDirectoryEntry(bytes, { model, now: now() })
    verified.set(key, announcement)
    if (verified.size > max) verified.delete(verified.keys().next().value as string)
    return announcement
  }
}

export type DirectoryWatchOptions = {
  model: string
  rank?: DirectoryRank
  limit: number
  /** Keep the stream open for deltas (default) or answer once. */
  watch?: boolean
  /** The view held from an earlier watch of this relay (resumes with a delta). */
  held?: DirectoryView
  verify?: EntryVerifier
  signal?: AbortSignal
  /** Every view the relay leads us to, verified. */
  onView?: (view: DirectoryView) => void
}

/**
 * Asks one relay (through an open connection's `newStream`) for the best `limit` nodes of a model, then follows its
 * deltas. Resolves with the last view when the stream ends; rejects with `DirectoryViewError` when the relay sends
 * an entry that fails verification (`forged-entry`), a delta that does not add up, or a malformed frame.
 */
export async function watchRelayDirectory(
  newStream: NewStream,
  {
    model,
    rank = 'price',
    limit,
    watch = true,
    held,
    verify = createEntryVerifier(),
    signal,
    onView,
  }: DirectoryWatchOptions,
): Promise<DirectoryView> {
  const stream = await newStream(DIRECTORY_PROTOCOL, { ...(signal ? { signal } : {}), runOnLimitedConnection: true })
  const reader = readFrames(stream, Math.max(MAX_ANNOUNCEMENT_BYTES, MAX_VIEW_HEADER_BYTES))
  const onAbort = () => stream.abort(new Error('directory watch cancelled'))
  signal?.addEventListener('abort', onAbort, { once: true })
  let view: DirectoryView = held ?? new Map()
  const since = held ? viewDigest(idsOf(held)) : null
  const refuse = (reason: 'forged-entry' | 'malformed', details: string, cause?: unknown): never => {
    throw new DirectoryViewError({ reason, details, cause })
  }
  try {
    await sendFrame(
      stream,
      encodeDirectoryRequest({
        type: 'query',
        v: 1,
        model: model as DirectoryQuery['model'],
        rank,
        limit,
        since,
        watch,
      }),
      signal,
    )
    for (;;) {
      const first = await reader.next()
      if (!(first instanceof Uint8Array)) {
        if (first.kind === 'invalid') refuse('malformed', first.error.message, first.error)
        return view
      }
      let header
      try {
        header = decodeViewHeader(first)
      } catch (error) {
        return refuse('malformed', (error as Error).message, error)
      }
      const upserts: Announcement[] = []
      for (let i = 0; i < header.count; i++) {
        const frame = await reader.next()
        if (!(frame instanceof Uint8Array))
          return refuse('malformed', `the view announced ${header.count} entries and sent ${i}`)
        try {
          upserts.push(await verify(frame, model))
        } catch (error) {
          refuse('forged-entry', error instanceof Error ? error.message : String(error), error)
        }
      }
      if (upserts.length > limit) refuse('malformed', `${upserts.length} entries for a limit of ${limit}`)
      // Kept exactly as the relay has it (its digests continue from it); users drop what expired when they read it.
      view = applyDelta(view, { ...header, upserts })
      onView?.(view)
    }
  } catch (error) {
    stream.abort(error instanceof Error ? error : new Error(String(error)))
    throw error
  } finally {
    signal?.removeEventListener('abort', onAbort)
    reader.dispose()
  }
}

/** Sends announcements to a relay over the publish side of the protocol (a provider does this at every announcement). */
export async function publishToRelay(
  newStream: NewStream,
  announcements: readonly Uint8Array[],
  { signal }: { signal?: AbortSignal } = {},
): Promise<void> {
  const stream = await newStream(DIRECTORY_PROTOCOL, { ...(signal ? { signal } : {}), runOnLimitedConnection: true })
  try {
    await sendFrame(stream, encodeDirectoryRequest({ type: 'publish', v: 1 }), signal)
    for (const bytes of announcements) await sendFrame(stream, encodeEntryFrame(bytes), signal)
    await stream.close(signal ? { signal } : {})
  } catch (error) {
    stream.abort(error instanceof Error ? error : new Error(String(error)))
    throw error
  }
}
