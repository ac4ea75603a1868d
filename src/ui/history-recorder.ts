/**
 * Where the app writes its history (`src/store/history.ts`): the provider side records every receipt its service
 * signs (live requests with their kind and latency, async jobs), and uptime samples while online; the consumer side
 * records every paid answer (live or job) and each on-chain verification of its receipt. Writing history never
 * fails a request: a store error is reported to `onError` and the request goes on.
 */
import type { Hex } from 'viem'
import {
  UPTIME_SAMPLE_MS,
  type PaidRecord,
  type ReceiptVerification,
  type ServedKind,
  type ServedRecord,
} from '../core/history.ts'
import type { InferenceResult } from '../core/inference.ts'
import type { SignedReceipt } from '../core/payment.ts'
import type { PaymentPolicy } from '../p2p/infer-server.ts'
import type { Peer } from '../p2p/peer.ts'
import type { HistoryStore } from '../store/history.ts'

type Clock = () => number
const report = (onError: (error: unknown) => void) => (error: unknown) => onError(error)

/** What the provider side needs: a receipt hook for the service, the policy to watch live requests, uptime. */
export type ServedRecorder = {
  /** Give to `createProviderService(…, { onReceipt })`: called for every receipt signed, live or job. */
  onReceipt(signed: SignedReceipt, result: InferenceResult): void
  /** Wraps the peer's `payment` policy (set by the service's start) to tell live requests from jobs and time them. */
  watch(peer: Peer): void
  /** Writes an online sample now and every `UPTIME_SAMPLE_MS` until `offline()`. */
  online(): void
  offline(): Promise<void>
}

export type ServedRecorderOptions = {
  history: HistoryStore
  /** The id of the model served, for jobs (live requests name theirs). */
  model: () => string
  now?: Clock
  onError?: (error: unknown) => void
  /** After each record or sample is written (a dashboard reads the history again). */
  onRecorded?: () => void
}

export function createServedRecorder({
  history,
  model,
  now = Date.now,
  onError = console.warn,
  onRecorded = () => {},
}: ServedRecorderOptions): ServedRecorder {
  // The cashier hands the result it was given to `onReceipt`, so a live request is known by its result object.
  const live = new WeakMap<InferenceResult, { kind: ServedKind; admittedAt: number; model: string }>()
  let timer: ReturnType<typeof setInterval> | undefined
  const fail = report(onError)
  return {
    onReceipt(signed, result) {
      const request = live.get(result)
      const at = now()
      const record: ServedRecord = {
        at,
        model: request?.model ?? model(),
        kind: request?.kind ?? 'job',
        tokensIn: Number(signed.receipt.promptTokens),
        tokensOut: Number(signed.receipt.completionTokens),
        earnings: signed.receipt.cost,
        // Jobs run off the request path, when the node is idle: their wait is not a latency anyone saw.
        latencyMs: request ? Math.max(0, at - request.admittedAt) : null,
      }
      history.served.append(record).then(onRecorded, fail)
    },
    watch(peer) {
      const inner = peer.policies.get('payment')
      if (!inner) return
      const watched: PaymentPolicy = {
        async admit(context) {
          const admittedAt = now()
          const admission = await inner.admit(context)
          return {
            quote: admission.quote,
            settle(result) {
              live.set(result, { kind: context.request.kind, admittedAt, model: context.model.id })
              return admission.settle(result)
            },
            release: () => admission.release(),
          }
        },
        ...(inner.quote
          ? { quote: (context) => (inner.quote as NonNullable<PaymentPolicy['quote']>).call(inner, context) }
          : {}),
      }
      peer.policies.set('payment', watched)
    },
    online() {
      const sample = () => void history.uptime.append({ at: now(), online: true }).then(onRecorded, fail)
      clearInterval(timer)
      sample()
      timer = setInterval(sample, UPTIME_SAMPLE_MS)
    },
    async offline() {
      clearInterval(timer)
      timer = undefined
      await history.uptime.append({ at: now(), online: false }).then(onRecorded, fail)
    },
  }
}

/** The paid answer as the consumer's history keeps it (a live answer's `PaidResult` or a job's result view). */
export function paidRecordOf(
  paid: { peer: string; cost: bigint; receipt: SignedReceipt; quote: { model: string } },
  at: number,
): PaidRecord {
  return {
    at,
    node: paid.peer,
    model: paid.quote.model,
    tokensIn: Number(paid.receipt.receipt.promptTokens),
    tokensOut: Number(paid.receipt.receipt.completionTokens),
    cost: paid.cost,
    receiptHash: paid.receipt.receiptHash,
    // The SDK checked the node's signature before it handed the answer over.
    verification: 'signed',
  }
}

/** Records a paid answer; never throws (history is not worth failing a request for). */
export function recordPaid(
  history: HistoryStore,
  paid: Parameters<typeof paidRecordOf>[0],
  { now = Date.now, onError = console.warn }: { now?: Clock; onError?: (error: unknown) => void } = {},
): Promise<void> {
  return history.paid.append(paidRecordOf(paid, now())).catch(report(onError))
}

/** The verification state the SDK's `verify` result means. */
export function verificationOf(
  verification: { anchored: false } | { anchored: true; verified: boolean },
): ReceiptVerification {
  return !verification.anchored ? 'unanchored' : verification.verified ? 'verified' : 'failed'
}

/** Records the outcome of an on-chain check of a receipt; never throws. */
export function recordVerification(
  history: HistoryStore,
  receiptHash: Hex,
  verification: Parameters<typeof verificationOf>[0],
  onError: (error: unknown) => void = console.warn,
): Promise<void> {
  return history
    .setVerification(receiptHash, verificationOf(verification))
    .then(() => {})
    .catch(report(onError))
}
