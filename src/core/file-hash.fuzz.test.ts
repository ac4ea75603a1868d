/** The streaming hasher against viem's one-shot keccak256, over random files cut at random chunk boundaries. */
import fc from 'fast-check'
import { keccak256 } from 'viem'
import { describe, expect, test } from 'vitest'
import { createFileHasher, fileContentHash, isContentHash, webLlmContentHash } from './file-hash.ts'

/** A file and a list of cut points inside it (sorted, repeats allowed: empty chunks are legal). */
const cutFile = fc.uint8Array({ minLength: 0, maxLength: 4096 }).chain((file) =>
  fc.tuple(
    fc.constant(file),
    fc
      .array(fc.integer({ min: 0, max: file.length }), { maxLength: 12 })
      .map((cuts) => [...cuts].sort((a, b) => a - b)),
  ),
)

function chunksOf(file: Uint8Array, cuts: number[]): Uint8Array[] {
  const edges = [0, ...cuts, file.length]
  return edges.slice(1).map((end, i) => file.subarray(edges[i], end))
}

describe('streaming keccak256', () => {
  test('equals keccak256 of the whole file for any chunking', () => {
    fc.assert(
      fc.property(cutFile, ([file, cuts]) => {
        const hasher = createFileHasher()
        for (const chunk of chunksOf(file, cuts)) hasher.update(chunk)
        expect(hasher.bytes).toBe(file.length)
        expect(hasher.digest()).toBe(keccak256(file))
      }),
    )
  })

  test('crosses the 136-byte keccak block edge', () => {
    for (const size of [0, 1, 135, 136, 137, 272, 1 << 16]) {
      const file = Uint8Array.from({ length: size }, (_, i) => (i * 7) & 0xff)
      expect(fileContentHash(file)).toBe(keccak256(file))
    }
  })

  test('is lower-case hex and cannot be fed after its digest', () => {
    const hasher = createFileHasher()
    hasher.update(new Uint8Array([1, 2, 3]))
    const digest = hasher.digest()
    expect(isContentHash(digest)).toBe(true)
    expect(() => hasher.update(new Uint8Array([4]))).toThrow(/after digest/)
    expect(isContentHash(digest.toUpperCase())).toBe(false)
  })
})

describe('web-llm identity', () => {
  test('changes with either file, and bytes cannot move between the two', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 1, maxLength: 64 }), (a, b) => {
        const id = webLlmContentHash({ tensorCache: a, modelLib: b })
        expect(isContentHash(id)).toBe(true)
        const moved = webLlmContentHash({ tensorCache: Uint8Array.from([...a, b[0]!]), modelLib: b.subarray(1) })
        expect(moved).not.toBe(id)
        const same = a.length === b.length && a.every((x, i) => x === b[i])
        if (!same) expect(webLlmContentHash({ tensorCache: b, modelLib: a })).not.toBe(id)
      }),
    )
  })
})
