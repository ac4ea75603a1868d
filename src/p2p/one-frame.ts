/**
 * The shape of our small protocols (receipt proofs, final vouchers): the dialer sends one JSON frame, the node
 * answers one JSON frame and closes. `serveOneFrame` handles a protocol with an answering function; `askOneFrame`
 * dials a peer, sends, and returns the answer (or throws on a stream that ends without one).
 */
import type { JsonValue } from '../core/errors/base.ts'
import { decodeJson, encodeJson } from '../core/wire/check.ts'
import { encodeFrame } from '../core/wire/frame.ts'
import { connectToPeer } from './dial.ts'
import { readFrames, sendFrame } from './frames.ts'
import type { ModelexNode } from './node.ts'

export async function serveOneFrame(
  node: ModelexNode,
  protocol: string,
  maxBytes: number,
  answer: (request: unknown) => Promise<JsonValue>,
  options: { maxInboundStreams?: number } = {},
): Promise<() => Promise<void>> {
  await node.libp2p.handle(
    protocol,
    async (stream) => {
      const reader = readFrames(stream, maxBytes)
      try {
        const first = await reader.next()
        if (!(first instanceof Uint8Array)) return
        await sendFrame(stream, encodeFrame(encodeJson(await answer(decodeJson(first))), maxBytes))
        await stream.close({ signal: AbortSignal.timeout(5_000) })
      } catch (error) {
        stream.abort(error instanceof Error ? error : new Error(String(error)))
      } finally {
        reader.dispose()
      }
    },
    { runOnLimitedConnection: true, ...options },
  )
  return () => node.libp2p.unhandle(protocol)
}

export async function askOneFrame(
  node: ModelexNode,
  peer: string,
  protocol: string,
  maxBytes: number,
  request: JsonValue,
  timeoutMs = 10_000,
): Promise<unknown> {
  const signal = AbortSignal.timeout(timeoutMs)
  const connection = await connectToPeer(node, peer, { signal })
  const stream = await connection.newStream(protocol, { signal, runOnLimitedConnection: true })
  const reader = readFrames(stream, maxBytes)
  try {
    await sendFrame(stream, encodeFrame(encodeJson(request), maxBytes), signal)
    const answer = await reader.next()
    if (!(answer instanceof Uint8Array)) throw new Error(`${protocol}: the stream ended without an answer`)
    return decodeJson(answer)
  } finally {
    reader.dispose()
    await stream.close().catch(() => {})
  }
}
