/**
 * The node directory's table: the nodes heard from announcements, with what we measured (round-trip time) and
 * what the chain says (registered or not). A node that misses `missedAnnouncements` announcement intervals is
 * dropped. Pure and clock-injected; the p2p directory feeds it messages, pings and registry answers.
 */
import type { Announcement } from './announcement.ts'

export const DEFAULT_ANNOUNCE_INTERVAL_MS = 30_000
export const DEFAULT_MISSED_ANNOUNCEMENTS = 3

export type DirectoryEntry = {
  peerId: string
  announcement: Announcement
  firstSeen: number
  lastSeen: number
  /** Last measured round-trip time; null until measured or when the last ping failed. */
  rttMs: number | null
  /** Whether the registry binds this operator, signer and peer id; null while unknown (or no registry). */
  registered: boolean | null
}

export type DirectoryTableOptions = { announceIntervalMs?: number; missedAnnouncements?: number; maxEntries?: number }

export type UpsertResult = 'added' | 'updated' | 'ignored'

export class DirectoryTable {
  readonly expireAfterMs: number
  readonly maxEntries: number
  #entries = new Map<string, DirectoryEntry>()

  constructor({
    announceIntervalMs = DEFAULT_ANNOUNCE_INTERVAL_MS,
    missedAnnouncements = DEFAULT_MISSED_ANNOUNCEMENTS,
    maxEntries = 10_000,
  }: DirectoryTableOptions = {}) {
    this.expireAfterMs = announceIntervalMs * missedAnnouncements
    this.maxEntries = maxEntries
  }

  get size(): number {
    return this.#entries.size
  }

  /**
   * Records an announcement that passed validation, heard at `seenAt` (default `now`; the directory query protocol
   * passes the announcement's own time, since a relay may hand over one signed minutes ago). An older one than we hold
   * changes nothing, and so does the same one again unless heard later.
   */
  upsert(announcement: Announcement, now: number, seenAt = now): UpsertResult {
    const known = this.#entries.get(announcement.peerId)
    if (known) {
      if (announcement.sequence < known.announcement.sequence) return 'ignored'
      // The same announcement again (from a second relay, or a view re-read) changes nothing.
      if (
        announcement.sequence === known.announcement.sequence &&
        announcement.signature === known.announcement.signature &&
        seenAt <= known.lastSeen
      )
        return 'ignored'
      const signerChanged =
        known.announcement.signer !== announcement.signer || known.announcement.operator !== announcement.operator
      this.#entries.set(announcement.peerId, {
        ...known,
        announcement,
        lastSeen: Math.max(seenAt, known.lastSeen),
        registered: signerChanged ? null : known.registered,
      })
      return 'updated'
    }
    if (this.#entries.size >= this.maxEntries) return 'ignored'
    this.#entries.set(announcement.peerId, {
      peerId: announcement.peerId,
      announcement,
      firstSeen: now,
      lastSeen: seenAt,
      rttMs: null,
      registered: null,
    })
    return 'added'
  }

  setRtt(peerId: string, rttMs: number | null): boolean {
    const entry = this.#entries.get(peerId)
    if (!entry) return false
    this.#entries.set(peerId, { ...entry, rttMs })
    return true
  }

  setRegistered(peerId: string, registered: boolean | null): boolean {
    const entry = this.#entries.get(peerId)
    if (!entry) return false
    this.#entries.set(peerId, { ...entry, registered })
    return true
  }

  get(peerId: string): DirectoryEntry | undefined {
    return this.#entries.get(peerId)
  }

  remove(peerId: string): boolean {
    return this.#entries.delete(peerId)
  }

  /** Drops nodes not heard from for `expireAfterMs`; returns their peer ids. */
  expire(now: number): string[] {
    const gone: string[] = []
    for (const [peerId, entry] of this.#entries) {
      if (now - entry.lastSeen > this.expireAfterMs) {
        this.#entries.delete(peerId)
        gone.push(peerId)
      }
    }
    return gone
  }

  /** Entries, optionally only those serving a model, cheapest output price first, then lowest RTT. */
  list(filter: { contentHash?: string } = {}): DirectoryEntry[] {
    const entries = [...this.#entries.values()].filter(
      (e) =>
        filter.contentHash === undefined || e.announcement.models.some((m) => m.contentHash === filter.contentHash),
    )
    return entries.sort(compareEntries)
  }
}

function compareEntries(a: DirectoryEntry, b: DirectoryEntry): number {
  const pa = BigInt(a.announcement.pricePerMillionOutput)
  const pb = BigInt(b.announcement.pricePerMillionOutput)
  if (pa !== pb) return pa < pb ? -1 : 1
  const ra = a.rttMs ?? Number.POSITIVE_INFINITY
  const rb = b.rttMs ?? Number.POSITIVE_INFINITY
  if (ra !== rb) return ra < rb ? -1 : 1
  return a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0
}
