/**
 * Length-prefixed frames: an unsigned varint byte length, then that many bytes. The decoder is incremental (bytes
 * arrive in arbitrary chunks from a stream) and enforces its limit as soon as a length prefix is read, so a peer
 * cannot make us buffer more than one frame's worth.
 */
import { FrameTooLargeError, MalformedMessageError } from '../errors/p2p.ts'

/** Four varint bytes hold lengths below 2^28 (256 MiB), far above any limit we use; a longer prefix is garbage. */
const MAX_PREFIX_BYTES = 4

export function encodeVarint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 2 ** (7 * MAX_PREFIX_BYTES))
    throw new RangeError(`varint out of range: ${value}`)
  const bytes: number[] = []
  let rest = value
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80)
    rest >>>= 7
  }
  bytes.push(rest)
  return Uint8Array.from(bytes)
}

export function encodeFrame(payload: Uint8Array, maxLength: number): Uint8Array {
  if (payload.length > maxLength) throw new FrameTooLargeError({ length: payload.length, limit: maxLength })
  const prefix = encodeVarint(payload.length)
  const frame = new Uint8Array(prefix.length + payload.length)
  frame.set(prefix, 0)
  frame.set(payload, prefix.length)
  return frame
}

/**
 * Turns chunks into frames. `push` returns every frame completed by the chunk; it throws `FrameTooLargeError` or
 * `MalformedMessageError`, after which the decoder is spent (the stream is out of sync and must be closed).
 */
export class FrameDecoder {
  readonly maxFrameLength: number
  #chunks: Uint8Array[] = []
  #buffered = 0
  #failed: Error | null = null

  constructor(maxFrameLength: number) {
    this.maxFrameLength = maxFrameLength
  }

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.#buffered
  }

  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#failed) throw this.#failed
    if (chunk.length > 0) {
      this.#chunks.push(chunk)
      this.#buffered += chunk.length
    }
    const frames: Uint8Array[] = []
    try {
      for (;;) {
        const frame = this.#next()
        if (!frame) break
        frames.push(frame)
      }
    } catch (error) {
      this.#failed = error as Error
      this.#chunks = []
      this.#buffered = 0
      throw error
    }
    return frames
  }

  #next(): Uint8Array | null {
    const header = this.#readPrefix()
    if (!header) return null
    const { length, prefixBytes } = header
    if (this.#buffered < prefixBytes + length) return null
    const all = this.#take(prefixBytes + length)
    return all.subarray(prefixBytes)
  }

  #readPrefix(): { length: number; prefixBytes: number } | null {
    let value = 0
    let index = 0
    for (const chunk of this.#chunks) {
      for (const byte of chunk) {
        if (index === MAX_PREFIX_BYTES)
          throw new MalformedMessageError(`frame length prefix longer than ${MAX_PREFIX_BYTES} bytes`)
        value += (byte & 0x7f) * 2 ** (7 * index)
        index++
        if ((byte & 0x80) === 0) {
          if (index > 1 && byte === 0) throw new MalformedMessageError('frame length prefix is not minimally encoded')
          if (value > this.maxFrameLength) throw new FrameTooLargeError({ length: value, limit: this.maxFrameLength })
          return { length: value, prefixBytes: index }
        }
      }
    }
    if (index === MAX_PREFIX_BYTES)
      throw new MalformedMessageError(`frame length prefix longer than ${MAX_PREFIX_BYTES} bytes`)
    // A partial prefix can already prove the frame too large.
    if (value > this.maxFrameLength) throw new FrameTooLargeError({ length: value, limit: this.maxFrameLength })
    return null
  }

  #take(count: number): Uint8Array {
    const first = this.#chunks[0]
    let out: Uint8Array
    if (first && first.length >= count) {
      out = first.subarray(0, count)
      if (first.length === count) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(count)
    } else {
      out = new Uint8Array(count)
      let filled = 0
      while (filled < count) {
        const chunk = this.#chunks[0] as Uint8Array
        const used = Math.min(chunk.length, count - filled)
        out.set(chunk.subarray(0, used), filled)
        filled += used
        if (used === chunk.length) this.#chunks.shift()
        else this.#chunks[0] = chunk.subarray(used)
      }
    }
    this.#buffered -= count
    return out
  }
}
