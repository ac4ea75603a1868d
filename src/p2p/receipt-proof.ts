/**
 * `/modelex/receipt-proof/1.0.0`: a consumer sends one frame `{ receiptHash }`, the node answers one frame with the
 * anchored root and the inclusion proof (`{ status: 'anchored', root, proof }`), or `{ status: 'pending' }` while the
 * receipt waits for its batch, or `{ status: 'unknown' }`. The consumer then checks the proof on-chain itself.
 */
import type { Hex } from 'viem'
import { decodeJson, encodeJson, fail, object, oneOf, array } from '../core/wire/check.ts'
import { encodeFrame } from '../core/wire/frame.ts'
import { hex } from '../core/quote.ts'
import { MAX_PROOF_FRAME_BYTES, PROOF_PROTOCOL } from './constants.ts'
import { connectToPeer } from './dial.ts'
import { readFrames, sendFrame } from './frames.ts'
import type { ModelexNode } from './node.ts'

export type ProofAnswer = { status: 'anchored'; root: Hex; proof: Hex[] } | { status: 'pending' } | { status: 'unknown' }

export async function serveProofs(node: ModelexNode, lookup: (receiptHash: Hex) => Promise<ProofAnswer>): Promise<() => Promise<void>> {
  await node.libp2p.handle(
    PROOF_PROTOCOL,
    async (stream) => {
      const reader = readFrames(stream, MAX_PROOF_FRAME_BYTES)
      try {
        const first = await reader.next()
        if (!(first instanceof Uint8Array)) return
        const receiptHash = hex(object(decodeJson(first), 'proof request')['receiptHash'], 'receiptHash', 64)
        await sendFrame(stream, encodeFrame(encodeJson(await lookup(receiptHash)), MAX_PROOF_FRAME_BYTES))
        await stream.close({ signal: AbortSignal.timeout(5_000) })
      } catch (error) {
        stream.abort(error instanceof Error ? error : new Error(String(error)))
      } finally {
        reader.dispose()
      }
    },
    { runOnLimitedConnection: true },
  )
  return () => node.libp2p.unhandle(PROOF_PROTOCOL)
}

export async function fetchProof(node: ModelexNode, peer: string, receiptHash: Hex, timeoutMs = 10_000): Promise<ProofAnswer> {
  const signal = AbortSignal.timeout(timeoutMs)
  const connection = await connectToPeer(node, peer, { signal })
  const stream = await connection.newStream(PROOF_PROTOCOL, { signal, runOnLimitedConnection: true })
  const reader = readFrames(stream, MAX_PROOF_FRAME_BYTES)
  try {
    await sendFrame(stream, encodeFrame(encodeJson({ receiptHash }), MAX_PROOF_FRAME_BYTES), signal)
    const answer = await reader.next()
    if (!(answer instanceof Uint8Array)) return fail('proof answer', 'one frame')
    const fields = object(decodeJson(answer), 'proof answer')
    const status = oneOf(fields['status'], 'status', ['anchored', 'pending', 'unknown'] as const)
    if (status !== 'anchored') return { status }
    return { status, root: hex(fields['root'], 'root', 64), proof: array(fields['proof'], 'proof', 64).map((p, i) => hex(p, `proof[${i}]`, 64)) }
  } finally {
    reader.dispose()
    await stream.close().catch(() => {})
  }
}
