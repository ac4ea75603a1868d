import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { FrameTooLargeError, MalformedMessageError } from '../errors/p2p.ts'
import { encodeFrame, encodeVarint, FrameDecoder } from './frame.ts'

/** Splits bytes at the given cut points, the way a transport may deliver them. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Uint8Array[] = []
  let at = 0
  for (const p of points) {
    chunks.push(bytes.subarray(at, p))
    at = p
  }
  chunks.push(bytes.subarray(at))
  return chunks
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

describe('frames', () => {
  test('round-trip any frames, however the bytes are chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (payloads, cuts) => {
          const stream = concat(payloads.map((p) => encodeFrame(p, 1024)))
          const decoder = new FrameDecoder(1024)
          const frames = split(stream, cuts).flatMap((chunk) => decoder.push(chunk))
          expect(frames.map((f) => [...f])).toEqual(payloads.map((p) => [...p]))
          expect(decoder.buffered).toBe(0)
        },
      ),
      { numRuns: 500 },
    )
  })

  test('varints are minimal and little-endian base 128', () => {
    expect([...encodeVarint(0)]).toEqual([0])
    expect([...encodeVarint(127)]).toEqual([127])
    expect([...encodeVarint(128)]).toEqual([0x80, 1])
    expect([...encodeVarint(300)]).toEqual([0xac, 0x02])
    expect(() => encodeVarint(2 ** 28)).toThrow(RangeError)
  })

  test('the encoder refuses a payload above the limit', () => {
    expect(() => encodeFrame(new Uint8Array(11), 10)).toThrow(FrameTooLargeError)
    expect(encodeFrame(new Uint8Array(10), 10)).toHaveLength(11)
  })

  test('the decoder refuses an oversized frame from its prefix alone, before the bytes arrive', () => {
    const decoder = new FrameDecoder(64 * 1024)
    const prefix = encodeVarint(64 * 1024 + 1)
    const error = (() => {
      try {
        decoder.push(prefix)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(FrameTooLargeError)
    expect((error as FrameTooLargeError).length).toBe(64 * 1024 + 1)
    expect((error as FrameTooLargeError).limit).toBe(64 * 1024)
    // Spent: the stream is out of sync.
    expect(() => decoder.push(new Uint8Array([0]))).toThrow(FrameTooLargeError)
  })

  test('a partial prefix that already exceeds the limit is refused at once', () => {
    const decoder = new FrameDecoder(100)
    expect(() => decoder.push(new Uint8Array([0xff, 0xff]))).toThrow(FrameTooLargeError)
  })

  test('exactly the limit is accepted', () => {
    const decoder = new FrameDecoder(256 * 1024)
    const frames = decoder.push(encodeFrame(new Uint8Array(256 * 1024).fill(7), 256 * 1024))
    expect(frames).toHaveLength(1)
    expect(frames[0]).toHaveLength(256 * 1024)
  })

  test('over-long and non-minimal prefixes are malformed', () => {
    expect(() => new FrameDecoder(2 ** 30).push(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x01]))).toThrow(
      MalformedMessageError,
    )
    expect(() => new FrameDecoder(1000).push(new Uint8Array([0x81, 0x00]))).toThrow(MalformedMessageError)
  })
})
