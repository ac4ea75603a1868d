import { describe, expect, it } from 'vitest'
import {
  createEquivocationWatch,
  decodeEquivocation,
  encodeEquivocation,
  findEquivocation,
  findEquivocations,
  signedByItsSigner,
} from './equivocation.ts'
import { bytes32, NODE, OTHER_NODE, RECEIPT_DOMAIN, receiptOf, sign } from './equivocation.fixtures.ts'
import { canonicalSignature } from './signature.ts'
import { highS } from './signature.fixtures.ts'

describe('equivocation', () => {
  it('two deterministic receipts of one signer for one request and model with different outputs are evidence', async () => {
    const a = await sign(receiptOf(1))
    const b = await sign(receiptOf(2, { timestamp: 1_700_000_100n, channelId: 2n }))
    const evidence = await findEquivocation(a, b, RECEIPT_DOMAIN)
    expect(evidence).toMatchObject({ signer: NODE.address, requestHash: bytes32(1), modelHash: bytes32(2) })
    expect(decodeEquivocation(JSON.parse(JSON.stringify(encodeEquivocation(evidence!))))).toEqual(evidence)
  })

  it.each([
    ['the same output', receiptOf(1)],
    ['a non-deterministic receipt', receiptOf(2, { deterministic: false })],
    ['another request', receiptOf(2, { requestHash: bytes32(9) })],
    ['another model', receiptOf(2, { modelHash: bytes32(9) })],
  ])('%s is no evidence', async (_, other) => {
    expect(await findEquivocation(await sign(receiptOf(1)), await sign(other), RECEIPT_DOMAIN)).toBeNull()
  })

  it('a receipt signed by someone else, claiming another signer, or for another domain is no evidence', async () => {
    const a = await sign(receiptOf(1))
    expect(await findEquivocation(a, await sign(receiptOf(2), OTHER_NODE), RECEIPT_DOMAIN)).toBeNull()
    expect(
      await findEquivocation(
        a,
        await sign(receiptOf(2, { nodeSigner: OTHER_NODE.address }), OTHER_NODE),
        RECEIPT_DOMAIN,
      ),
    ).toBeNull()
    const b = await sign(receiptOf(2))
    expect(await findEquivocation(a, { ...b, signature: `0x${'00'.repeat(65)}` }, RECEIPT_DOMAIN)).toBeNull()
    expect(await findEquivocation(a, b, { ...RECEIPT_DOMAIN, chainId: 1 })).toBeNull()
  })

  it('a high-s signature still proves it, turned into the low-s form the contract accepts', async () => {
    const a = await sign(receiptOf(1))
    const b = await sign(receiptOf(2))
    const bent = { ...b, signature: highS(b.signature) }
    expect(bent.signature).not.toBe(b.signature)
    expect(canonicalSignature(bent.signature)).toBe(b.signature.toLowerCase())
    expect(await signedByItsSigner(bent, RECEIPT_DOMAIN)).toBe(true)
    expect((await findEquivocation(a, bent, RECEIPT_DOMAIN))?.b.signature).toBe(b.signature.toLowerCase())
  })

  it('the watch reports a contradiction once, keeps at most maxKeys groups, and ignores junk', async () => {
    const watch = createEquivocationWatch({ domain: RECEIPT_DOMAIN, maxKeys: 2 })
    expect(await watch.add(await sign(receiptOf(1)))).toBeNull()
    expect(await watch.add(await sign(receiptOf(1)))).toBeNull()
    expect(await watch.add(await sign(receiptOf(3), OTHER_NODE))).toBeNull()
    expect(await watch.add(await sign(receiptOf(4, { deterministic: false })))).toBeNull()
    expect(await watch.add(await sign(receiptOf(2)))).toMatchObject({ signer: NODE.address })
    expect(await watch.add(await sign(receiptOf(5)))).toBeNull()
    expect(watch.size).toBe(1)
    for (let i = 10; i < 14; i++) await watch.add(await sign(receiptOf(1, { requestHash: bytes32(i) })))
    expect(watch.size).toBe(2)
    expect(
      await findEquivocations(
        [await sign(receiptOf(1)), await sign(receiptOf(2)), await sign(receiptOf(3))],
        RECEIPT_DOMAIN,
      ),
    ).toHaveLength(1)
  })

  it('decoding refuses receipts that do not contradict each other', async () => {
    const a = await sign(receiptOf(1))
    expect(() =>
      decodeEquivocation(
        encodeEquivocation({ signer: NODE.address, requestHash: bytes32(1), modelHash: bytes32(2), a, b: a }),
      ),
    ).toThrow(/do not contradict/)
  })
})
