import { describe, expect, test } from 'vitest'
import type { InferenceResult } from '../core/inference.ts'
import type { SignedReceipt } from '../core/payment.ts'
import type { PaymentPolicy } from '../p2p/infer-server.ts'
import { createPeerPolicies, type Peer } from '../p2p/peer.ts'
import { createHistoryStore } from '../store/history.ts'
import { memoryStore } from '../store/payments.ts'
import { createServedRecorder, paidRecordOf, recordVerification } from './history-recorder.ts'

const signed = (cost: bigint, promptTokens = 7n, completionTokens = 11n): SignedReceipt =>
  ({
    receipt: { cost, promptTokens, completionTokens },
    receiptHash: `0x${'cd'.repeat(32)}`,
    signature: '0x',
  }) as unknown as SignedReceipt
const result = (): InferenceResult =>
  ({
    text: 'x',
    finish_reason: 'stop',
    usage: { prompt_tokens: 7, completion_tokens: 11, total_tokens: 18 },
    timings: { prefill_ms: 1, decode_ms: 1 },
  }) as unknown as InferenceResult

describe('served recorder', () => {
  test('a live request is recorded with its kind, model and latency; a receipt it never admitted is a job', async () => {
    const history = createHistoryStore(memoryStore())
    let clock = 1_000
    const written: number[] = []
    const recorder = createServedRecorder({
      history,
      model: () => 'served-model',
      now: () => clock,
      onRecorded: () => written.push(clock),
    })
    // Plays the cashier: the receipt hook sees the very result object the server settles with.
    const cashier: PaymentPolicy = {
      admit: async () => ({
        quote: null,
        settle: async (r) => (recorder.onReceipt(signed(5n), r), null),
        release() {},
      }),
    }
    const policies = createPeerPolicies()
    policies.set('payment', cashier)
    recorder.watch({ policies } as unknown as Peer)
    const admission = await policies.current.admit({
      peer: 'p',
      request: { kind: 'completion', model: 'live-model', prompt: 'x' },
      payment: null,
      model: { id: 'live-model' },
    } as never)
    clock = 1_250
    await admission.settle(result())
    clock = 2_000
    recorder.onReceipt(signed(3n, 1n, 2n), result())
    await expect.poll(() => written.length).toBe(2)
    expect(await history.served.list()).toEqual([
      { at: 1_250, model: 'live-model', kind: 'completion', tokensIn: 7, tokensOut: 11, earnings: 5n, latencyMs: 250 },
      { at: 2_000, model: 'served-model', kind: 'job', tokensIn: 1, tokensOut: 2, earnings: 3n, latencyMs: null },
    ])
  })

  test('uptime: a sample on going online, and an offline one on going offline', async () => {
    const history = createHistoryStore(memoryStore())
    let clock = 10
    const recorder = createServedRecorder({ history, model: () => 'm', now: () => clock })
    recorder.online()
    clock = 20
    await recorder.offline()
    expect(await history.uptime.list()).toEqual([
      { at: 10, online: true },
      { at: 20, online: false },
    ])
  })

  test('a store that fails is reported, never thrown', async () => {
    const errors: unknown[] = []
    const broken = createHistoryStore({
      get: async () => undefined,
      set: async () => Promise.reject(new Error('quota')),
    })
    const recorder = createServedRecorder({ history: broken, model: () => 'm', onError: (e) => errors.push(e) })
    recorder.onReceipt(signed(1n), result())
    await recorder.offline()
    await expect.poll(() => errors.length).toBe(2)
  })
})

describe('consumer records', () => {
  test('a paid answer and the outcome of its check', async () => {
    const history = createHistoryStore(memoryStore())
    const paid = { peer: '12D3Koo', cost: 9n, receipt: signed(9n), quote: { model: 'm' } }
    expect(paidRecordOf(paid, 5)).toEqual({
      at: 5,
      node: '12D3Koo',
      model: 'm',
      tokensIn: 7,
      tokensOut: 11,
      cost: 9n,
      receiptHash: `0x${'cd'.repeat(32)}`,
      verification: 'signed',
    })
    await history.paid.append(paidRecordOf(paid, 5))
    await recordVerification(history, paid.receipt.receiptHash, { anchored: false })
    expect((await history.paid.list())[0]?.verification).toBe('unanchored')
    await recordVerification(history, paid.receipt.receiptHash, { anchored: true, verified: false })
    expect((await history.paid.list())[0]?.verification).toBe('failed')
    await recordVerification(history, paid.receipt.receiptHash, { anchored: true, verified: true })
    expect((await history.paid.list())[0]?.verification).toBe('verified')
  })
})
