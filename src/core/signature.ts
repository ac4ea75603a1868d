/**
 * Signatures in the one form the contracts accept. OpenZeppelin's ECDSA (every Modelex contract) refuses an s above
 * half the group order and a v other than 27 or 28, where viem recovers the same signer from either form: a
 * signature checked off-chain must be stored and submitted in this form, or a signer handing out the other one
 * (valid to viem, refused on-chain) makes it worthless.
 */
import { invert, mod } from '@noble/curves/abstract/modular'
import { secp256k1 } from '@noble/curves/secp256k1'
import { recoverPublicKey, type Address, type Hex } from 'viem'
import { publicKeyToAddress } from 'viem/accounts'

// secp256k1's group order: signatures with s above half of it are refused by OpenZeppelin's ECDSA.recover.
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/**
 * The same signature in the form the contracts accept: low s and v of 27 or 28 (anything that is not 65 bytes of hex
 * is returned as it is, for the signature check to refuse).
 */
export function canonicalSignature(signature: Hex): Hex {
  const parts = signatureParts(signature)
  if (!parts) return signature
  const { r } = parts
  let { s, v } = parts
  if (v < 27) v += 27
  if (s > N / 2n) {
    s = N - s
    v = v === 27 ? 28 : 27
  }
  return `0x${r.toString(16).padStart(64, '0')}${s.toString(16).padStart(64, '0')}${v.toString(16).padStart(2, '0')}`.toLowerCase() as Hex
}

/** r, s and v of a signature of 65 bytes in hex, or null for anything else. */
function signatureParts(signature: Hex): { r: bigint; s: bigint; v: number } | null {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return null
  return {
    r: BigInt(`0x${signature.slice(2, 66)}`),
    s: BigInt(`0x${signature.slice(66, 130)}`),
    v: Number.parseInt(signature.slice(130, 132), 16),
  }
}

/**
 * Who signed a hash, as viem's `recoverAddress` answers it, but fast for a signer seen before: a node checks every
 * voucher of a channel against the same consumer, and recovering a secp256k1 signer in JavaScript takes 2–6 ms here.
 * `recover(hash, signature, expected)` first checks the signature against `expected`'s public key when it has it
 * (kept with a precomputed table; ECDSA verification against a known key is about three times faster than
 * recovery), and otherwise, or when that check fails, recovers as viem does and keeps the key if it was `expected`'s.
 * The quick check accepts exactly what recovery would return `expected` for: r and s in range, and the point it
 * computes has x = r and the y parity v names (what `ecrecover` and OpenZeppelin's ECDSA rebuild from r and v), so
 * a signature whose v names the other point is not taken for `expected`'s.
 */
export type SignerCache = {
  recover(hash: Hex, signature: Hex, expected?: Address): Promise<Address>
  /** How many signers' keys are kept (at most `maxKeys`, the least recently used dropped first). */
  readonly size: number
}

type Point = InstanceType<typeof secp256k1.ProjectivePoint>

/** The precomputed table's window: 4 keeps ~130 KB per key; 8 would be ~1 MB for another 0.4 ms off each check. */
const KEY_WINDOW = 4

export function createSignerCache({ maxKeys = 64 }: { maxKeys?: number } = {}): SignerCache {
  const keys = new Map<string, Point>()
  return {
    async recover(hash, signature, expected) {
      const id = expected?.toLowerCase()
      const key = id === undefined ? undefined : keys.get(id)
      if (id !== undefined && key && signedBy(key, hash, signature)) {
        keys.delete(id)
        keys.set(id, key)
        return expected!
      }
      const publicKey = await recoverPublicKey({ hash, signature })
      const signer = publicKeyToAddress(publicKey)
      if (id !== undefined && !key && signer.toLowerCase() === id) {
        const point = secp256k1.ProjectivePoint.fromHex(publicKey.slice(2))
        point._setWindowSize(KEY_WINDOW)
        keys.set(id, point)
        for (const oldest of keys.keys()) {
          if (keys.size <= maxKeys) break
          keys.delete(oldest)
        }
      }
      return signer
    },
    get size() {
      return keys.size
    },
  }
}

/** Whether `signature` (r, s, v) over `hash` recovers to `key`, checked by ECDSA verification (see `SignerCache`). */
function signedBy(key: Point, hash: Hex, signature: Hex): boolean {
  const parts = signatureParts(signature)
  if (!parts) return false
  const { r, s, v } = parts
  const parity = v >= 27 ? v - 27 : v
  if (parity !== 0 && parity !== 1) return false
  if (r <= 0n || r >= N || s <= 0n || s >= N) return false
  try {
    const w = invert(s, N)
    const u1 = mod(BigInt(hash) * w, N)
    const u2 = mod(r * w, N)
    const G = secp256k1.ProjectivePoint.BASE
    const R = (u1 === 0n ? secp256k1.ProjectivePoint.ZERO : G.multiply(u1)).add(key.multiply(u2))
    if (R.equals(secp256k1.ProjectivePoint.ZERO)) return false
    const { x, y } = R.toAffine()
    return x === r && Number(y & 1n) === parity
  } catch {
    return false
  }
}
