/**
 * No false positives, as a property: a second receipt that differs from a node's deterministic receipt in any way
 * but its output alone (same output, not deterministic, another request, model or signer, a bad signature) is never
 * evidence, in any order; a real contradiction always is, and the watch reports it exactly once.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createEquivocationWatch, findEquivocation } from './equivocation.ts'
import { bytes32, NODE, OTHER_NODE, RECEIPT_DOMAIN, receiptOf, sign } from './equivocation.fixtures.ts'
import type { SignedReceipt } from './payment.ts'
import { receiptTypedData } from './receipt.ts'

const flaw = fc.constantFrom(
  'same-output',
  'not-deterministic',
  'first-not-deterministic',
  'other-request',
  'other-model',
  'other-signer',
  'signed-by-stranger',
  'bad-signature',
  'other-domain',
)
const fields = fc.record({
  output: fc.integer({ min: 1, max: 1000 }),
  other: fc.integer({ min: 1001, max: 2000 }),
  cost: fc.bigInt({ min: 0n, max: 10n ** 20n }),
  timestamp: fc.bigInt({ min: 0n, max: 2n ** 40n }),
})

async function pair(
  kind: string,
  f: { output: number; other: number; cost: bigint; timestamp: bigint },
): Promise<[SignedReceipt, SignedReceipt]> {
  const a = await sign(receiptOf(f.output, kind === 'first-not-deterministic' ? { deterministic: false } : {}))
  const second = (overrides: Parameters<typeof receiptOf>[1]) =>
    receiptOf(f.other, { cost: f.cost, timestamp: f.timestamp, ...overrides })
  switch (kind) {
    case 'same-output':
      return [a, await sign(receiptOf(f.output, { cost: f.cost, timestamp: f.timestamp }))]
    case 'not-deterministic':
      return [a, await sign(second({ deterministic: false }))]
    case 'other-request':
      return [a, await sign(second({ requestHash: bytes32(f.other) }))]
    case 'other-model':
      return [a, await sign(second({ modelHash: bytes32(f.other) }))]
    case 'other-signer':
      return [a, await sign(second({ nodeSigner: OTHER_NODE.address }), OTHER_NODE)]
    case 'signed-by-stranger':
      return [a, await sign(second({}), OTHER_NODE)]
    case 'bad-signature': {
      const b = await sign(second({}))
      const flipped =
        `${b.signature.slice(0, 10)}${b.signature[10] === '0' ? '1' : '0'}${b.signature.slice(11)}` as `0x${string}`
      return [a, { ...b, signature: flipped }]
    }
    case 'other-domain': {
      const b = second({})
      return [
        a,
        {
          receipt: b,
          receiptHash: bytes32(0),
          signature: await NODE.signTypedData(receiptTypedData(b, { ...RECEIPT_DOMAIN, chainId: 1 })),
        },
      ]
    }
    default:
      return [a, await sign(second({}))]
  }
}

describe('equivocation (properties)', () => {
  it('no false positives: a pair with any flaw is never evidence, in either order, nor to the watch', async () => {
    await fc.assert(
      fc.asyncProperty(flaw, fields, async (kind, f) => {
        const [a, b] = await pair(kind, f)
        expect(await findEquivocation(a, b, RECEIPT_DOMAIN)).toBeNull()
        expect(await findEquivocation(b, a, RECEIPT_DOMAIN)).toBeNull()
        const watch = createEquivocationWatch({ domain: RECEIPT_DOMAIN })
        expect(await watch.add(a)).toBeNull()
        expect(await watch.add(b)).toBeNull()
      }),
      { numRuns: 150 },
    )
  })

  it('a real contradiction is always found, and reported once by the watch however often it is repeated', async () => {
    await fc.assert(
      fc.asyncProperty(fields, fc.array(fc.boolean(), { minLength: 2, maxLength: 6 }), async (f, order) => {
        const [a, b] = await pair('none', f)
        expect(await findEquivocation(a, b, RECEIPT_DOMAIN)).toMatchObject({
          signer: NODE.address,
          requestHash: a.receipt.requestHash,
        })
        const watch = createEquivocationWatch({ domain: RECEIPT_DOMAIN })
        const sequence = [a, b, ...order.map((first) => (first ? a : b))]
        const reports = []
        for (const signed of sequence) {
          const found = await watch.add(signed)
          if (found) reports.push(found)
        }
        expect(reports).toHaveLength(1)
        expect(reports[0]?.a.receipt.outputHash).not.toBe(reports[0]?.b.receipt.outputHash)
      }),
      { numRuns: 60 },
    )
  })
})
