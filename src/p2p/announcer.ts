/**
 * Announces this node: builds the announcement from the node's current state, signs it with the node signer, sends
 * it to each connected relay over the directory protocol (which serves it to consumers that ask for the model) and
 * publishes it on the gossip topic of every model it serves (which carries it to the other relays). It announces on
 * change (spaced by `minSpacingMs`), and only when what consumers rank by changed: models, prices, capacity, and the
 * queue depth by power-of-two bucket, so a busy node does not re-announce at every request; and as a refresh every
 * `intervalMs` (5 min), well within the 15 min a directory entry lives. The sequence starts from the clock, so it
 * keeps increasing across restarts.
 */
import type { Hex } from 'viem'
import {
  announcementTopic,
  encodeAnnouncement,
  signAnnouncement,
  type AnnouncedModel,
  type Announcement,
  type UnsignedAnnouncement,
} from '../core/announcement.ts'
import type { Address } from '../core/deployment.ts'
import { ANNOUNCEMENT_REFRESH_MS, queueDepthBucket } from '../core/directory-view.ts'
import { ANNOUNCE_DEFAULTS } from './constants.ts'
import { publishToRelay } from './directory-service.ts'
import type { ModelexNode } from './node.ts'

export type AnnouncedState = {
  models: AnnouncedModel[]
  pricePerMillionInput: string
  pricePerMillionOutput: string
  capacity: number
  queueDepth: number
}

export type AnnouncerOptions = {
  signer: { privateKey: Hex; address: Address }
  operator: Address
  chainId: number
  /** Read at every announcement. */
  state: () => AnnouncedState | Promise<AnnouncedState>
  intervalMs?: number
  minSpacingMs?: number
  now?: () => number
}

export type Announcer = {
  start(): Promise<void>
  stop(): Promise<void>
  /** Asks for an announcement soon (state changed). */
  changed(): void
  /** Announces now; resolves with what was published. */
  announce(): Promise<Announcement | null>
  readonly last: Announcement | null
  readonly published: number
}

export function createAnnouncer(
  node: ModelexNode,
  {
    signer,
    operator,
    chainId,
    state,
    intervalMs = ANNOUNCEMENT_REFRESH_MS,
    minSpacingMs = ANNOUNCE_DEFAULTS.minSpacingMs,
    now = Date.now,
  }: AnnouncerOptions,
): Announcer {
  const pubsub = node.libp2p.services.pubsub
  let sequence = 0
  let last: Announcement | null = null
  let lastAt = 0
  let published = 0
  let interval: ReturnType<typeof setInterval> | undefined
  let running = false
  let inProgress: Promise<Announcement | null> | null = null
  const topics = new Set<string>()
  const relayIds = new Set(
    node.relays
      .map((r) => r.getComponents().findLast((c) => c.name === 'p2p')?.value)
      .filter((id): id is string => id !== undefined),
  )
  const relayConnections = () =>
    node.libp2p.getConnections().filter((c) => c.status === 'open' && relayIds.has(c.remotePeer.toString()))

  /** What consumers rank by: an announcement on change goes out only when this differs from the last one's. */
  const significant = (s: AnnouncedState) =>
    JSON.stringify([s.models, s.pricePerMillionInput, s.pricePerMillionOutput, s.capacity, s.queueDepth])

  async function announceOnce(onlyIfChanged: boolean): Promise<Announcement | null> {
    const read = await state()
    const current = { ...read, queueDepth: queueDepthBucket(read.queueDepth) }
    if (!running || current.models.length === 0) return null
    if (onlyIfChanged && last && significant(current) === significant(last)) return last
    const timestamp = now()
    sequence = Math.max(sequence + 1, timestamp)
    const unsigned: UnsignedAnnouncement = {
      version: 1,
      peerId: node.peerId.toString(),
      signer: signer.address,
      operator,
      chainId,
      ...current,
      sequence,
      timestamp,
    }
    const announcement = await signAnnouncement(unsigned, signer.privateKey)
    const bytes = encodeAnnouncement(announcement)
    topics.clear()
    await Promise.all(
      relayConnections().map((c) =>
        publishToRelay(c.newStream.bind(c), [bytes], { signal: AbortSignal.timeout(5_000) }).catch(() => {}),
      ),
    )
    for (const model of current.models) {
      const topic = announcementTopic(model.contentHash)
      topics.add(topic)
      // Published without joining the topic: we need not hear other providers of the model (that load would grow
      // with their number), and the relay is on the topic as soon as a consumer is.
      await pubsub.publish(topic, bytes).catch(() => {})
    }
    last = announcement
    lastAt = now()
    published++
    return announcement
  }

  // A peer (in practice the relay, on behalf of a first consumer) joining one of our topics hears from us at once
  // instead of at the next interval.
  const onSubscriptionChange = (event: CustomEvent<{ subscriptions: { topic: string; subscribe: boolean }[] }>) => {
    if (event.detail.subscriptions.some((s) => s.subscribe && topics.has(s.topic))) soon(false)
  }
  // A relay that (re)connects has nothing of ours (a restarted one lost its store): send it the announcement now, not
  // at the next refresh.
  const onPeerConnect = (event: CustomEvent<{ toString(): string }>) => {
    if (relayIds.has(event.detail.toString())) soon(false)
  }

  let timer: ReturnType<typeof setTimeout> | undefined
  let onlyIfChanged = true
  const soon = (ifChanged: boolean) => {
    onlyIfChanged &&= ifChanged
    if (!running || timer) return
    const wait = Math.max(0, lastAt + minSpacingMs - now())
    timer = setTimeout(() => {
      timer = undefined
      const gate = onlyIfChanged
      onlyIfChanged = true
      void announce(gate).catch(() => {})
    }, wait)
  }

  const announce = (onlyIfChanged = false) => {
    inProgress ??= announceOnce(onlyIfChanged).finally(() => {
      inProgress = null
    })
    return inProgress
  }

  const api: Announcer = {
    get last() {
      return last
    },
    get published() {
      return published
    },
    async start() {
      running = true
      pubsub.addEventListener('subscription-change', onSubscriptionChange)
      node.libp2p.addEventListener('peer:connect', onPeerConnect)
      await announce()
      interval = setInterval(() => void announce().catch(() => {}), intervalMs)
    },
    async stop() {
      running = false
      pubsub.removeEventListener('subscription-change', onSubscriptionChange)
      node.libp2p.removeEventListener('peer:connect', onPeerConnect)
      clearInterval(interval)
      clearTimeout(timer)
      await inProgress?.catch(() => {})
    },
    changed() {
      soon(true)
    },
    announce: () => announce(),
  }
  return api
}
