/**
 * 10^5 random and mutated frames through the frame decoder and both message decoders: every outcome is a decoded
 * message or one of our typed errors — never another exception, never an unhandled rejection.
 */
import fc from 'fast-check'
import { expect, test } from 'vitest'
import { FrameTooLargeError, MalformedMessageError } from '../errors/p2p.ts'
import { FrameDecoder } from './frame.ts'
import {
  decodeRequest,
  decodeResponse,
  encodeRequestFrame,
  encodeResponseFrame,
  MAX_FRAME_BYTES,
  MAX_REQUEST_BYTES,
} from './infer.ts'
import { arbitraryRequestMessage, arbitraryResponseMessage } from './infer.arbitraries.ts'

const typed = (error: unknown) => error instanceof MalformedMessageError || error instanceof FrameTooLargeError

function feed(bytes: Uint8Array, limit: number, decode: (payload: Uint8Array) => unknown): 'ok' | 'error' {
  try {
    const decoder = new FrameDecoder(limit)
    for (const frame of decoder.push(bytes)) decode(frame)
    return 'ok'
  } catch (error) {
    if (!typed(error)) throw error
    return 'error'
  }
}

const mutate = (valid: fc.Arbitrary<Uint8Array>) =>
  fc
    .tuple(
      valid,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')), {
        minLength: 1,
        maxLength: 4,
      }),
    )
    .map(([bytes, edits]) => {
      const out = [...bytes]
      for (const [at, value, op] of edits) {
        const i = out.length === 0 ? 0 : at % out.length
        if (op === 'set' && out.length) out[i] = value
        else if (op === 'insert') out.splice(i, 0, value)
        else out.splice(i, 1)
      }
      return Uint8Array.from(out)
    })

// Random bytes behind a valid, small length prefix reach the JSON and schema checks, not only the prefix check.
const randomFramed = fc.uint8Array({ maxLength: 120 }).map((payload) => Uint8Array.from([payload.length, ...payload]))
const randomJson = fc.jsonValue({ maxDepth: 3 }).map((v) => {
  const payload = new TextEncoder().encode(JSON.stringify(v) ?? 'null')
  return payload.length < 128 ? Uint8Array.from([payload.length, ...payload]) : new Uint8Array([0])
})

test('10^5 random and mutated frames give messages or typed errors', () => {
  const runs = 12_500
  const counts = { ok: 0, error: 0 }
  const tally = (outcome: 'ok' | 'error'): void => {
    counts[outcome]++
  }
  for (const [arbitrary, limit, decode] of [
    [fc.uint8Array({ maxLength: 200 }), MAX_FRAME_BYTES, decodeResponse],
    [randomFramed, MAX_FRAME_BYTES, decodeResponse],
    [randomJson, MAX_FRAME_BYTES, decodeResponse],
    [mutate(arbitraryResponseMessage.map(encodeResponseFrame)), MAX_FRAME_BYTES, decodeResponse],
    [fc.uint8Array({ maxLength: 200 }), MAX_REQUEST_BYTES, decodeRequest],
    [randomFramed, MAX_REQUEST_BYTES, decodeRequest],
    [randomJson, MAX_REQUEST_BYTES, decodeRequest],
    [mutate(arbitraryRequestMessage.map(encodeRequestFrame)), MAX_REQUEST_BYTES, decodeRequest],
  ] as const) {
    fc.assert(
      fc.property(arbitrary, (bytes) => tally(feed(bytes, limit, decode))),
      { numRuns: runs },
    )
  }
  expect(counts.ok + counts.error).toBe(8 * runs)
  // Both outcomes occur: the inputs reach deep into the decoders.
  expect(counts.ok).toBeGreaterThan(1000)
  expect(counts.error).toBeGreaterThan(1000)
}, 120_000)
