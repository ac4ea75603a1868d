/**
 * The relay's last-value cache of announcements, and the wire of the protocol that hands it out. A consumer that
 * joins a model's topic otherwise waits for each provider's next periodic announcement (up to 30 s), because the
 * providers see only the relay join the topic, not the consumer behind it. The relay keeps the newest validated
 * announcement of each node per topic; a peer that joins asks for them once (`/modelex/announcements/1.0.0`) and
 * validates each itself, exactly as if it had come by gossip. Pure: the p2p side lives in `src/p2p`.
 *
 * Wire: the asker sends one frame `{"type":"latest","v":1,"topic":…}`; the relay answers with one frame per
 * announcement (the announcement's own bytes, as gossiped) and closes the stream.
 */
import { MAX_ANNOUNCEMENT_BYTES, MAX_CLOCK_SKEW_MS, topicContentHash } from './announcement.ts'
import { decodeJson, encodeJson, fail, object, only, string } from './wire/check.ts'
import { encodeFrame } from './wire/frame.ts'

export const LATEST_ANNOUNCEMENTS_PROTOCOL = '/modelex/announcements/1.0.0'
export const MAX_LATEST_REQUEST_BYTES = 256
/** Most announcements kept (and answered) per topic. */
export const MAX_LATEST_PER_TOPIC = 64

export type LatestRequest = { type: 'latest'; v: 1; topic: string }

export function encodeLatestRequest(topic: string): Uint8Array {
  return encodeFrame(encodeJson({ type: 'latest', v: 1, topic } satisfies LatestRequest), MAX_LATEST_REQUEST_BYTES)
}

/** Throws `MalformedMessageError` for anything but a request about an announcement topic. */
export function decodeLatestRequest(payload: Uint8Array): LatestRequest {
  const fields = object(decodeJson(payload), 'latest')
  only(fields, 'latest', ['type', 'v', 'topic'])
  if (fields['type'] !== 'latest') fail('latest.type', '"latest"')
  if (fields['v'] !== 1) fail('latest.v', '1')
  const topic = string(fields['topic'], 'latest.topic', 128, 1)
  if (topicContentHash(topic) === null) fail('latest.topic', 'an announcement topic')
  return { type: 'latest', v: 1, topic }
}

export function encodeAnnouncementFrame(bytes: Uint8Array): Uint8Array {
  return encodeFrame(bytes, MAX_ANNOUNCEMENT_BYTES)
}

type Held = { bytes: Uint8Array; timestamp: number }

/**
 * Newest announcement bytes per (topic, node), bounded per topic and in topics; what is older than the validators'
 * clock-skew limit is dropped, since no one would accept it, and so is everything of a node that disconnects.
 */
export class LatestAnnouncements {
  readonly #topics = new Map<string, Map<string, Held>>()
  readonly #maxTopics: number
  readonly #maxPerTopic: number
  readonly #maxAgeMs: number

  constructor({
    maxTopics = 1_024,
    maxPerTopic = MAX_LATEST_PER_TOPIC,
    maxAgeMs = MAX_CLOCK_SKEW_MS,
  }: { maxTopics?: number; maxPerTopic?: number; maxAgeMs?: number } = {}) {
    this.#maxTopics = maxTopics
    this.#maxPerTopic = maxPerTopic
    this.#maxAgeMs = maxAgeMs
  }

  /** Keeps a validated announcement (its peer id, timestamp and bytes) unless a newer one of that node is held. */
  record(topic: string, peerId: string, timestamp: number, bytes: Uint8Array): void {
    let held = this.#topics.get(topic)
    if (!held) {
      if (this.#topics.size >= this.#maxTopics) return
      held = new Map()
      this.#topics.set(topic, held)
    }
    const known = held.get(peerId)
    if (known && known.timestamp >= timestamp) return
    held.delete(peerId)
    held.set(peerId, { bytes, timestamp })
    // Oldest insertion first: the node that has not announced for longest goes.
    if (held.size > this.#maxPerTopic) held.delete(held.keys().next().value as string)
  }

  /** Drops every announcement of `peerId` (it left: a node that is gone must not be handed to newcomers). */
  forget(peerId: string): void {
    for (const [topic, held] of this.#topics) {
      held.delete(peerId)
      if (held.size === 0) this.#topics.delete(topic)
    }
  }

  /** The announcements of `topic` still young enough to pass a validator at `now`, newest last. */
  latest(topic: string, now: number): Uint8Array[] {
    const held = this.#topics.get(topic)
    if (!held) return []
    for (const [peerId, { timestamp }] of held) if (now - timestamp > this.#maxAgeMs) held.delete(peerId)
    if (held.size === 0) this.#topics.delete(topic)
    return [...held.values()].map((h) => h.bytes)
  }
}
