/**
 * What a relay serves on the directory query protocol: the newest validated announcement of each node per model
 * (bounded per model and in models; entries older than the TTL are dropped), the best-N views of the queries asked,
 * cached until a change could alter them, and the last few views of each query by digest, so an asker that holds one
 * gets only the delta. Pure and clock-injected; `src/p2p/directory-service.ts` does the streams.
 */
import type { Announcement } from './announcement.ts'
import {
  ANNOUNCEMENT_TTL_MS,
  compareForRank,
  diffViews,
  isExpired,
  viewDigest,
  type DirectoryRank,
  type ViewIds,
} from './directory-view.ts'

export type HeldEntry = { announcement: Announcement; bytes: Uint8Array }

export type DirectoryStoreOptions = {
  ttlMs?: number
  /** Nodes kept per model; a new node beyond it is refused (the ones already held keep refreshing). */
  maxPerModel?: number
  maxModels?: number
  /** Past views remembered per query, to answer deltas. */
  maxSnapshots?: number
  /** Queries (model, rank, limit) whose views are cached, at most. */
  maxQueries?: number
}

export type StoredView = { digest: string; ids: ViewIds; entries: HeldEntry[] }

export type DirectoryAnswer = { digest: string; base: string | null; removed: string[]; upserts: HeldEntry[] }

type Query = {
  model: string
  rank: DirectoryRank
  limit: number
  view: StoredView | null
  snapshots: Map<string, ViewIds>
}

export function queryKey(model: string, rank: DirectoryRank, limit: number): string {
  return `${model}/${rank}/${limit}`
}

export class DirectoryStore {
  readonly #models = new Map<string, Map<string, HeldEntry>>()
  readonly #queries = new Map<string, Query>()
  readonly #ttlMs: number
  readonly #maxPerModel: number
  readonly #maxModels: number
  readonly #maxSnapshots: number
  readonly #maxQueries: number
  readonly #listeners = new Set<(model: string, key: string) => void>()

  constructor({
    ttlMs = ANNOUNCEMENT_TTL_MS,
    maxPerModel = 20_000,
    maxModels = 4096,
    maxSnapshots = 16,
    maxQueries = 1024,
  }: DirectoryStoreOptions = {}) {
    this.#ttlMs = ttlMs
    this.#maxPerModel = maxPerModel
    this.#maxModels = maxModels
    this.#maxSnapshots = maxSnapshots
    this.#maxQueries = maxQueries
  }

  /** Nodes held over all models. */
  get size(): number {
    let n = 0
    for (const held of this.#models.values()) n += held.size
    return n
  }

  /** Called with a query's key when its view may have changed (for watchers). */
  onChange(listener: (model: string, key: string) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Keeps a validated announcement for each model it lists, unless one with the same or a higher sequence of that
   * node is held. Returns whether anything changed.
   */
  record(announcement: Announcement, bytes: Uint8Array, now: number): boolean {
    if (isExpired(announcement, now, this.#ttlMs)) return false
    let changed = false
    for (const { contentHash } of announcement.models) {
      let held = this.#models.get(contentHash)
      if (!held) {
        if (this.#models.size >= this.#maxModels) continue
        held = new Map()
        this.#models.set(contentHash, held)
      }
      const known = held.get(announcement.peerId)
      if (known && known.announcement.sequence >= announcement.sequence) continue
      if (!known && held.size >= this.#maxPerModel) continue
      const entry = { announcement, bytes }
      held.set(announcement.peerId, entry)
      changed = true
      this.#touched(contentHash, entry, known)
    }
    return changed
  }

  /** Drops every entry of a node (for a relay that knows the node is gone for good). */
  forget(peerId: string): void {
    for (const [model, held] of this.#models) {
      const known = held.get(peerId)
      if (!known) continue
      held.delete(peerId)
      this.#touched(model, null, known)
      if (held.size === 0) this.#models.delete(model)
    }
  }

  /** Drops what is older than the TTL; returns how many entries went. */
  expire(now: number): number {
    let gone = 0
    for (const [model, held] of this.#models) {
      for (const [peerId, entry] of held) {
        if (!isExpired(entry.announcement, now, this.#ttlMs)) continue
        held.delete(peerId)
        gone++
        this.#touched(model, null, entry)
      }
      if (held.size === 0) this.#models.delete(model)
    }
    return gone
  }

  /** The best `limit` nodes of a model by a ranking, as of now (expired ones dropped first). */
  view(model: string, rank: DirectoryRank, limit: number, now: number): StoredView {
    const query = this.#query(model, rank, limit)
    if (query.view && query.view.entries.some((e) => isExpired(e.announcement, now, this.#ttlMs))) this.expire(now)
    if (!query.view) {
      const compare = compareForRank(rank, model)
      const held = this.#models.get(model)
      const entries = held
        ? bestOf(fresh(held.values(), now, this.#ttlMs), limit, (a, b) => compare(a.announcement, b.announcement))
        : []
      const ids = new Map(entries.map((e) => [e.announcement.peerId, e.announcement.sequence]))
      query.view = { digest: viewDigest(ids), ids, entries }
      query.snapshots.delete(query.view.digest)
      query.snapshots.set(query.view.digest, ids)
      if (query.snapshots.size > this.#maxSnapshots)
        query.snapshots.delete(query.snapshots.keys().next().value as string)
    }
    return query.view
  }

  /** What an asker holding the view `since` needs: nothing when it is current, the delta when we remember `since`, else all. */
  answer(model: string, rank: DirectoryRank, limit: number, since: string | null, now: number): DirectoryAnswer {
    const view = this.view(model, rank, limit, now)
    const old = since === null ? undefined : this.#queries.get(queryKey(model, rank, limit))?.snapshots.get(since)
    if (!old) return { digest: view.digest, base: null, removed: [], upserts: view.entries }
    const { removed, changed } = diffViews(old, view.ids)
    const wanted = new Set(changed)
    return {
      digest: view.digest,
      base: since,
      removed,
      upserts: view.entries.filter((e) => wanted.has(e.announcement.peerId)),
    }
  }

  #query(model: string, rank: DirectoryRank, limit: number): Query {
    const key = queryKey(model, rank, limit)
    let query = this.#queries.get(key)
    if (!query) {
      query = { model, rank, limit, view: null, snapshots: new Map() }
      this.#queries.set(key, query)
      if (this.#queries.size > this.#maxQueries) this.#queries.delete(this.#queries.keys().next().value as string)
    }
    return query
  }

  /**
   * Invalidates the cached views of a model that a change of one node could alter: it was in the view, the view is
   * not full, or it now ranks above the view's last entry. The rest stay cached, so 10,000 nodes refreshing cost
   * a comparison each, not a ranking each.
   */
  #touched(model: string, now: HeldEntry | null, before: HeldEntry | undefined): void {
    const peerId = (now ?? before)?.announcement.peerId
    for (const [key, query] of this.#queries) {
      if (query.model !== model || !query.view) continue
      const { view } = query
      const last = view.entries.at(-1)
      const affects =
        (peerId !== undefined && view.ids.has(peerId)) ||
        (now !== null &&
          (view.entries.length < query.limit ||
            !last ||
            compareForRank(query.rank, model)(now.announcement, last.announcement) < 0))
      if (!affects) continue
      query.view = null
      for (const listener of this.#listeners) listener(model, key)
    }
  }
}

function* fresh(entries: Iterable<HeldEntry>, now: number, ttlMs: number): Iterable<HeldEntry> {
  for (const entry of entries) if (!isExpired(entry.announcement, now, ttlMs)) yield entry
}

/** The best `limit` items, in order: one pass keeping a sorted list of at most `limit` (limits are small). */
function bestOf<T>(items: Iterable<T>, limit: number, compare: (a: T, b: T) => number): T[] {
  const best: T[] = []
  for (const item of items) {
    if (best.length === limit && compare(item, best[best.length - 1] as T) >= 0) continue
    let i = best.length
    while (i > 0 && compare(item, best[i - 1] as T) < 0) i--
    best.splice(i, 0, item)
    if (best.length > limit) best.pop()
  }
  return best
}
