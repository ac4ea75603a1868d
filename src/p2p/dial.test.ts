import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect, test } from 'vitest'
import { dropExpiredBackoffs, toPeerId } from './dial.ts'

test('a peer id string is parsed once and the same PeerId comes back; a PeerId passes through; garbage throws', async () => {
  const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const text = peer.toString()
  const first = toPeerId(text)
  expect(first.equals(peer)).toBe(true)
  expect(toPeerId(text)).toBe(first)
  expect(toPeerId(peer)).toBe(peer)
  expect(() => toPeerId('not-a-peer-id')).toThrow()
})

test('expired upgrade back-offs are forgotten; running ones and attempts under way stay', () => {
  const underWay = Promise.resolve(undefined)
  const attempts = new Map<string, Promise<unknown> | number>([
    ['expired', 1_000],
    ['just expired', 2_000],
    ['running', 2_001],
    ['dialling', underWay],
  ])
  dropExpiredBackoffs(attempts, 2_000)
  expect([...attempts.keys()]).toEqual(['running', 'dialling'])
})
