/**
 * Which announcement topics a relay joins, kept pure so its bounds are tested without a network. The relay mirrors
 * each peer's subscriptions (from gossipsub's subscription events) and, at each sweep, joins the topics someone wants
 * when the model is registered on-chain, within an overall bound and a bound per peer that asked (peer relays of
 * the same deployment are exempt from the per-peer bound, not from the others), and leaves the topics no one wants
 * any more or whose model left the registry. A peer subscribing to more topics than any honest peer would is
 * flooding: the relay hangs up on it. Without a registry the relay takes every well-formed announcement topic,
 * within the same bounds (tests, a private stack).
 */
import { topicContentHash } from './announcement.ts'

export type TopicRefusalReason = 'unregistered-model' | 'relay-topic-limit' | 'peer-topic-limit'

export type RelayTopicsOptions = {
  /** Topics joined at once, at most. */
  maxTopics: number
  /** Topics one peer may make the relay join. */
  maxTopicsPerPeer: number
  /** Topic subscriptions one peer may hold with us before it counts as flooding. */
  maxSubscriptionsPerPeer: number
  /** Peers exempt from the per-peer bounds: the deployment's other relays. */
  exempt?: (peer: string) => boolean
}

/** The registry's verdict on a model content hash: true, false, or undefined while unknown (asked, not answered). */
export type ModelVerdict = (contentHash: string) => boolean | undefined

export type TopicPlan = {
  join: string[]
  leave: string[]
  /** Wanted topics not joined, and why. */
  refused: Map<string, TopicRefusalReason>
}

export class RelayTopics {
  readonly #options: Required<RelayTopicsOptions>
  readonly #byPeer = new Map<string, Set<string>>()
  readonly #byTopic = new Map<string, Set<string>>()
  /** Joined topics, and the peer whose quota each counts against (null: an exempt peer). */
  readonly #joined = new Map<string, string | null>()
  readonly #sponsored = new Map<string, number>()

  constructor(options: RelayTopicsOptions) {
    this.#options = { exempt: () => false, ...options }
  }

  /** Records that `peer` subscribed to `topic`; 'flooding' once it holds more than its bound (forget it then). */
  subscribe(peer: string, topic: string): 'ok' | 'ignored' | 'flooding' {
    if (topicContentHash(topic) === null) return 'ignored'
    let topics = this.#byPeer.get(peer)
    if (!topics) this.#byPeer.set(peer, (topics = new Set()))
    topics.add(topic)
    let peers = this.#byTopic.get(topic)
    if (!peers) this.#byTopic.set(topic, (peers = new Set()))
    peers.add(peer)
    return topics.size > this.#options.maxSubscriptionsPerPeer && !this.#options.exempt(peer) ? 'flooding' : 'ok'
  }

  unsubscribe(peer: string, topic: string): void {
    this.#byPeer.get(peer)?.delete(topic)
    const peers = this.#byTopic.get(topic)
    peers?.delete(peer)
    if (peers?.size === 0) this.#byTopic.delete(topic)
  }

  /** Forgets every subscription of `peer` (it left, or was cut off for flooding). */
  dropPeer(peer: string): void {
    for (const topic of this.#byPeer.get(peer) ?? []) this.unsubscribe(peer, topic)
    this.#byPeer.delete(peer)
  }

  /** The topics the relay should join and leave now, given the registry's verdicts. Apply with `applied`. */
  plan(verdict: ModelVerdict): TopicPlan {
    const join: string[] = []
    const leave: string[] = []
    const refused = new Map<string, TopicRefusalReason>()
    for (const topic of this.#joined.keys()) {
      if (!this.#byTopic.has(topic) || verdict(topicContentHash(topic) as string) === false) leave.push(topic)
    }
    const sponsored = new Map(this.#sponsored)
    let count = this.#joined.size - leave.length
    for (const [topic, peers] of this.#byTopic) {
      if (this.#joined.has(topic)) continue
      const registered = verdict(topicContentHash(topic) as string)
      if (registered === undefined) continue
      if (!registered) {
        refused.set(topic, 'unregistered-model')
        continue
      }
      if (count >= this.#options.maxTopics) {
        refused.set(topic, 'relay-topic-limit')
        continue
      }
      const sponsor = this.#sponsorOf(peers, sponsored)
      if (sponsor === undefined) {
        refused.set(topic, 'peer-topic-limit')
        continue
      }
      if (sponsor !== null) sponsored.set(sponsor, (sponsored.get(sponsor) ?? 0) + 1)
      join.push(topic)
      count++
    }
    return { join, leave, refused }
  }

  /** Records what the relay did with a plan (joined and left), so the quotas follow. */
  applied({ join, leave }: Pick<TopicPlan, 'join' | 'leave'>): void {
    for (const topic of leave) {
      const sponsor = this.#joined.get(topic)
      this.#joined.delete(topic)
      if (sponsor) {
        const n = (this.#sponsored.get(sponsor) ?? 1) - 1
        if (n > 0) this.#sponsored.set(sponsor, n)
        else this.#sponsored.delete(sponsor)
      }
    }
    for (const topic of join) {
      if (this.#joined.has(topic)) continue
      const sponsor = this.#sponsorOf(this.#byTopic.get(topic) ?? new Set(), this.#sponsored)
      this.#joined.set(topic, sponsor ?? null)
      if (sponsor) this.#sponsored.set(sponsor, (this.#sponsored.get(sponsor) ?? 0) + 1)
    }
  }

  has(topic: string): boolean {
    return this.#joined.has(topic)
  }

  get joined(): number {
    return this.#joined.size
  }

  /** Distinct topics some peer wants, joined or not. */
  get wanted(): number {
    return this.#byTopic.size
  }

  /** Content hashes of wanted topics (what to ask the registry about). */
  wantedModels(): string[] {
    return [...this.#byTopic.keys()].map((t) => topicContentHash(t) as string)
  }

  /** An exempt peer (null), else the subscriber with quota left (the least used first), else undefined. */
  #sponsorOf(peers: Set<string>, sponsored: Map<string, number>): string | null | undefined {
    let best: string | undefined
    for (const peer of peers) {
      if (this.#options.exempt(peer)) return null
      const used = sponsored.get(peer) ?? 0
      if (used < this.#options.maxTopicsPerPeer && (best === undefined || used < (sponsored.get(best) ?? 0)))
        best = peer
    }
    return best
  }
}
