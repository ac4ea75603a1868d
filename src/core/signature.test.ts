import { keccak256, recoverAddress, stringToHex, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount, sign, signatureToHex } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { canonicalSignature, createSignerCache } from './signature.ts'
import { highS } from './signature.fixtures.ts'

const signer = privateKeyToAccount(generatePrivateKey())
const stranger = privateKeyToAccount(generatePrivateKey())
const hashOf = (i: number) => keccak256(stringToHex(`message ${i}`))
const signHash = async (hash: Hex, account = signer) => account.sign({ hash })
/** The same r and s with v naming the other point: recovers to someone else. */
const otherV = (signature: Hex): Hex =>
  `${signature.slice(0, 130)}${signature.slice(130) === '1b' ? '1c' : '1b'}` as Hex

describe('signatures in the form the contracts take', () => {
  it('canonicalSignature turns the high-s form (and v of 0 or 1) into the low-s one with v 27 or 28, same signer', async () => {
    const signature = await signHash(hashOf(1))
    const v01 = `${signature.slice(0, 130)}${signature.slice(130) === '1b' ? '00' : '01'}` as Hex
    for (const form of [signature, highS(signature), v01]) {
      expect(canonicalSignature(form)).toBe(signature.toLowerCase())
      expect(await recoverAddress({ hash: hashOf(1), signature: form })).toBe(signer.address)
    }
  })
})

describe('signer cache', () => {
  it('answers what viem recovers, for the expected signer, a stranger, the other v, the high-s form and junk', async () => {
    const cache = createSignerCache()
    // Seen once: the key is kept, and every later check of this signer takes the quick path.
    expect(await cache.recover(hashOf(0), await signHash(hashOf(0)), signer.address)).toBe(signer.address)
    expect(cache.size).toBe(1)
    for (let i = 1; i <= 12; i++) {
      const hash = hashOf(i)
      const own = await signHash(hash)
      const foreign = await signHash(hash, stranger)
      const forms: Hex[] = [own, highS(own), otherV(own), foreign, otherV(foreign), await signHash(hashOf(i + 100))]
      for (const signature of forms)
        expect(await cache.recover(hash, signature, signer.address)).toBe(await recoverAddress({ hash, signature }))
    }
    // Neither the stranger's signatures nor the other-v forms made their signers known.
    expect(cache.size).toBe(1)
    await expect(cache.recover(hashOf(1), `0x${'00'.repeat(65)}`, signer.address)).rejects.toThrow()
  })

  it('a signature made for another hash is not taken for the expected signer, and without an expectation nothing is kept', async () => {
    const cache = createSignerCache()
    await cache.recover(hashOf(0), await signHash(hashOf(0)), signer.address)
    const signature = await signHash(hashOf(1))
    expect(await cache.recover(hashOf(2), signature, signer.address)).not.toBe(signer.address)
    const fresh = createSignerCache()
    expect(await fresh.recover(hashOf(1), signature)).toBe(signer.address)
    expect(fresh.size).toBe(0)
  })

  it('keeps at most maxKeys signers, dropping the least recently used', async () => {
    const cache = createSignerCache({ maxKeys: 2 })
    const accounts = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()))
    for (const account of accounts)
      expect(await cache.recover(hashOf(0), await signHash(hashOf(0), account), account.address)).toBe(account.address)
    expect(cache.size).toBe(2)
  })

  it('agrees with viem on random keys, hashes and signatures (fuzz)', async () => {
    const cache = createSignerCache()
    const keys = [0, 1, 2, 3].map(() => generatePrivateKey())
    for (let i = 0; i < 40; i++) {
      const key = keys[i % keys.length]!
      const expected = privateKeyToAccount(key).address
      const hash = keccak256(stringToHex(`fuzz ${i} ${Math.random()}`))
      const made = signatureToHex(await sign({ hash, privateKey: keys[(i * 7) % keys.length]! }))
      const signature = i % 3 === 0 ? highS(made) : i % 5 === 0 ? otherV(made) : made
      expect(await cache.recover(hash, signature, expected)).toBe(await recoverAddress({ hash, signature }))
    }
  })
})
