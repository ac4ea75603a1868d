/**
 * `/modelex/final-voucher/1.0.0`: a consumer that is done with a node sends one frame, a payment (`encodePayment`)
 * whose voucher is for exactly the channel's settled total; the node answers `{ ok: true, settled }` or
 * `{ ok: false, reason, message, settlement? }` (the channel's latest receipt when the consumer is behind). The node
 * then redeems that voucher instead of its highest one, which also holds
 * the consumer's unspent credit.
 */
import type { JsonValue } from '../core/errors/base.ts'
import { PaymentRefusedError, VoucherRejectedError } from '../core/errors/payments.ts'
import { amount } from '../core/quote.ts'
import { object, string } from '../core/wire/check.ts'
import { FINAL_VOUCHER_PROTOCOL, MAX_FINAL_VOUCHER_FRAME_BYTES } from './constants.ts'
import type { ModelexNode } from './node.ts'
import { askOneFrame, serveOneFrame } from './one-frame.ts'

export function serveFinalVouchers(
  node: ModelexNode,
  accept: (payment: JsonValue) => Promise<{ settled: bigint }>,
): Promise<() => Promise<void>> {
  return serveOneFrame(
    node,
    FINAL_VOUCHER_PROTOCOL,
    MAX_FINAL_VOUCHER_FRAME_BYTES,
    async (payment) => {
      try {
        const { settled } = await accept(payment as JsonValue)
        return { ok: true, settled: settled.toString() }
      } catch (error) {
        const reason =
          error instanceof VoucherRejectedError
            ? error.reason
            : error instanceof PaymentRefusedError
              ? 'insufficient'
              : 'malformed'
        const answer: Record<string, JsonValue> = {
          ok: false,
          reason,
          message: ((error as { details?: string }).details ?? (error as Error).message).split('\n')[0] ?? 'refused',
        }
        if (error instanceof PaymentRefusedError && error.settlement !== undefined)
          answer['settlement'] = error.settlement
        return answer
      }
    },
    { maxInboundStreams: 32 },
  )
}

/**
 * Hands a node the final voucher; resolves with the settled total it confirmed, or throws `PaymentRefusedError`
 * (with the channel's latest receipt as `settlement` when the consumer is behind the node).
 */
export async function sendFinalVoucher(
  node: ModelexNode,
  peer: string,
  payment: JsonValue,
  timeoutMs = 10_000,
): Promise<bigint> {
  const fields = object(
    await askOneFrame(node, peer, FINAL_VOUCHER_PROTOCOL, MAX_FINAL_VOUCHER_FRAME_BYTES, payment, timeoutMs),
    'final voucher answer',
  )
  if (fields['ok'] === true) return amount(fields['settled'], 'settled')
  const settlement = fields['settlement']
  throw new PaymentRefusedError({
    details: string(fields['message'], 'message', 4096),
    settlement: settlement === undefined ? undefined : (settlement as JsonValue),
  })
}
