/**
 * Pairing a localhost gateway with the user's own browser node (`/modelex/pair/1.0.0`). The browser shows its peer
 * id and a random token; the gateway dials the peer id and sends the token; on a match the browser remembers the
 * gateway's peer id (authenticated by the libp2p connection) and serves its inference requests without payment,
 * and answers with the models it has loaded. One JSON message each way, in one length-prefixed frame.
 */
import { encodeFrame } from './wire/frame.ts'
import { array, decodeJson, encodeJson, fail, integer, object, oneOf, only, string } from './wire/check.ts'

export const PAIR_PROTOCOL = '/modelex/pair/1.0.0'
export const MAX_PAIR_FRAME_BYTES = 16 * 1024
/** 128 bits, hex: long enough that guessing over a rate-limited stream is hopeless. */
export const PAIR_TOKEN_BYTES = 16

export type PairedModel = { id: string; contentHash: string; engine: string; contextLength: number; fim: boolean }

export type PairRequest = { type: 'pair'; v: 1; token: string }
export type PairResponse = { type: 'paired'; models: PairedModel[] } | { type: 'refused'; reason: 'bad-token' | 'busy' }

export function encodePairRequest(token: string): Uint8Array {
  return encodeFrame(encodeJson({ type: 'pair', v: 1, token } satisfies PairRequest), MAX_PAIR_FRAME_BYTES)
}

export function decodePairRequest(payload: Uint8Array): PairRequest {
  const fields = object(decodeJson(payload), 'pair')
  only(fields, 'pair', ['type', 'v', 'token'])
  if (fields['type'] !== 'pair') fail('pair.type', '"pair"')
  if (fields['v'] !== 1) fail('pair.v', '1')
  return { type: 'pair', v: 1, token: string(fields['token'], 'pair.token', 128, 1) }
}

export function encodePairResponse(response: PairResponse): Uint8Array {
  return encodeFrame(encodeJson(response), MAX_PAIR_FRAME_BYTES)
}

export function decodePairResponse(payload: Uint8Array): PairResponse {
  const fields = object(decodeJson(payload), 'pair')
  const type = oneOf(fields['type'], 'pair.type', ['paired', 'refused'] as const)
  if (type === 'refused') {
    only(fields, 'pair', ['type', 'reason'])
    return { type, reason: oneOf(fields['reason'], 'pair.reason', ['bad-token', 'busy'] as const) }
  }
  only(fields, 'pair', ['type', 'models'])
  const models = array(fields['models'], 'pair.models', 16).map((value, i) => {
    const m = object(value, `pair.models[${i}]`)
    return {
      id: string(m['id'], `pair.models[${i}].id`, 256, 1),
      contentHash: string(m['contentHash'], `pair.models[${i}].contentHash`, 256),
      engine: string(m['engine'], `pair.models[${i}].engine`, 32),
      contextLength: integer(m['contextLength'], `pair.models[${i}].contextLength`, 0, 10_000_000),
      fim: m['fim'] === true,
    }
  })
  return { type, models }
}

/** Hex of random bytes from the given source (WebCrypto in browsers and Node). */
export function newPairToken(random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  return [...random(new Uint8Array(PAIR_TOKEN_BYTES))].map((b) => b.toString(16).padStart(2, '0')).join('')
}

/** Compares in time that depends on the length only, so timing tells nothing about how much of a guess was right. */
export function tokensEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/** `<peer id>:<token>`, the line the app shows and `npm run gateway -- --pair` takes. */
export function formatPairingLine(peer: string, token: string): string {
  return `${peer}:${token}`
}

export function parsePairingLine(line: string): { peer: string; token: string } | null {
  const match = /^\s*([1-9A-HJ-NP-Za-km-z]{20,128}):([0-9a-f]{16,128})\s*$/.exec(line)
  return match ? { peer: match[1] as string, token: match[2] as string } : null
}
