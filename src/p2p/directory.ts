/**
 * The live directory of nodes for the models we care about. By default (`mode: 'query'`) it asks each connected
 * relay for the best `limit` nodes of each model over the directory query protocol and follows the relay's deltas,
 * verifying every entry; what several relays said is merged by (peer id, sequence), and a relay's view outlives the
 * relay until its entries expire (15 min after they were signed). The load is that of `limit` nodes whatever the
 * number of providers. With `mode: 'gossip'` it joins the models' announcement topics instead (every announcement
 * of every provider, validated and scored) and asks the relays for what they already hold on each topic it joins.
 * Either way it keeps the table of nodes, measures round-trip times with ping, and marks each node registered or not
 * through a pluggable lookup (the on-chain NodeRegistry binding of operator, signer and peer id).
 */
import type { Hex } from 'viem'
import { announcementTopic, type Announcement } from '../core/announcement.ts'
import type { Address } from '../core/deployment.ts'
import { DEFAULT_ANNOUNCE_INTERVAL_MS, DirectoryTable, type DirectoryEntry } from '../core/directory.ts'
import {
  ANNOUNCEMENT_TTL_MS,
  mergeViews,
  withoutExpired,
  type DirectoryRank,
  type DirectoryView,
} from '../core/directory-view.ts'
import { DirectoryViewError } from '../core/errors/p2p.ts'
import { DIRECTORY_DEFAULTS } from './constants.ts'
import { connectToPeer, toPeerId } from './dial.ts'
import { createEntryVerifier, watchRelayDirectory } from './directory-service.ts'
import { announcementGate, unwatchTopic, watchTopic, type AnnouncementGate } from './gossip.ts'
import { fetchLatestAnnouncements } from './latest-announcements.ts'
import type { ModelexNode } from './node.ts'

export type RegistrationQuery = { chainId: number; operator: Address; signer: Address; peerId: string }
/** True when the registry binds exactly this operator, signer and peer id; null when it cannot tell. */
export type RegistrationLookup = (query: RegistrationQuery) => Promise<boolean | null>

export type NodeDirectoryOptions = {
  /** Content hashes of the models to watch at start; more with `watch`. */
  models?: readonly Hex[]
  /** `query` (default): the best `limit` per model from the relays; `gossip`: every announcement on the models' topics. */
  mode?: 'query' | 'gossip'
  /** Query mode: nodes asked for per model and relay, and how the relays rank them. */
  limit?: number
  rank?: DirectoryRank
  /** Query mode: wait before asking a relay again after its watch ended (doubled after a refused answer). */
  retryMs?: number
  /** Query mode: called when a relay's answer is refused (a forged or altered entry, a delta that does not add up). */
  onRelayRefused?: (relay: string, error: DirectoryViewError) => void
  announceIntervalMs?: number
  missedAnnouncements?: number
  pingIntervalMs?: number
  maxPinged?: number
  isRegistered?: RegistrationLookup
  now?: () => number
}

export type NodeDirectory = {
  start(): Promise<void>
  stop(): Promise<void>
  watch(contentHash: Hex): void
  unwatch(contentHash: Hex): void
  list(filter?: { contentHash?: string }): DirectoryEntry[]
  get(peerId: string): DirectoryEntry | undefined
  /** Fires after any change of the table (added, updated, expired, RTT, registration). */
  onChange(listener: () => void): () => void
  /** Resolves with the first entry that matches; rejects after `timeoutMs`. */
  waitFor(predicate: (entry: DirectoryEntry) => boolean, timeoutMs: number): Promise<DirectoryEntry>
  readonly gate: AnnouncementGate
}

export const QUERY_DIRECTORY_DEFAULTS = { limit: 32, rank: 'price', retryMs: 1_000 } as const

export function createNodeDirectory(node: ModelexNode, options: NodeDirectoryOptions = {}): NodeDirectory {
  const {
    mode = 'query',
    limit = QUERY_DIRECTORY_DEFAULTS.limit,
    rank = QUERY_DIRECTORY_DEFAULTS.rank,
    retryMs = QUERY_DIRECTORY_DEFAULTS.retryMs,
    pingIntervalMs = DIRECTORY_DEFAULTS.pingIntervalMs,
    maxPinged = DIRECTORY_DEFAULTS.maxPinged,
    isRegistered,
    now = Date.now,
  } = options
  // Query mode: entries live until their TTL, counted from when they were signed (a relay may hand us an old one).
  const {
    announceIntervalMs = mode === 'query' ? ANNOUNCEMENT_TTL_MS : DEFAULT_ANNOUNCE_INTERVAL_MS,
    missedAnnouncements = mode === 'query' ? 1 : DIRECTORY_DEFAULTS.missedAnnouncements,
  } = options
  const pubsub = node.libp2p.services.pubsub
  const table = new DirectoryTable({ announceIntervalMs, missedAnnouncements })
  const gate = announcementGate({ now })
  const watched = new Set<string>()
  const listeners = new Set<() => void>()
  const timers: (ReturnType<typeof setInterval> | ReturnType<typeof setTimeout>)[] = []
  let running = false
  let stopStateListener: (() => void) | undefined

  const changed = () => {
    for (const listener of listeners) listener()
  }

  const checkRegistration = (announcement: Announcement) => {
    if (!isRegistered) return
    isRegistered({
      chainId: announcement.chainId,
      operator: announcement.operator,
      signer: announcement.signer,
      peerId: announcement.peerId,
    }).then(
      (registered) => {
        const entry = table.get(announcement.peerId)
        // Only if the entry still describes the binding we asked about.
        if (
          entry &&
          entry.announcement.signer === announcement.signer &&
          entry.announcement.operator === announcement.operator &&
          table.setRegistered(announcement.peerId, registered)
        )
          changed()
      },
      () => {},
    )
  }

  const onMessage = (event: CustomEvent<Parameters<AnnouncementGate['take']>[0]>) => {
    if (!watched.has(event.detail.topic)) return
    const announcement = gate.take(event.detail)
    if (announcement) accept(announcement)
  }

  const accept = (announcement: Announcement) => {
    const before = table.get(announcement.peerId)
    const outcome =
      mode === 'query'
        ? table.upsert(announcement, now(), Math.min(now(), announcement.timestamp))
        : table.upsert(announcement, now())
    if (outcome === 'ignored') return
    if (
      !before ||
      before.registered === null ||
      before.announcement.signer !== announcement.signer ||
      before.announcement.operator !== announcement.operator
    )
      checkRegistration(announcement)
    changed()
  }

  /** What the relays already heard on `topic`, so a newly joined topic need not wait for the next announcements. */
  const backfill = async (topic: string) => {
    for (const bytes of await fetchLatestAnnouncements(node, topic)) {
      if (!running || !watched.has(topic)) return
      const announcement = await gate.check(bytes, topic)
      if (announcement) accept(announcement)
    }
  }

  // Query mode: one watch per (relay, model); each relay's last verified view, kept after the relay goes.
  const verify = createEntryVerifier({ now })
  const views = new Map<string, Map<string, DirectoryView>>()
  const watches = new Map<string, AbortController>()
  const relayIds = node.relays
    .map((r) => r.getComponents().findLast((c) => c.name === 'p2p')?.value)
    .filter((id): id is string => id !== undefined)

  /** The table follows the merge of the relays' views: upserts what they hold, removes what none holds any more. */
  const reconcile = () => {
    const wanted = new Map<string, Announcement>()
    for (const [hash, byRelay] of views) {
      if (!watched.has(announcementTopic(hash))) continue
      for (const [peerId, a] of mergeViews([...byRelay.values()].map((v) => withoutExpired(v, now())))) {
        const known = wanted.get(peerId)
        if (!known || known.sequence < a.sequence) wanted.set(peerId, a)
      }
    }
    let removed = false
    for (const entry of table.list()) if (!wanted.has(entry.peerId)) removed = table.remove(entry.peerId) || removed
    for (const a of wanted.values()) accept(a)
    if (removed) changed()
  }

  const follow = (relay: string, hash: Hex) => {
    const key = `${relay} ${hash}`
    if (!running || watches.has(key) || !watched.has(announcementTopic(hash))) return
    const connection = node.libp2p
      .getConnections()
      .find((c) => c.remotePeer.toString() === relay && c.status === 'open')
    if (!connection) return
    const controller = new AbortController()
    watches.set(key, controller)
    let byRelay = views.get(hash)
    if (!byRelay) views.set(hash, (byRelay = new Map()))
    const held = byRelay.get(relay)
    let wait = retryMs
    watchRelayDirectory(connection.newStream.bind(connection), {
      model: hash,
      rank,
      limit,
      verify,
      signal: controller.signal,
      ...(held ? { held } : {}),
      onView: (view) => {
        byRelay.set(relay, view)
        reconcile()
      },
    })
      .catch((error: unknown) => {
        if (!(error instanceof DirectoryViewError)) return
        // A refused answer: forget this relay's view (the next ask is from scratch) and wait longer.
        byRelay.delete(relay)
        wait = retryMs * 4
        reconcile()
        options.onRelayRefused?.(relay, error)
      })
      .finally(() => {
        if (watches.get(key) !== controller) return
        watches.delete(key)
        if (!controller.signal.aborted) timers.push(setTimeout(() => follow(relay, hash), wait))
      })
  }

  const followAll = () => {
    for (const topic of watched) {
      const hash = topic.slice(topic.lastIndexOf('/') + 1) as Hex
      for (const relay of relayIds) follow(relay, hash)
    }
  }
  const onPeerConnect = (event: CustomEvent<{ toString(): string }>) => {
    if (relayIds.includes(event.detail.toString())) followAll()
  }

  const pingRound = async () => {
    for (const entry of table.list().slice(0, maxPinged)) {
      if (!running) return
      let rtt: number | null
      try {
        const peer = toPeerId(entry.peerId)
        await connectToPeer(node, peer, { timeoutMs: 5_000 })
        rtt = await node.libp2p.services.ping.ping(peer, { signal: AbortSignal.timeout(5_000) })
      } catch {
        rtt = null
      }
      if (table.setRtt(entry.peerId, rtt)) changed()
    }
  }

  const directory: NodeDirectory = {
    gate,
    async start() {
      running = true
      if (mode === 'gossip') {
        pubsub.addEventListener('message', onMessage)
        // Back from a relay outage: ask again for what was announced meanwhile.
        stopStateListener = node.onStateChange((state) => {
          if (state === 'connected') for (const topic of watched) void backfill(topic)
        })
      } else {
        node.libp2p.addEventListener('peer:connect', onPeerConnect)
        stopStateListener = () => node.libp2p.removeEventListener('peer:connect', onPeerConnect)
      }
      for (const hash of options.models ?? []) directory.watch(hash)
      timers.push(
        setInterval(
          () => {
            if (table.expire(now()).length) changed()
          },
          Math.min(DIRECTORY_DEFAULTS.expireCheckMs, announceIntervalMs),
        ),
      )
      if (mode === 'query') followAll()
      let pinging = false
      timers.push(
        setInterval(() => {
          if (pinging) return
          pinging = true
          pingRound().finally(() => (pinging = false))
        }, pingIntervalMs),
      )
    },
    async stop() {
      running = false
      stopStateListener?.()
      for (const timer of timers.splice(0)) clearInterval(timer)
      for (const controller of watches.values()) controller.abort()
      watches.clear()
      pubsub.removeEventListener('message', onMessage)
      if (mode === 'gossip') for (const topic of watched) unwatchTopic(pubsub, topic)
      watched.clear()
    },
    watch(contentHash) {
      const topic = announcementTopic(contentHash)
      if (watched.has(topic)) return
      watched.add(topic)
      if (mode === 'query') {
        for (const relay of relayIds) follow(relay, contentHash)
        return
      }
      watchTopic(pubsub, topic, gate.validate)
      if (running) void backfill(topic)
    },
    unwatch(contentHash) {
      const topic = announcementTopic(contentHash)
      if (!watched.delete(topic)) return
      if (mode === 'query') {
        for (const [key, controller] of watches) if (key.endsWith(` ${contentHash}`)) controller.abort()
        views.delete(contentHash)
      } else unwatchTopic(pubsub, topic)
      for (const entry of table.list()) {
        if (!entry.announcement.models.some((m) => watched.has(announcementTopic(m.contentHash))))
          table.remove(entry.peerId)
      }
      changed()
    },
    list: (filter) => table.list(filter),
    get: (peerId) => table.get(peerId),
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    waitFor(predicate, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = table.list().find(predicate)
          if (!found) return false
          clearTimeout(timer)
          stopListening()
          resolve(found)
          return true
        }
        const stopListening = directory.onChange(check)
        const timer = setTimeout(() => {
          stopListening()
          reject(new Error(`No matching node in the directory within ${timeoutMs} ms (${table.size} known).`))
        }, timeoutMs)
        check()
      })
    },
  }
  return directory
}
