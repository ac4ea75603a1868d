/**
 * Signatures in the one form the contracts accept. OpenZeppelin's ECDSA (every Modelex contract) refuses an s above
 * half the group order and a v other than 27 or 28, where viem recovers the same signer from either form: a
 * signature checked off-chain must be stored and submitted in this form, or a signer handing out the other one
 * (valid to viem, refused on-chain) makes it worthless.
 */
import type { Hex } from 'viem'

// secp256k1's group order: signatures with s above half of it are refused by OpenZeppelin's ECDSA.recover.
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/**
 * The same signature in the form the contracts accept: low s and v of 27 or 28 (anything that is not 65 bytes of hex
 * is returned as it is, for the signature check to refuse).
 */
export function canonicalSignature(signature: Hex): Hex {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return signature
  const r = signature.slice(2, 66)
  let s = BigInt(`0x${signature.slice(66, 130)}`)
  let v = Number.parseInt(signature.slice(130, 132), 16)
  if (v < 27) v += 27
  if (s > N / 2n) {
    s = N - s
    v = v === 27 ? 28 : 27
  }
  return `0x${r}${s.toString(16).padStart(64, '0')}${v.toString(16).padStart(2, '0')}`.toLowerCase() as Hex
}
