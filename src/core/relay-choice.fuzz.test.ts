import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { rankRelays, relayWeight } from './relay-choice.ts'

const id = fc.string({ minLength: 1, maxLength: 60 })
const relayIds = fc.uniqueArray(id, { minLength: 1, maxLength: 12 })
const self = (s: string) => s

describe('rankRelays', () => {
  test('is a permutation of the relays, the same whatever their order', () => {
    fc.assert(
      fc.property(id, relayIds, (peer, relays) => {
        const ranked = rankRelays(peer, relays, self)
        expect([...ranked].sort()).toEqual([...relays].sort())
        expect(rankRelays(peer, [...relays].reverse(), self)).toEqual(ranked)
      }),
    )
  })

  test('removing a relay leaves the order of the others as it was (only its peers move)', () => {
    fc.assert(
      fc.property(id, relayIds, fc.nat(), (peer, relays, pick) => {
        const gone = relays[pick % relays.length]!
        const ranked = rankRelays(peer, relays, self)
        expect(
          rankRelays(
            peer,
            relays.filter((r) => r !== gone),
            self,
          ),
        ).toEqual(ranked.filter((r) => r !== gone))
      }),
    )
  })
})

test('peers spread over the relays instead of piling on the first, and the peers of a lost relay spread over the others', () => {
  const relays = ['relay-a', 'relay-b', 'relay-c', 'relay-d']
  const peers = Array.from({ length: 4000 }, (_, i) => `12D3KooPeer${i}`)
  const first = new Map<string, number>()
  const second = new Map<string, number>()
  for (const peer of peers) {
    const [a, b] = rankRelays(peer, relays, self)
    first.set(a!, (first.get(a!) ?? 0) + 1)
    if (a === 'relay-a') second.set(b!, (second.get(b!) ?? 0) + 1)
  }
  // 1,000 expected on each; a fair split stays well within ±15%.
  for (const relay of relays) expect(first.get(relay)).toBeGreaterThan(850)
  for (const relay of relays) expect(first.get(relay)).toBeLessThan(1150)
  for (const relay of relays.slice(1)) expect(second.get(relay)).toBeGreaterThan(250)
  expect(relayWeight('a', 'b')).not.toBe(relayWeight('b', 'a'))
})
