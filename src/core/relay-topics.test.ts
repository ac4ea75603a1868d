import { describe, expect, test } from 'vitest'
import { announcementTopic } from './announcement.ts'
import { RelayTopics, type ModelVerdict } from './relay-topics.ts'

const hash = (i: number) => `0x${i.toString(16).padStart(64, '0')}`
const topic = (i: number) => announcementTopic(hash(i))
const everything: ModelVerdict = () => true

function step(topics: RelayTopics, verdict: ModelVerdict = everything) {
  const plan = topics.plan(verdict)
  topics.applied(plan)
  return plan
}

describe('RelayTopics', () => {
  test('joins a wanted topic once, and leaves it when its last subscriber leaves', () => {
    const topics = new RelayTopics({ maxTopics: 10, maxTopicsPerPeer: 4, maxSubscriptionsPerPeer: 16 })
    expect(topics.subscribe('a', topic(1))).toBe('ok')
    topics.subscribe('b', topic(1))
    expect(step(topics).join).toEqual([topic(1)])
    expect(step(topics).join).toEqual([])
    topics.unsubscribe('a', topic(1))
    expect(step(topics).leave).toEqual([])
    topics.dropPeer('b')
    expect(step(topics).leave).toEqual([topic(1)])
    expect(topics.joined).toBe(0)
  })

  test('ignores what is not an announcement topic', () => {
    const topics = new RelayTopics({ maxTopics: 10, maxTopicsPerPeer: 4, maxSubscriptionsPerPeer: 16 })
    expect(topics.subscribe('a', 'modelex/1/jobs')).toBe('ignored')
    expect(topics.subscribe('a', 'modelex/1/nodes/0x12')).toBe('ignored')
    expect(step(topics).join).toEqual([])
  })

  test('joins only registered models, waits for an unknown verdict, and leaves a model that left the registry', () => {
    const topics = new RelayTopics({ maxTopics: 10, maxTopicsPerPeer: 4, maxSubscriptionsPerPeer: 16 })
    topics.subscribe('a', topic(1))
    topics.subscribe('a', topic(2))
    topics.subscribe('a', topic(3))
    const registered = new Map<string, boolean>([
      [hash(1), true],
      [hash(2), false],
    ])
    const plan = step(topics, (h) => registered.get(h))
    expect(plan.join).toEqual([topic(1)])
    expect(plan.refused).toEqual(new Map([[topic(2), 'unregistered-model']]))
    registered.set(hash(3), true)
    expect(step(topics, (h) => registered.get(h)).join).toEqual([topic(3)])
    registered.set(hash(1), false)
    expect(step(topics, (h) => registered.get(h)).leave).toEqual([topic(1)])
  })

  test('one peer makes the relay join at most its quota; another peer asking for the same topic can sponsor it', () => {
    const topics = new RelayTopics({ maxTopics: 100, maxTopicsPerPeer: 3, maxSubscriptionsPerPeer: 16 })
    for (let i = 0; i < 8; i++) topics.subscribe('greedy', topic(i))
    const plan = step(topics)
    expect(plan.join).toHaveLength(3)
    expect([...plan.refused.values()]).toEqual(Array(5).fill('peer-topic-limit'))
    topics.subscribe('other', topic(7))
    expect(step(topics).join).toEqual([topic(7)])
    expect(topics.joined).toBe(4)
  })

  test('the overall bound holds whoever asks, peer relays included; peer relays skip the per-peer bound', () => {
    const topics = new RelayTopics({
      maxTopics: 5,
      maxTopicsPerPeer: 1,
      maxSubscriptionsPerPeer: 2,
      exempt: (p) => p === 'relay-b',
    })
    for (let i = 0; i < 9; i++) expect(topics.subscribe('relay-b', topic(i))).toBe('ok')
    const plan = step(topics)
    expect(plan.join).toHaveLength(5)
    expect([...plan.refused.values()]).toEqual(Array(4).fill('relay-topic-limit'))
  })

  test('a peer holding more subscriptions than its bound is flooding; dropping it frees what only it wanted', () => {
    const topics = new RelayTopics({ maxTopics: 100, maxTopicsPerPeer: 2, maxSubscriptionsPerPeer: 3 })
    const verdicts = [0, 1, 2, 3].map((i) => topics.subscribe('flood', topic(i)))
    expect(verdicts).toEqual(['ok', 'ok', 'ok', 'flooding'])
    step(topics)
    topics.dropPeer('flood')
    expect(step(topics).leave).toHaveLength(2)
    expect(topics.wanted).toBe(0)
  })
})
