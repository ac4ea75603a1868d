/**
 * Merkle trees of receipt hashes, compatible with OpenZeppelin's `MerkleProof` and laid out like
 * `@openzeppelin/merkle-tree`'s StandardMerkleTree: leaves are `keccak256(keccak256(abi.encode(receiptHash)))`
 * (double hashing keeps a leaf from passing for an inner node), sorted, and inner nodes hash the sorted pair of
 * their children. `ReceiptAnchor.verifyReceipt` checks the proofs built here.
 */
import { concat, encodeAbiParameters, keccak256, type Hex } from 'viem'
import { InvalidChainValueError, MerkleLeafNotFoundError } from './errors/chain.ts'

export type MerkleTree = {
  readonly root: Hex
  /** The whole tree as an array: node i has children 2i+1 and 2i+2; the leaves fill the end in reverse order. */
  readonly nodes: readonly Hex[]
}

const BYTES32 = /^0x[0-9a-f]{64}$/

/** The leaf of a receipt hash, equal to `ReceiptAnchor.receiptLeaf(receiptHash)`. */
export function receiptLeaf(receiptHash: Hex): Hex {
  return keccak256(keccak256(encodeAbiParameters([{ type: 'bytes32' }], [normalize(receiptHash, 'receiptHash')])))
}

/** Hash of two nodes in ascending order, as OpenZeppelin's `Hashes.commutativeKeccak256`. */
export function hashPair(a: Hex, b: Hex): Hex {
  return BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]))
}

/** Builds a tree over already hashed leaves (use `receiptLeaf`); their order does not matter. */
export function buildMerkleTree(leaves: readonly Hex[]): MerkleTree {
  if (leaves.length === 0)
    throw new InvalidChainValueError({ field: 'leaves', reason: 'a Merkle tree needs at least one leaf' })
  const sorted = leaves.map((leaf) => normalize(leaf, 'leaf')).sort(compareHex)
  const nodes: Hex[] = new Array<Hex>(2 * sorted.length - 1)
  sorted.forEach((leaf, i) => (nodes[nodes.length - 1 - i] = leaf))
  for (let i = nodes.length - 1 - sorted.length; i >= 0; i--) {
    nodes[i] = hashPair(nodes[2 * i + 1] as Hex, nodes[2 * i + 2] as Hex)
  }
  return { root: nodes[0] as Hex, nodes }
}

/** Builds the tree a node anchors over the receipt hashes it signed. */
export function buildReceiptTree(receiptHashes: readonly Hex[]): MerkleTree {
  return buildMerkleTree(receiptHashes.map(receiptLeaf))
}

/** The sibling hashes from `leaf` up to the root. */
export function getMerkleProof(tree: MerkleTree, leaf: Hex): Hex[] {
  const wanted = normalize(leaf, 'leaf')
  const leafCount = (tree.nodes.length + 1) / 2
  let index = -1
  for (let i = tree.nodes.length - leafCount; i < tree.nodes.length; i++) {
    if (tree.nodes[i] === wanted) index = i
  }
  if (index === -1) throw new MerkleLeafNotFoundError({ leaf: wanted })
  const proof: Hex[] = []
  while (index > 0) {
    proof.push(tree.nodes[index % 2 === 1 ? index + 1 : index - 1] as Hex)
    index = Math.floor((index - 1) / 2)
  }
  return proof
}

/** The proof of a receipt hash in a tree from `buildReceiptTree`. */
export function getReceiptProof(tree: MerkleTree, receiptHash: Hex): Hex[] {
  return getMerkleProof(tree, receiptLeaf(receiptHash))
}

/** The root `proof` leads to from `leaf`, as OpenZeppelin's `MerkleProof.processProof`. */
export function processMerkleProof(leaf: Hex, proof: readonly Hex[]): Hex {
  return proof.reduce<Hex>((node, sibling) => hashPair(node, normalize(sibling, 'proof')), normalize(leaf, 'leaf'))
}

/** Whether `proof` shows `leaf` is in the tree with `root`, as OpenZeppelin's `MerkleProof.verify`. */
export function verifyMerkleProof(root: Hex, leaf: Hex, proof: readonly Hex[]): boolean {
  return processMerkleProof(leaf, proof) === normalize(root, 'root')
}

function normalize(value: Hex, field: string): Hex {
  const lower = value.toLowerCase() as Hex
  if (!BYTES32.test(lower)) throw new InvalidChainValueError({ field, reason: 'not 32 bytes of hex' })
  return lower
}

function compareHex(a: Hex, b: Hex): number {
  return a < b ? -1 : a > b ? 1 : 0
}
