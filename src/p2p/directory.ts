/**
 * The live directory of nodes: joins the announcement topics of the models we care about (validated, scored),
 * asks the relays for the announcements they already hold on each topic it joins (so nodes are known at once, not
 * after their next announcement), keeps the table of nodes from what arrives, drops nodes after 3 missed announcements, measures round-trip
 * times with ping, and marks each node registered or not through a pluggable lookup (the on-chain NodeRegistry
 * binding of operator, signer and peer id).
 */
import type { Hex } from 'viem'
import { announcementTopic, type Announcement } from '../core/announcement.ts'
import type { Address } from '../core/deployment.ts'
import { DEFAULT_ANNOUNCE_INTERVAL_MS, DirectoryTable, type DirectoryEntry } from '../core/directory.ts'
import { DIRECTORY_DEFAULTS } from './constants.ts'
import { connectToPeer, toPeerId } from './dial.ts'
import { announcementGate, unwatchTopic, watchTopic, type AnnouncementGate } from './gossip.ts'
import { fetchLatestAnnouncements } from './latest-announcements.ts'
import type { ModelexNode } from './node.ts'

export type RegistrationQuery = { chainId: number; operator: Address; signer: Address; peerId: string }
/** True when the registry binds exactly this operator, signer and peer id; null when it cannot tell. */
export type RegistrationLookup = (query: RegistrationQuery) => Promise<boolean | null>

export type NodeDirectoryOptions = {
  /** Content hashes of the models to watch at start; more with `watch`. */
  models?: readonly Hex[]
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

export function createNodeDirectory(node: ModelexNode, options: NodeDirectoryOptions = {}): NodeDirectory {
  const { announceIntervalMs = DEFAULT_ANNOUNCE_INTERVAL_MS, missedAnnouncements = DIRECTORY_DEFAULTS.missedAnnouncements, pingIntervalMs = DIRECTORY_DEFAULTS.pingIntervalMs, maxPinged = DIRECTORY_DEFAULTS.maxPinged, isRegistered, now = Date.now } = options
  const pubsub = node.libp2p.services.pubsub
  const table = new DirectoryTable({ announceIntervalMs, missedAnnouncements })
  const gate = announcementGate({ now })
  const watched = new Set<string>()
  const listeners = new Set<() => void>()
  const timers: ReturnType<typeof setInterval>[] = []
  let running = false
  let stopStateListener: (() => void) | undefined

  const changed = () => {
    for (const listener of listeners) listener()
  }

  const checkRegistration = (announcement: Announcement) => {
    if (!isRegistered) return
    isRegistered({ chainId: announcement.chainId, operator: announcement.operator, signer: announcement.signer, peerId: announcement.peerId }).then(
      (registered) => {
        const entry = table.get(announcement.peerId)
        // Only if the entry still describes the binding we asked about.
        if (entry && entry.announcement.signer === announcement.signer && entry.announcement.operator === announcement.operator && table.setRegistered(announcement.peerId, registered)) changed()
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
    const outcome = table.upsert(announcement, now())
    if (outcome === 'ignored') return
    if (!before || before.registered === null || before.announcement.signer !== announcement.signer || before.announcement.operator !== announcement.operator) checkRegistration(announcement)
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
      pubsub.addEventListener('message', onMessage)
      // Back from a relay outage: ask again for what was announced meanwhile.
      stopStateListener = node.onStateChange((state) => {
        if (state === 'connected') for (const topic of watched) void backfill(topic)
      })
      for (const hash of options.models ?? []) directory.watch(hash)
      timers.push(
        setInterval(() => {
          if (table.expire(now()).length) changed()
        }, Math.min(DIRECTORY_DEFAULTS.expireCheckMs, announceIntervalMs)),
      )
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
      pubsub.removeEventListener('message', onMessage)
      for (const topic of watched) unwatchTopic(pubsub, topic)
      watched.clear()
    },
    watch(contentHash) {
      const topic = announcementTopic(contentHash)
      if (watched.has(topic)) return
      watched.add(topic)
      watchTopic(pubsub, topic, gate.validate)
      if (running) void backfill(topic)
    },
    unwatch(contentHash) {
      const topic = announcementTopic(contentHash)
      if (!watched.delete(topic)) return
      unwatchTopic(pubsub, topic)
      for (const entry of table.list()) {
        if (!entry.announcement.models.some((m) => watched.has(announcementTopic(m.contentHash)))) table.remove(entry.peerId)
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
