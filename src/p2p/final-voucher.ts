/**
 * `/modelex/final-voucher/1.0.0`: a consumer that is done with a node sends one frame, a payment (`encodePayment`)
 * whose voucher is for exactly the channel's settled total; the node answers `{ ok: true, settled }` or
 * `{ ok: false, reason, message }`. The node then redeems that voucher instead of its highest one, which also holds
 * the consumer's unspent credit.
 */
import type { JsonValue } from '../core/errors/base.ts'
import { VoucherRejectedError } from '../core/errors/payments.ts'
import { amount } from '../core/quote.ts'
import { decodeJson, encodeJson, object, string } from '../core/wire/check.ts'
import { encodeFrame } from '../core/wire/frame.ts'
import { FINAL_VOUCHER_PROTOCOL, MAX_FINAL_VOUCHER_FRAME_BYTES } from './constants.ts'
import { connectToPeer } from './dial.ts'
import { readFrames, sendFrame } from './frames.ts'
import type { ModelexNode } from './node.ts'

export async function serveFinalVouchers(node: ModelexNode, accept: (payment: JsonValue) => Promise<{ settled: bigint }>): Promise<() => Promise<void>> {
  await node.libp2p.handle(
    FINAL_VOUCHER_PROTOCOL,
    async (stream) => {
      const reader = readFrames(stream, MAX_FINAL_VOUCHER_FRAME_BYTES)
      try {
        const first = await reader.next()
        if (!(first instanceof Uint8Array)) return
        let answer: JsonValue
        try {
          const { settled } = await accept(decodeJson(first) as JsonValue)
          answer = { ok: true, settled: settled.toString() }
        } catch (error) {
          const reason = error instanceof VoucherRejectedError ? error.reason : 'malformed'
          answer = { ok: false, reason, message: (error as Error).message.split('\n')[0] ?? 'refused' }
        }
        await sendFrame(stream, encodeFrame(encodeJson(answer), MAX_FINAL_VOUCHER_FRAME_BYTES))
        await stream.close({ signal: AbortSignal.timeout(5_000) })
      } catch (error) {
        stream.abort(error instanceof Error ? error : new Error(String(error)))
      } finally {
        reader.dispose()
      }
    },
    { runOnLimitedConnection: true, maxInboundStreams: 32 },
  )
  return () => node.libp2p.unhandle(FINAL_VOUCHER_PROTOCOL)
}

/** Hands a node the final voucher; resolves with the settled total it confirmed, or throws `VoucherRejectedError`. */
export async function sendFinalVoucher(node: ModelexNode, peer: string, payment: JsonValue, timeoutMs = 10_000): Promise<bigint> {
  const signal = AbortSignal.timeout(timeoutMs)
  const connection = await connectToPeer(node, peer, { signal })
  const stream = await connection.newStream(FINAL_VOUCHER_PROTOCOL, { signal, runOnLimitedConnection: true })
  const reader = readFrames(stream, MAX_FINAL_VOUCHER_FRAME_BYTES)
  try {
    await sendFrame(stream, encodeFrame(encodeJson(payment), MAX_FINAL_VOUCHER_FRAME_BYTES), signal)
    const frame = await reader.next()
    if (!(frame instanceof Uint8Array)) throw new VoucherRejectedError({ reason: 'malformed', details: 'the node sent no answer' })
    const fields = object(decodeJson(frame), 'final voucher answer')
    if (fields['ok'] === true) return amount(fields['settled'], 'settled')
    throw new VoucherRejectedError({ reason: 'insufficient', details: string(fields['message'], 'message', 4096) })
  } finally {
    reader.dispose()
    await stream.close().catch(() => {})
  }
}
