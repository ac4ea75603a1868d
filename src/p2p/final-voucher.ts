/**
 * `/modelex/final-voucher/1.0.0`: a consumer that is done with a node sends one frame, a payment (`encodePayment`)
 * whose voucher is for exactly the channel's settled total; the node answers `{ ok: true, settled }` or
 * `{ ok: false, reason, message }`. The node then redeems that voucher instead of its highest one, which also holds
 * the consumer's unspent credit.
 */
import type { JsonValue } from '../core/errors/base.ts'
import { VoucherRejectedError } from '../core/errors/payments.ts'
import { amount } from '../core/quote.ts'
import { object, string } from '../core/wire/check.ts'
import { FINAL_VOUCHER_PROTOCOL, MAX_FINAL_VOUCHER_FRAME_BYTES } from './constants.ts'
import type { ModelexNode } from './node.ts'
import { askOneFrame, serveOneFrame } from './one-frame.ts'

export function serveFinalVouchers(node: ModelexNode, accept: (payment: JsonValue) => Promise<{ settled: bigint }>): Promise<() => Promise<void>> {
  return serveOneFrame(
    node,
    FINAL_VOUCHER_PROTOCOL,
    MAX_FINAL_VOUCHER_FRAME_BYTES,
    async (payment) => {
      try {
        const { settled } = await accept(payment as JsonValue)
        return { ok: true, settled: settled.toString() }
      } catch (error) {
        const reason = error instanceof VoucherRejectedError ? error.reason : 'malformed'
        return { ok: false, reason, message: (error as Error).message.split('\n')[0] ?? 'refused' }
      }
    },
    { maxInboundStreams: 32 },
  )
}

/** Hands a node the final voucher; resolves with the settled total it confirmed, or throws `VoucherRejectedError`. */
export async function sendFinalVoucher(node: ModelexNode, peer: string, payment: JsonValue, timeoutMs = 10_000): Promise<bigint> {
  const fields = object(await askOneFrame(node, peer, FINAL_VOUCHER_PROTOCOL, MAX_FINAL_VOUCHER_FRAME_BYTES, payment, timeoutMs), 'final voucher answer')
  if (fields['ok'] === true) return amount(fields['settled'], 'settled')
  throw new VoucherRejectedError({ reason: 'insufficient', details: string(fields['message'], 'message', 4096) })
}
