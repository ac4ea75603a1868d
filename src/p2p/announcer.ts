/**
 * Announces this node: builds the announcement from the node's current state, signs it with the node signer, and
 * publishes it on the topic of every model it serves — every `intervalMs` (30 s) and soon after a change (spaced by
 * `minSpacingMs`). The sequence starts from the clock, so it keeps increasing across restarts.
 */
import type { Hex } from 'viem'
import { announcementTopic, encodeAnnouncement, signAnnouncement, type AnnouncedModel, type Announcement, type UnsignedAnnouncement } from '../core/announcement.ts'
import type { Address } from '../core/deployment.ts'
import { ANNOUNCE_DEFAULTS } from './constants.ts'
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

export function createAnnouncer(node: ModelexNode, { signer, operator, chainId, state, intervalMs = ANNOUNCE_DEFAULTS.intervalMs, minSpacingMs = ANNOUNCE_DEFAULTS.minSpacingMs, now = Date.now }: AnnouncerOptions): Announcer {
  const pubsub = node.libp2p.services.pubsub
  let sequence = 0
  let last: Announcement | null = null
  let lastAt = 0
  let published = 0
  let interval: ReturnType<typeof setInterval> | undefined
  let soon: ReturnType<typeof setTimeout> | undefined
  let running = false
  let inProgress: Promise<Announcement | null> | null = null
  const topics = new Set<string>()

  async function announceOnce(): Promise<Announcement | null> {
    const current = await state()
    if (!running || current.models.length === 0) return null
    const timestamp = now()
    sequence = Math.max(sequence + 1, timestamp)
    const unsigned: UnsignedAnnouncement = { version: 1, peerId: node.peerId.toString(), signer: signer.address, operator, chainId, ...current, sequence, timestamp }
    const announcement = await signAnnouncement(unsigned, signer.privateKey)
    const bytes = encodeAnnouncement(announcement)
    topics.clear()
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
    if (event.detail.subscriptions.some((s) => s.subscribe && topics.has(s.topic))) api.changed()
  }

  const announce = () => {
    inProgress ??= announceOnce().finally(() => {
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
      await announce()
      interval = setInterval(() => void announce().catch(() => {}), intervalMs)
    },
    async stop() {
      running = false
      pubsub.removeEventListener('subscription-change', onSubscriptionChange)
      clearInterval(interval)
      clearTimeout(soon)
      await inProgress?.catch(() => {})
    },
    changed() {
      if (!running || soon) return
      const wait = Math.max(0, lastAt + minSpacingMs - now())
      soon = setTimeout(() => {
        soon = undefined
        void announce().catch(() => {})
      }, wait)
    },
    announce,
  }
  return api
}
