import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bytesToHex, type Hex } from 'viem'
import { buildReceiptTree, getReceiptProof, receiptLeaf, verifyMerkleProof } from './merkle.ts'

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b))

describe('merkle (properties)', () => {
  it('proves every receipt of any tree', () => {
    fc.assert(
      fc.property(fc.array(bytes32, { minLength: 1, maxLength: 40 }), (receiptHashes) => {
        const tree = buildReceiptTree(receiptHashes)
        for (const h of receiptHashes)
          expect(verifyMerkleProof(tree.root, receiptLeaf(h), getReceiptProof(tree, h))).toBe(true)
      }),
    )
  })

  it('gives the same root for any order of the receipts', () => {
    fc.assert(
      fc.property(
        fc.array(bytes32, { minLength: 1, maxLength: 20 }),
        fc.infiniteStream(fc.nat()),
        (receiptHashes, seeds) => {
          const shuffled = [...receiptHashes]
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = (seeds.next().value as number) % (i + 1)
            ;[shuffled[i], shuffled[j]] = [shuffled[j] as Hex, shuffled[i] as Hex]
          }
          expect(buildReceiptTree(shuffled).root).toBe(buildReceiptTree(receiptHashes).root)
        },
      ),
    )
  })

  it('rejects a receipt that is not in the tree, or a tampered proof', () => {
    fc.assert(
      fc.property(fc.uniqueArray(bytes32, { minLength: 2, maxLength: 20 }), fc.nat(), (receiptHashes, pick) => {
        const [outsider, ...inside] = receiptHashes as [Hex, ...Hex[]]
        const tree = buildReceiptTree(inside)
        const member = inside[pick % inside.length] as Hex
        const proof = getReceiptProof(tree, member)
        expect(verifyMerkleProof(tree.root, receiptLeaf(outsider), proof)).toBe(false)
        if (proof.length > 0) {
          const tampered = [...proof]
          tampered[pick % proof.length] = outsider
          expect(verifyMerkleProof(tree.root, receiptLeaf(member), tampered)).toBe(false)
        }
      }),
    )
  })
})
