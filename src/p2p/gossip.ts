/**
 * Gossipsub settings shared by every Modelex peer (browser node, Node node, relay), and `watchTopic`: subscribe
 * to a topic with its validator and its score parameters together, so no topic is ever joined unvalidated or
 * unscored. Score parameters are per topic in gossipsub and our announcement topics appear at run time (one per
 * model), so they are added to the live score table when the topic is joined.
 */
import { gossipsub, TopicValidatorResult, type GossipSub, type GossipsubOpts } from '@libp2p/gossipsub'
import { createTopicScoreParams, type TopicScoreParams } from '@libp2p/gossipsub/score'
import type { Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import {
  createAnnouncementValidator,
  type Announcement,
  type AnnouncementValidatorOptions,
} from '../core/announcement.ts'
import { IGNORED_ANNOUNCEMENT_REASONS, InvalidAnnouncementError } from '../core/errors/p2p.ts'
import { ANNOUNCEMENT_TOPIC_SCORE } from './constants.ts'

export type GossipOptions = {
  /** IPs exempt from the same-IP penalty: loopback in tests and on the local stack, where every peer shares one. */
  colocationWhitelist?: readonly string[]
  /** Mesh degrees (the relay, a hub, uses much larger ones than peers). */
  mesh?: Partial<Pick<GossipsubOpts, 'D' | 'Dlo' | 'Dhi' | 'Dlazy' | 'Dout'>>
  /** The relay's federation: its peer relays as gossipsub direct peers, how often to redial them, RPC decode limits. */
  federation?: Partial<Pick<GossipsubOpts, 'directPeers' | 'directConnectTicks' | 'decodeRpcLimits'>>
  /** A score added to a peer's (the relay raises its peer relays above every threshold). */
  appSpecificScore?: (peer: string) => number
}

export function modelexGossipsub({
  colocationWhitelist = [],
  mesh = {},
  federation = {},
  appSpecificScore,
}: GossipOptions = {}): ReturnType<typeof gossipsub> {
  const options: Partial<GossipsubOpts> = {
    ...mesh,
    ...federation,
    // A provider alone on a topic is normal (no consumer yet); publishing must not throw.
    allowPublishToZeroTopicPeers: true,
    emitSelf: false,
    // Browser peers reach each other through the relay; gossip may ride those connections too.
    runOnLimitedConnection: true,
    scoreParams: {
      IPColocationFactorWhitelist: new Set(colocationWhitelist),
      topics: {},
      ...(appSpecificScore ? { appSpecificScore, appSpecificWeight: 1 } : {}),
    },
  }
  return gossipsub(options)
}

type ScoredGossipSub = GossipSub & { score?: { params?: { topics?: Record<string, TopicScoreParams> } } }

export function setTopicScore(pubsub: GossipSub, topic: string, params: Partial<TopicScoreParams>): void {
  const topics = (pubsub as ScoredGossipSub).score?.params?.topics
  if (topics) topics[topic] = createTopicScoreParams(params)
}

export type Validate = (from: PeerId, message: Message) => Promise<TopicValidatorResult>

/** Joins a topic: validator and score first, then the subscription. */
export function watchTopic(
  pubsub: GossipSub,
  topic: string,
  validate: Validate,
  score: Partial<TopicScoreParams> = ANNOUNCEMENT_TOPIC_SCORE,
): void {
  pubsub.topicValidators.set(topic, validate)
  setTopicScore(pubsub, topic, score)
  pubsub.subscribe(topic)
}

export function unwatchTopic(pubsub: GossipSub, topic: string): void {
  pubsub.unsubscribe(topic)
  pubsub.topicValidators.delete(topic)
}

export type AnnouncementGate = {
  validate: Validate
  /** What passed validation, by gossip message, for the message handler (so it does not decode twice). */
  take(message: Message): Announcement | undefined
  /** Validates announcement bytes that came another way (a relay's cache) with the same rules and counters. */
  check(bytes: Uint8Array, topic: string): Promise<Announcement | undefined>
  counts: { accepted: number; rejected: number; ignored: number }
}

/**
 * The gossipsub validator for announcement topics: accept, reject (penalise the sender) or ignore, per the
 * validator's reason. Validated announcements are kept briefly for the 'message' event that follows.
 */
export function announcementGate(options: AnnouncementValidatorOptions = {}): AnnouncementGate {
  const validator = createAnnouncementValidator(options)
  const passed = new WeakMap<Message, Announcement>()
  const counts = { accepted: 0, rejected: 0, ignored: 0 }
  return {
    counts,
    async validate(_from, message) {
      try {
        const from = message.type === 'signed' ? message.from.toString() : undefined
        const announcement = await validator.validate(message.data, { topic: message.topic, from })
        passed.set(message, announcement)
        counts.accepted++
        return TopicValidatorResult.Accept
      } catch (error) {
        if (error instanceof InvalidAnnouncementError && IGNORED_ANNOUNCEMENT_REASONS.has(error.reason)) {
          counts.ignored++
          return TopicValidatorResult.Ignore
        }
        counts.rejected++
        return TopicValidatorResult.Reject
      }
    },
    take(message) {
      const announcement = passed.get(message)
      passed.delete(message)
      return announcement
    },
    async check(bytes, topic) {
      try {
        const announcement = await validator.validate(bytes, { topic })
        counts.accepted++
        return announcement
      } catch (error) {
        if (error instanceof InvalidAnnouncementError && IGNORED_ANNOUNCEMENT_REASONS.has(error.reason))
          counts.ignored++
        else counts.rejected++
        return undefined
      }
    },
  }
}
