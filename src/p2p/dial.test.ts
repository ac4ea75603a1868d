import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect, test } from 'vitest'
import { toPeerId } from './dial.ts'

test('a peer id string is parsed once and the same PeerId comes back; a PeerId passes through; garbage throws', async () => {
  const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const text = peer.toString()
  const first = toPeerId(text)
  expect(first.equals(peer)).toBe(true)
  expect(toPeerId(text)).toBe(first)
  expect(toPeerId(peer)).toBe(peer)
  expect(() => toPeerId('not-a-peer-id')).toThrow()
})
