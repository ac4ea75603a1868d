import { expect, test } from 'vitest'
import { FrameDecoder } from './wire/frame.ts'
import {
  decodePairRequest,
  decodePairResponse,
  encodePairRequest,
  encodePairResponse,
  formatPairingLine,
  MAX_PAIR_FRAME_BYTES,
  newPairToken,
  parsePairingLine,
  tokensEqual,
} from './autocomplete-pairing.ts'

const payload = (frame: Uint8Array) => new FrameDecoder(MAX_PAIR_FRAME_BYTES).push(frame)[0] as Uint8Array

test('pair messages round-trip and anything else is refused', () => {
  expect(decodePairRequest(payload(encodePairRequest('ab12')))).toEqual({ type: 'pair', v: 1, token: 'ab12' })
  const paired = {
    type: 'paired' as const,
    models: [{ id: 'm', contentHash: '0x11', engine: 'wasm', contextLength: 1024, fim: true }],
  }
  expect(decodePairResponse(payload(encodePairResponse(paired)))).toEqual(paired)
  expect(decodePairResponse(payload(encodePairResponse({ type: 'refused', reason: 'bad-token' })))).toEqual({
    type: 'refused',
    reason: 'bad-token',
  })
  expect(() => decodePairRequest(new TextEncoder().encode('{"type":"pair","v":2,"token":"x"}'))).toThrow()
  expect(() => decodePairRequest(new TextEncoder().encode('{"type":"pair","v":1,"token":"x","extra":1}'))).toThrow()
  expect(() => decodePairResponse(new TextEncoder().encode('{"type":"paired"}'))).toThrow()
})

test('tokens: 128 random bits in hex, compared exactly', () => {
  const token = newPairToken()
  expect(token).toMatch(/^[0-9a-f]{32}$/)
  expect(newPairToken()).not.toBe(token)
  expect(tokensEqual(token, token)).toBe(true)
  expect(tokensEqual(token, token.slice(0, -1) + (token.endsWith('0') ? '1' : '0'))).toBe(false)
  expect(tokensEqual(token, token.slice(1))).toBe(false)
})

test('the pairing line names the peer and the token', () => {
  const peer = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
  const line = formatPairingLine(peer, 'a'.repeat(32))
  expect(parsePairingLine(` ${line} `)).toEqual({ peer, token: 'a'.repeat(32) })
  expect(parsePairingLine('nonsense')).toBeNull()
  expect(parsePairingLine(`${peer}:XYZ`)).toBeNull()
})
