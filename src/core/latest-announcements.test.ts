import { describe, expect, test } from 'vitest'
import { announcementTopic } from './announcement.ts'
import { MalformedMessageError } from './errors/p2p.ts'
import { decodeLatestRequest, encodeLatestRequest, LatestAnnouncements } from './latest-announcements.ts'
import { FrameDecoder } from './wire/frame.ts'

const topic = announcementTopic(`0x${'ab'.repeat(32)}`)
const bytes = (text: string) => new TextEncoder().encode(text)
const texts = (list: Uint8Array[]) => list.map((b) => new TextDecoder().decode(b))

describe("the relay's last-value cache", () => {
  test('keeps the newest announcement of each node per topic', () => {
    const cache = new LatestAnnouncements()
    cache.record(topic, 'a', 1_000, bytes('a1'))
    cache.record(topic, 'b', 1_500, bytes('b1'))
    cache.record(topic, 'a', 2_000, bytes('a2'))
    cache.record(topic, 'a', 1_800, bytes('a-older'))
    expect(texts(cache.latest(topic, 2_000))).toEqual(['b1', 'a2'])
    expect(cache.latest(announcementTopic(`0x${'cd'.repeat(32)}`), 2_000)).toEqual([])
  })

  test('drops what no validator would accept any more, and bounds nodes per topic and topics', () => {
    const cache = new LatestAnnouncements({ maxAgeMs: 1_000, maxPerTopic: 2, maxTopics: 1 })
    cache.record(topic, 'a', 0, bytes('a'))
    cache.record(topic, 'b', 500, bytes('b'))
    cache.record(topic, 'c', 900, bytes('c'))
    expect(texts(cache.latest(topic, 1_000))).toEqual(['b', 'c'])
    expect(texts(cache.latest(topic, 1_600))).toEqual(['c'])
    cache.record(announcementTopic(`0x${'cd'.repeat(32)}`), 'd', 1_600, bytes('d'))
    expect(cache.latest(announcementTopic(`0x${'cd'.repeat(32)}`), 1_600)).toEqual([])
  })

  test('forgets a node that left, on every topic', () => {
    const cache = new LatestAnnouncements()
    const other = announcementTopic(`0x${'cd'.repeat(32)}`)
    cache.record(topic, 'a', 1_000, bytes('a'))
    cache.record(topic, 'b', 1_000, bytes('b'))
    cache.record(other, 'a', 1_000, bytes('a on other'))
    cache.forget('a')
    expect(texts(cache.latest(topic, 1_000))).toEqual(['b'])
    expect(cache.latest(other, 1_000)).toEqual([])
  })
})

describe('the request frame', () => {
  test('round-trips a topic, and refuses anything but an announcement topic', () => {
    const decoder = new FrameDecoder(256)
    const [payload] = decoder.push(encodeLatestRequest(topic))
    expect(decodeLatestRequest(payload as Uint8Array)).toEqual({ type: 'latest', v: 1, topic })
    for (const bad of [
      { type: 'latest', v: 1, topic: 'modelex/jobs/1' },
      { type: 'latest', v: 2, topic },
      { type: 'latest', v: 1, topic, extra: 1 },
      [],
    ]) {
      expect(() => decodeLatestRequest(bytes(JSON.stringify(bad)))).toThrow(MalformedMessageError)
    }
  })
})
