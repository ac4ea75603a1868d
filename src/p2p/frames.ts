/**
 * Frames over a libp2p 3 stream: incoming bytes go through the core frame decoder (its size limit applies as the
 * bytes arrive) and come out as a pull queue; the stream's end or reset ends the queue with a reason.
 */
import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { FrameDecoder } from '../core/wire/frame.ts'

export type StreamEnd = { kind: 'end' } | { kind: 'reset'; error: Error } | { kind: 'invalid'; error: Error }

export type FrameReader = {
  /** The next frame, or the reason there is none. */
  next(): Promise<Uint8Array | StreamEnd>
  dispose(): void
}

export function readFrames(stream: Stream, maxFrameLength: number): FrameReader {
  const decoder = new FrameDecoder(maxFrameLength)
  const frames: Uint8Array[] = []
  let end: StreamEnd | null = null
  let wake: (() => void) | null = null
  const notify = () => {
    const w = wake
    wake = null
    w?.()
  }
  const onMessage = (event: { data: Uint8Array | Uint8ArrayList }) => {
    if (end) return
    const bytes = event.data instanceof Uint8Array ? event.data : event.data.subarray()
    try {
      frames.push(...decoder.push(bytes))
    } catch (error) {
      end = { kind: 'invalid', error: error as Error }
    }
    notify()
  }
  const onRemoteEnd = () => {
    end ??= { kind: 'end' }
    notify()
  }
  const onClose = (event: Event & { error?: Error }) => {
    end ??= event.error ? { kind: 'reset', error: event.error } : { kind: 'end' }
    notify()
  }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('remoteCloseWrite', onRemoteEnd)
  stream.addEventListener('close', onClose)
  return {
    async next() {
      for (;;) {
        const frame = frames.shift()
        if (frame) return frame
        if (end) return end
        await new Promise<void>((resolve) => (wake = resolve))
      }
    },
    dispose() {
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('remoteCloseWrite', onRemoteEnd)
      stream.removeEventListener('close', onClose)
      notify()
    },
  }
}

/** Sends bytes, waiting for the stream to drain first when its buffer is full. */
export async function sendFrame(stream: Stream, frame: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (stream.writableNeedsDrain) await stream.onDrain(signal ? { signal } : {})
  stream.send(frame)
}
