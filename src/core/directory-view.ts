/**
 * The rules of the directory query protocol (`/modelex/directory/1.0.0`), which keeps a consumer's load independent
 * of how many nodes serve a model: a relay answers "the best N nodes of model M by this ranking" with the nodes' own
 * signed announcements, then keeps the asker's copy fresh with deltas (only entries added, changed or gone since the
 * digest the asker holds). Here are the ranking key, the view digest, diff and delta application, the merge of what
 * several relays said, expiry, the consumer's check of an entry (a relay can withhold but not forge), and the strict
 * wire decoders. Pure: the stream side lives in `src/p2p/directory-service.ts`.
 *
 * Wire: the asker opens a stream and sends one request frame. `query`: the relay answers with a `view` header frame
 * (digest of the new view, the digest it is relative to or null for a full answer, the peer ids removed, the number
 * of entries that follow) then that many frames, each an announcement's signed bytes; with `watch` the stream stays
 * open and a new `view` (relative to the previous one) follows whenever the view changes. `publish`: a provider
 * sends its announcement frames to the relay, which validates and keeps them; nothing comes back.
 */
import { sha256, stringToBytes, type Hex } from 'viem'
import {
  decodeAnnouncement,
  MAX_ANNOUNCEMENT_BYTES,
  MAX_CLOCK_SKEW_MS,
  recoverAnnouncementSigner,
  type Announcement,
} from './announcement.ts'
import { DirectoryViewError, InvalidAnnouncementError } from './errors/p2p.ts'
import { array, decodeJson, encodeJson, fail, integer, object, oneOf, only, string } from './wire/check.ts'
import { encodeFrame } from './wire/frame.ts'

export const DIRECTORY_PROTOCOL = '/modelex/directory/1.0.0'
/** An announcement is served and used this long after its timestamp; providers refresh well before (every 5 min). */
export const ANNOUNCEMENT_TTL_MS = 15 * 60 * 1000
export const ANNOUNCEMENT_REFRESH_MS = 5 * 60 * 1000
/** Most entries one query may ask for. */
export const MAX_DIRECTORY_LIMIT = 64
export const MAX_DIRECTORY_REQUEST_BYTES = 512
/** A view header lists at most `MAX_DIRECTORY_LIMIT` removed peer ids of at most 128 characters. */
export const MAX_VIEW_HEADER_BYTES = 16 * 1024
/** Announcements one publish stream may carry. */
export const MAX_PUBLISHED_PER_STREAM = 1024

/** How the relay orders a model's nodes: cheapest output, fastest decode, or most free slots. */
export const DIRECTORY_RANKS = ['price', 'speed', 'free'] as const
export type DirectoryRank = (typeof DIRECTORY_RANKS)[number]

/** A view: the entries one relay says are the best for a query, by peer id. */
export type DirectoryView = ReadonlyMap<string, Announcement>
/** What a view is made of, for digests and diffs: peer id → sequence. */
export type ViewIds = ReadonlyMap<string, number>

export type DirectoryQuery = {
  type: 'query'
  v: 1
  model: Hex
  rank: DirectoryRank
  limit: number
  since: string | null
  watch: boolean
}
export type DirectoryPublish = { type: 'publish'; v: 1 }
export type DirectoryRequest = DirectoryQuery | DirectoryPublish

export type ViewHeader = { type: 'view'; v: 1; digest: string; base: string | null; removed: string[]; count: number }
/** A header and the announcement bytes that follow it. */
export type ViewDelta = { digest: string; base: string | null; removed: string[]; upserts: Uint8Array[] }

const BYTES32 = /^0x[0-9a-f]{64}$/
const DIGEST = /^[0-9a-f]{32}$/
const PEER_ID = /^[1-9A-HJ-NP-Za-km-z]{32,128}$/

/** The digest of a view: its (peer id, sequence) pairs, sorted, hashed; the same set gives the same digest. */
export function viewDigest(ids: ViewIds): string {
  const lines = [...ids].map(([peerId, sequence]) => `${peerId} ${sequence}`).sort()
  return sha256(stringToBytes(lines.join('\n'))).slice(2, 34)
}

export function idsOf(view: DirectoryView): Map<string, number> {
  return new Map([...view].map(([peerId, a]) => [peerId, a.sequence]))
}

/** Compares two announcements for a model by a ranking: the better first; ties fall to the peer id, so it is total. */
export function compareForRank(rank: DirectoryRank, model: string): (a: Announcement, b: Announcement) => number {
  const speed = (a: Announcement) => a.models.find((m) => m.contentHash === model)?.tokensPerSecond ?? 0
  const free = (a: Announcement) => a.capacity - a.queueDepth
  const price = (a: Announcement, b: Announcement) =>
    compareBig(a.pricePerMillionOutput, b.pricePerMillionOutput) ||
    compareBig(a.pricePerMillionInput, b.pricePerMillionInput)
  return (a, b) => {
    const first = rank === 'speed' ? speed(b) - speed(a) : rank === 'free' ? free(b) - free(a) : 0
    return first || price(a, b) || (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0)
  }
}

function compareBig(a: string, b: string): number {
  // Decimal strings without leading zeros: length first, then text, orders them as numbers without BigInt.
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}

/** The best `limit` of `entries` for a model by a ranking. */
export function rankEntries<T extends { announcement: Announcement }>(
  entries: Iterable<T>,
  model: string,
  rank: DirectoryRank,
  limit: number,
): T[] {
  const compare = compareForRank(rank, model)
  return [...entries].sort((a, b) => compare(a.announcement, b.announcement)).slice(0, limit)
}

/** The delta that turns `from` into `to`: peers gone, and peers new or with another sequence. */
export function diffViews(from: ViewIds, to: ViewIds): { removed: string[]; changed: string[] } {
  const removed = [...from.keys()].filter((peerId) => !to.has(peerId)).sort()
  const changed = [...to]
    .filter(([peerId, sequence]) => from.get(peerId) !== sequence)
    .map(([peerId]) => peerId)
    .sort()
  return { removed, changed }
}

/**
 * Applies a delta whose entries are already verified. A full answer (base null) replaces the view; a relative one
 * must start from the digest we hold and end at the digest it declares, or `DirectoryViewError` (then ask again
 * without `since`). Never changes `current`.
 */
export function applyDelta(
  current: DirectoryView,
  delta: { digest: string; base: string | null; removed: readonly string[]; upserts: readonly Announcement[] },
): Map<string, Announcement> {
  const next = new Map(delta.base === null ? [] : current)
  if (delta.base !== null && delta.base !== viewDigest(idsOf(current)))
    throw new DirectoryViewError({
      reason: 'wrong-base',
      details: `the delta starts from ${delta.base}, we hold ${viewDigest(idsOf(current))}`,
    })
  for (const peerId of delta.removed) next.delete(peerId)
  for (const a of delta.upserts) next.set(a.peerId, a)
  const digest = viewDigest(idsOf(next))
  if (digest !== delta.digest)
    throw new DirectoryViewError({
      reason: 'digest-mismatch',
      details: `the delta leads to ${digest}, the relay declared ${delta.digest}`,
    })
  return next
}

/**
 * Merges what several relays said: per peer, the highest sequence; for one sequence signed twice with different
 * contents (the node equivocated), the smaller signature (then the smaller text), so the result does not depend on the order of the views.
 */
export function mergeViews(views: Iterable<DirectoryView>): Map<string, Announcement> {
  const merged = new Map<string, Announcement>()
  for (const view of views) {
    for (const [peerId, a] of view) {
      const known = merged.get(peerId)
      if (!known || a.sequence > known.sequence || (a.sequence === known.sequence && smallerContent(a, known)))
        merged.set(peerId, a)
    }
  }
  return merged
}

function smallerContent(a: Announcement, b: Announcement): boolean {
  if (a.signature !== b.signature) return a.signature < b.signature
  // The same signature over other contents cannot verify; order them anyway, so merging stays a pure function of the set.
  return a !== b && JSON.stringify(a) < JSON.stringify(b)
}

export function isExpired(
  announcement: Pick<Announcement, 'timestamp'>,
  now: number,
  ttlMs = ANNOUNCEMENT_TTL_MS,
): boolean {
  return now - announcement.timestamp > ttlMs
}

/** The view without what expired at `now` (the same object when nothing did). */
export function withoutExpired(view: DirectoryView, now: number, ttlMs = ANNOUNCEMENT_TTL_MS): DirectoryView {
  if (![...view.values()].some((a) => isExpired(a, now, ttlMs))) return view
  return new Map([...view].filter(([, a]) => !isExpired(a, now, ttlMs)))
}

export type VerifyEntryOptions = { model: string; now: number; ttlMs?: number; maxSkewMs?: number }

/**
 * What a consumer checks of each entry a relay hands it, with the announcement validator's rules except the
 * gossip-only ones (topic, author, per-path sequence): the schema, the model, the age (within the TTL, not from the
 * future) and the signature. Throws `InvalidAnnouncementError`; a relay that sends one has forged or altered it.
 */
export async function verifyDirectoryEntry(
  bytes: Uint8Array,
  { model, now, ttlMs = ANNOUNCEMENT_TTL_MS, maxSkewMs = MAX_CLOCK_SKEW_MS }: VerifyEntryOptions,
): Promise<Announcement> {
  const announcement = decodeAnnouncement(bytes)
  if (!announcement.models.some((m) => m.contentHash === model))
    throw new InvalidAnnouncementError({ reason: 'wrong-topic', details: `the entry does not list model ${model}` })
  if (announcement.timestamp - now > maxSkewMs || isExpired(announcement, now, ttlMs))
    throw new InvalidAnnouncementError({
      reason: 'stale',
      details: `timestamp ${announcement.timestamp} is outside ${now - ttlMs}..${now + maxSkewMs}`,
    })
  let recovered: string
  try {
    recovered = await recoverAnnouncementSigner(announcement)
  } catch (error) {
    throw new InvalidAnnouncementError({
      reason: 'bad-signature',
      details: 'the signature does not recover to any address',
      cause: error,
    })
  }
  if (recovered !== announcement.signer)
    throw new InvalidAnnouncementError({
      reason: 'signer-mismatch',
      details: `signed by ${recovered}, declares ${announcement.signer}`,
    })
  return announcement
}

/** Queue depth as announced: 0, 1, 2, 4, 8… (the power of two at or below), so a busy node does not re-announce at every request. */
export function queueDepthBucket(queueDepth: number): number {
  if (queueDepth <= 0) return 0
  return 2 ** Math.floor(Math.log2(queueDepth))
}

// Wire.

export function encodeDirectoryRequest(request: DirectoryRequest): Uint8Array {
  return encodeFrame(encodeJson(request), MAX_DIRECTORY_REQUEST_BYTES)
}

/** Throws `MalformedMessageError` for anything but a well-formed request. */
export function decodeDirectoryRequest(payload: Uint8Array): DirectoryRequest {
  if (payload.length > MAX_DIRECTORY_REQUEST_BYTES) fail('directory', `at most ${MAX_DIRECTORY_REQUEST_BYTES} bytes`)
  const fields = object(decodeJson(payload), 'directory')
  const type = oneOf(fields['type'], 'directory.type', ['query', 'publish'] as const)
  if (fields['v'] !== 1) fail('directory.v', '1')
  if (type === 'publish') {
    only(fields, 'directory', ['type', 'v'])
    return { type, v: 1 }
  }
  only(fields, 'directory', ['type', 'v', 'model', 'rank', 'limit', 'since', 'watch'])
  const model = string(fields['model'], 'directory.model', 66)
  if (!BYTES32.test(model)) fail('directory.model', 'a lower-case bytes32 hex string')
  const since = fields['since'] === null ? null : string(fields['since'], 'directory.since', 32)
  if (since !== null && !DIGEST.test(since)) fail('directory.since', 'a digest or null')
  if (typeof fields['watch'] !== 'boolean') fail('directory.watch', 'a boolean')
  return {
    type,
    v: 1,
    model: model as Hex,
    rank: oneOf(fields['rank'], 'directory.rank', DIRECTORY_RANKS),
    limit: integer(fields['limit'], 'directory.limit', 1, MAX_DIRECTORY_LIMIT),
    since,
    watch: fields['watch'],
  }
}

export function encodeViewHeader(header: Omit<ViewHeader, 'type' | 'v'>): Uint8Array {
  return encodeFrame(encodeJson({ type: 'view', v: 1, ...header } satisfies ViewHeader), MAX_VIEW_HEADER_BYTES)
}

export function encodeEntryFrame(bytes: Uint8Array): Uint8Array {
  return encodeFrame(bytes, MAX_ANNOUNCEMENT_BYTES)
}

export function decodeViewHeader(payload: Uint8Array): ViewHeader {
  const fields = object(decodeJson(payload), 'view')
  only(fields, 'view', ['type', 'v', 'digest', 'base', 'removed', 'count'])
  if (fields['type'] !== 'view') fail('view.type', '"view"')
  if (fields['v'] !== 1) fail('view.v', '1')
  const digest = string(fields['digest'], 'view.digest', 32)
  if (!DIGEST.test(digest)) fail('view.digest', 'a digest')
  const base = fields['base'] === null ? null : string(fields['base'], 'view.base', 32)
  if (base !== null && !DIGEST.test(base)) fail('view.base', 'a digest or null')
  const removed = array(fields['removed'], 'view.removed', MAX_DIRECTORY_LIMIT).map((p, i) => {
    const peerId = string(p, `view.removed[${i}]`, 128, 32)
    if (!PEER_ID.test(peerId)) fail(`view.removed[${i}]`, 'a base58 peer id')
    return peerId
  })
  return {
    type: 'view',
    v: 1,
    digest,
    base,
    removed,
    count: integer(fields['count'], 'view.count', 0, MAX_DIRECTORY_LIMIT),
  }
}
