import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { InvalidJobError } from '../core/errors/jobs.ts'
import { encodeJob, signJob, type JobOffer } from '../core/jobs.ts'
import { jobsGate } from './jobs.ts'

const consumer = privateKeyToAccount(`0x${'a1'.repeat(32)}`)
const other = privateKeyToAccount(`0x${'a2'.repeat(32)}`)
const NOW = 1_700_000_000_000
const offer = (over: Partial<JobOffer> = {}): JobOffer => ({
  v: 1,
  chainId: 31337,
  consumer: consumer.address,
  peerId: '12D3KooWGzBqcH5PNFwn7ZJ3wrb5eCXN9X5aLX2MKDNrfDvqfj6p',
  modelHash: `0x${'11'.repeat(32)}`,
  request: { kind: 'completion', model: 'm', prompt: 'p', max_tokens: 8 },
  maxPricePerMillionInput: 1n,
  maxPricePerMillionOutput: 2n,
  createdAt: NOW,
  deadline: NOW + 60_000,
  nonce: 0,
  ...over,
})
const reason = (verdict: unknown) => (verdict instanceof InvalidJobError ? verdict.reason : 'accepted')

describe('jobsGate', () => {
  it('accepts valid jobs, rejects forged and malformed ones, ignores expired ones and a consumer over its rate', async () => {
    const gate = jobsGate({ now: () => NOW, chainId: 31337, ratePerSecond: 1, rateBurst: 2 })
    expect(reason(await gate.check(encodeJob(await signJob(consumer, offer({ nonce: 1 })))))).toBe('accepted')
    // Forged (signed by another key) and garbage: rejected, and they do not use the consumer's rate.
    for (let i = 0; i < 3; i++)
      expect(reason(await gate.check(encodeJob(await signJob(other, offer({ nonce: 10 + i })))))).toBe(
        'signer-mismatch',
      )
    expect(reason(await gate.check(new TextEncoder().encode('{"v":1}')))).toBe('schema')
    expect(reason(await gate.check(encodeJob(await signJob(consumer, offer({ nonce: 2 })))))).toBe('accepted')
    expect(reason(await gate.check(encodeJob(await signJob(consumer, offer({ nonce: 3 })))))).toBe('rate')
    expect(reason(await gate.check(encodeJob(await signJob(consumer, offer({ chainId: 1 })))))).toBe('wrong-chain')
    const late = jobsGate({ now: () => NOW + 60_000 })
    expect(reason(await late.check(encodeJob(await signJob(consumer, offer()))))).toBe('expired')
    expect(gate.counts).toEqual({ accepted: 2, rejected: 5, ignored: 1 })
  })
})
