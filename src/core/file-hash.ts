/**
 * A model's network identity is the keccak256 of its weights file: the same bytes give the same id on every
 * node, whoever downloaded them from wherever. This module hashes files as they stream in (a 500 MB GGUF is
 * never held twice), and defines the identity of web-llm models, which are many files: see `webLlmContentHash`.
 * Pure: callers bring the bytes.
 */
import { keccak_256 } from '@noble/hashes/sha3.js'
import { bytesToHex, hexToBytes, type Hex } from 'viem'

export type FileHasher = {
  /** Feeds the next chunk of the file; chunks may have any size, the digest depends only on their concatenation. */
  update(chunk: Uint8Array): void
  /** Bytes fed so far. */
  readonly bytes: number
  /** The keccak256 of everything fed, lower-case 0x hex. Ends the hasher: it cannot be updated after. */
  digest(): Hex
}

/** A streaming keccak256, equal to viem's `keccak256` of the whole file. */
export function createFileHasher(): FileHasher {
  const state = keccak_256.create()
  let bytes = 0
  let done = false
  return {
    update(chunk) {
      if (done) throw new Error('createFileHasher: update after digest')
      state.update(chunk)
      bytes += chunk.byteLength
    },
    get bytes() {
      return bytes
    },
    digest() {
      done = true
      return bytesToHex(state.digest())
    },
  }
}

/** The content hash of a file held whole. */
export function fileContentHash(bytes: Uint8Array): Hex {
  const hasher = createFileHasher()
  hasher.update(bytes)
  return hasher.digest()
}

/** Content hashes are compared and announced lower-case; anything but 32 bytes of hex is not one. */
export function isContentHash(value: unknown): value is Hex {
  return typeof value === 'string' && /^0x[0-9a-f]{64}$/.test(value)
}

/**
 * The identity of a web-llm model: keccak256 of the two file hashes, in this order,
 * `keccak256(keccak256(tensor-cache.json) ‖ keccak256(model library .wasm))`. The tensor-cache manifest lists every
 * weight shard with its path, size, md5 and the name, shape, dtype and offset of each tensor in it; the library is
 * the compiled model code. Two hashes rather than the files joined, so no byte can move from one file to the other.
 */
export function webLlmContentHash(files: { tensorCache: Uint8Array; modelLib: Uint8Array }): Hex {
  const hasher = createFileHasher()
  hasher.update(hexToBytes(fileContentHash(files.tensorCache)))
  hasher.update(hexToBytes(fileContentHash(files.modelLib)))
  return hasher.digest()
}
