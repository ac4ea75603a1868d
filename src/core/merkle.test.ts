import { describe, expect, it } from 'vitest'
import { concat, encodeAbiParameters, keccak256, toHex, type Hex } from 'viem'
import { InvalidChainValueError, MerkleLeafNotFoundError } from './errors/chain.ts'
import {
  buildMerkleTree,
  buildReceiptTree,
  getMerkleProof,
  getReceiptProof,
  hashPair,
  processMerkleProof,
  receiptLeaf,
  verifyMerkleProof,
} from './merkle.ts'

const hashes = ['r0', 'r1', 'r2', 'r3', 'r4'].map((s) => keccak256(toHex(s)))

describe('merkle', () => {
  it('encodes a leaf as keccak256(keccak256(abi.encode(bytes32)))', () => {
    const h = hashes[0] as Hex
    expect(receiptLeaf(h)).toBe(keccak256(keccak256(encodeAbiParameters([{ type: 'bytes32' }], [h]))))
  })

  it('hashes pairs in sorted order', () => {
    const [a, b] = hashes as [Hex, Hex]
    expect(hashPair(a, b)).toBe(hashPair(b, a))
    const [lo, hi] = BigInt(a) < BigInt(b) ? [a, b] : [b, a]
    expect(hashPair(a, b)).toBe(keccak256(concat([lo, hi])))
  })

  it('builds the 4-leaf tree the Solidity tests build', () => {
    const leaves = hashes.slice(0, 4).map(receiptLeaf) as [Hex, Hex, Hex, Hex]
    const tree = buildMerkleTree(leaves)
    // Sorted leaves s0 < s1 < s2 < s3 pair as (s0, s1) and (s2, s3) in StandardMerkleTree's layout.
    const s = [...leaves].sort() as [Hex, Hex, Hex, Hex]
    expect(tree.root).toBe(hashPair(hashPair(s[0], s[1]), hashPair(s[2], s[3])))
  })

  it('proves every leaf of odd-sized trees', () => {
    for (let n = 1; n <= hashes.length; n++) {
      const tree = buildReceiptTree(hashes.slice(0, n))
      for (const h of hashes.slice(0, n)) {
        const proof = getReceiptProof(tree, h)
        expect(verifyMerkleProof(tree.root, receiptLeaf(h), proof)).toBe(true)
        expect(processMerkleProof(receiptLeaf(h), proof)).toBe(tree.root)
      }
    }
  })

  it('makes a single leaf its own root with an empty proof', () => {
    const tree = buildMerkleTree([receiptLeaf(hashes[0] as Hex)])
    expect(tree.root).toBe(receiptLeaf(hashes[0] as Hex))
    expect(getMerkleProof(tree, tree.root)).toEqual([])
  })

  it('accepts mixed-case hex and rejects what is not bytes32', () => {
    const upper = (hashes[0] as string).toUpperCase().replace('0X', '0x') as Hex
    expect(receiptLeaf(upper)).toBe(receiptLeaf(hashes[0] as Hex))
    expect(() => receiptLeaf('0x12')).toThrow(InvalidChainValueError)
    expect(() => buildMerkleTree([])).toThrow(InvalidChainValueError)
  })

  it('refuses proofs for leaves the tree lacks', () => {
    const tree = buildReceiptTree(hashes.slice(0, 3))
    expect(() => getReceiptProof(tree, hashes[4] as Hex)).toThrow(MerkleLeafNotFoundError)
    expect(verifyMerkleProof(tree.root, receiptLeaf(hashes[4] as Hex), getReceiptProof(tree, hashes[0] as Hex))).toBe(
      false,
    )
  })
})
