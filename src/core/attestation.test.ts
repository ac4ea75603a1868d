import { concat, encodeAbiParameters, keccak256, toHex, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import {
  ATTESTATION_TYPES,
  AttestationNonces,
  checkAttestation,
  createAttestationValidator,
  decodeAttestation,
  encodeAttestation,
  hashAttestation,
  MAX_ATTESTATION_BYTES,
  signAttestation,
  verifyAttestation,
  type Attestation,
} from './attestation.ts'
import { InvalidAttestationError, type AttestationRejection } from './errors/p2p.ts'
import { receiptLeaf } from './merkle.ts'
import { hashReceipt, type Receipt } from './receipt.ts'

const signer = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d')
const other = privateKeyToAccount('0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a')
const domain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const
const NOW_S = 1_700_000_000
const now = () => NOW_S * 1000

const sample: Attestation = {
  evaluator: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  node: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
  modelHash: `0x${'11'.repeat(32)}`,
  suite: 'fim-exact',
  score: 812_500,
  sampleSize: 32,
  windowStart: NOW_S - 600,
  windowEnd: NOW_S - 60,
  nonce: 1,
}

const TYPE_STRING =
  'Attestation(address evaluator,address node,bytes32 modelHash,string suite,uint64 score,uint64 sampleSize,uint64 windowStart,uint64 windowEnd,uint64 nonce)'

function manualDigest(a: Attestation): Hex {
  const domainSeparator = keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'uint256' }, { type: 'address' }],
      [
        keccak256(toHex('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)')),
        keccak256(toHex('Modelex')),
        keccak256(toHex('1')),
        BigInt(domain.chainId),
        domain.verifyingContract,
      ],
    ),
  )
  const structHash = keccak256(
    encodeAbiParameters(
      [
        { type: 'bytes32' },
        { type: 'address' },
        { type: 'address' },
        { type: 'bytes32' },
        { type: 'bytes32' },
        ...Array.from({ length: 5 }, () => ({ type: 'uint64' })),
      ],
      [
        keccak256(toHex(TYPE_STRING)),
        a.evaluator,
        a.node,
        a.modelHash,
        keccak256(toHex(a.suite)),
        BigInt(a.score),
        BigInt(a.sampleSize),
        BigInt(a.windowStart),
        BigInt(a.windowEnd),
        BigInt(a.nonce),
      ],
    ),
  )
  return keccak256(concat(['0x1901', domainSeparator, structHash]))
}

async function reasonOf(promise: Promise<unknown> | (() => unknown)): Promise<AttestationRejection> {
  try {
    await (typeof promise === 'function' ? promise() : promise)
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidAttestationError)
    return (error as InvalidAttestationError).reason
  }
  throw new Error('expected a refusal')
}

describe('attestation format', () => {
  it('declares the documented type string and hashes to the hand-computed EIP-712 digest', () => {
    expect(`Attestation(${ATTESTATION_TYPES.Attestation.map(({ name, type }) => `${type} ${name}`).join(',')})`).toBe(
      TYPE_STRING,
    )
    expect(hashAttestation(sample, domain)).toBe(manualDigest(sample))
  })

  it('never hashes to the digest of a receipt with the same words (distinct type)', () => {
    const receipt: Receipt = {
      requestHash: sample.modelHash,
      outputHash: sample.modelHash,
      modelHash: sample.modelHash,
      nodeSigner: sample.evaluator,
      consumer: sample.node,
      promptTokens: 1n,
      completionTokens: 1n,
      cost: 1n,
      channelId: 1n,
      cumulativePaid: 1n,
      timestamp: 1n,
      deterministic: false,
    }
    expect(hashReceipt(receipt, domain)).not.toBe(hashAttestation(sample, domain))
    expect(receiptLeaf(hashAttestation(sample, domain))).toMatch(/^0x[0-9a-f]{64}$/)
  })

  it('signs, verifies, encodes and decodes', async () => {
    const signed = await signAttestation(signer, sample, domain)
    expect(signed.signer).toBe(signer.address)
    expect(await verifyAttestation(signed, domain)).toBe(true)
    expect(await verifyAttestation(signed, { ...domain, chainId: 1 })).toBe(false)
    expect(await verifyAttestation({ ...signed, attestation: { ...sample, score: 1 } }, domain)).toBe(false)
    expect(await verifyAttestation({ ...signed, signer: other.address }, domain)).toBe(false)
    const decoded = decodeAttestation(encodeAttestation(signed, domain))
    expect(decoded).toEqual({ signed, domain })
    // A verified attestation encodes as the signed one (its hash is not on the wire).
    expect(encodeAttestation({ ...signed, hash: hashAttestation(sample, domain) } as typeof signed, domain)).toEqual(
      encodeAttestation(signed, domain),
    )
  })

  it('refuses to sign what peers would refuse', async () => {
    expect(await reasonOf(signAttestation(signer, { ...sample, score: 1_000_001 }, domain))).toBe('score-range')
    expect(await reasonOf(signAttestation(signer, { ...sample, sampleSize: 0 }, domain))).toBe('sample-size')
    expect(await reasonOf(signAttestation(signer, { ...sample, modelHash: `0x${'AA'.repeat(32)}` }, domain))).toBe(
      'schema',
    )
    expect(await reasonOf(signAttestation(signer, { ...sample, node: sample.evaluator }, domain))).toBe(
      'self-attestation',
    )
  })

  it('decodes strictly', async () => {
    const good = JSON.parse(
      new TextDecoder().decode(encodeAttestation(await signAttestation(signer, sample, domain), domain)),
    ) as { signed: { attestation: Record<string, unknown> } & Record<string, unknown>; domain: Record<string, unknown> }
    const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))
    const withAttestation = (patch: Record<string, unknown>) =>
      bytes({ ...good, signed: { ...good.signed, attestation: { ...good.signed.attestation, ...patch } } })
    expect(await reasonOf(() => decodeAttestation(new Uint8Array(MAX_ATTESTATION_BYTES + 1)))).toBe('too-large')
    expect(await reasonOf(() => decodeAttestation(bytes({ ...good, extra: 1 })))).toBe('schema')
    expect(await reasonOf(() => decodeAttestation(withAttestation({ suite: 'vibes' })))).toBe('schema')
    expect(await reasonOf(() => decodeAttestation(withAttestation({ score: 1.5 })))).toBe('schema')
    expect(await reasonOf(() => decodeAttestation(withAttestation({ nonce: -1 })))).toBe('schema')
    expect(await reasonOf(() => decodeAttestation(withAttestation({ extra: true })))).toBe('schema')
    expect(
      await reasonOf(() => decodeAttestation(bytes({ ...good, signed: { ...good.signed, signature: '0x12' } }))),
    ).toBe('schema')
    expect(await reasonOf(() => decodeAttestation(new Uint8Array([0xff, 0xfe])))).toBe('schema')
  })
})

describe('attestation rules', () => {
  const at = { now: NOW_S }
  it('accepts the sample and refuses each broken rule', async () => {
    expect(() => checkAttestation(sample, at)).not.toThrow()
    expect(await reasonOf(() => checkAttestation({ ...sample, suite: 'latency-p50', score: 3_600_001 }, at))).toBe(
      'score-range',
    )
    expect(() => checkAttestation({ ...sample, suite: 'latency-p50', score: 2_500 }, at)).not.toThrow()
    expect(await reasonOf(() => checkAttestation({ ...sample, windowStart: sample.windowEnd }, at))).toBe('window')
    expect(await reasonOf(() => checkAttestation({ ...sample, windowStart: 0 }, at))).toBe('window')
    expect(await reasonOf(() => checkAttestation({ ...sample, windowEnd: NOW_S + 121 }, at))).toBe('future')
    expect(() => checkAttestation({ ...sample, windowEnd: NOW_S + 120 }, at)).not.toThrow()
    expect(
      await reasonOf(() =>
        checkAttestation({ ...sample, windowStart: NOW_S - 40 * 86_400, windowEnd: NOW_S - 31 * 86_400 }, at),
      ),
    ).toBe('stale')
  })

  it('keeps nonces strictly increasing per stream and tells duplicates from replays', async () => {
    const nonces = new AttestationNonces({ maxTracked: 2 })
    const h1 = hashAttestation(sample, domain)
    nonces.check(sample, h1)
    nonces.record(sample, h1)
    expect(await reasonOf(() => nonces.check(sample, h1))).toBe('duplicate')
    const older = { ...sample, score: 1 }
    expect(await reasonOf(() => nonces.check(older, hashAttestation(older, domain)))).toBe('replayed')
    const newer = { ...sample, nonce: 2 }
    expect(() => nonces.check(newer, hashAttestation(newer, domain))).not.toThrow()
    // Another suite is another stream.
    expect(() => nonces.check({ ...sample, suite: 'uptime' }, h1)).not.toThrow()
    nonces.record({ ...sample, suite: 'uptime' }, h1)
    nonces.record({ ...sample, suite: 'sentiment' }, h1)
    expect(nonces.size).toBe(2)
  })
})

describe('attestation validator', () => {
  it('accepts a good one, then refuses its replay; refuses forgeries and unbound signers', async () => {
    const bound = new Set([`${signer.address}\n${sample.evaluator}`])
    const validator = createAttestationValidator({
      domain,
      now,
      isBound: async (s, e) => bound.has(`${s}\n${e}`),
      isRegistered: async (n) => n === sample.node,
    })
    const signed = await signAttestation(signer, sample, domain)
    const verified = await validator.validate(encodeAttestation(signed, domain))
    expect(verified.hash).toBe(hashAttestation(sample, domain))
    expect(await reasonOf(validator.validate(encodeAttestation(signed, domain)))).toBe('duplicate')
    const older = await signAttestation(signer, { ...sample, score: 10 }, domain)
    expect(await reasonOf(validator.validate(encodeAttestation(older, domain)))).toBe('replayed')
    const next = { ...sample, nonce: 2 }
    expect(
      await reasonOf(
        validator.validate(
          encodeAttestation({ ...(await signAttestation(other, next, domain)), signer: signer.address }, domain),
        ),
      ),
    ).toBe('signer-mismatch')
    expect(
      await reasonOf(validator.validate(encodeAttestation(await signAttestation(other, next, domain), domain))),
    ).toBe('unbound-signer')
    expect(
      await reasonOf(
        validator.validate(
          encodeAttestation(
            await signAttestation(signer, { ...next, node: '0x90F79bf6EB2c4f870365E785982E1f101E93b906' }, domain),
            domain,
          ),
        ),
      ),
    ).toBe('unregistered-node')
    expect(
      await reasonOf(
        validator.validate(
          encodeAttestation(await signAttestation(signer, next, { ...domain, chainId: 1 }), { ...domain, chainId: 1 }),
        ),
      ),
    ).toBe('wrong-domain')
    // The forged ones did not move the stream: the real next one still goes through.
    expect(
      (await validator.validate(encodeAttestation(await signAttestation(signer, next, domain), domain))).attestation
        .nonce,
    ).toBe(2)
  })

  it('without a domain (a relay) checks the signature in the declared domain', async () => {
    const relay = createAttestationValidator({ now })
    const elsewhere = { ...domain, chainId: 8453 }
    await expect(
      relay.validate(encodeAttestation(await signAttestation(signer, sample, elsewhere), elsewhere)),
    ).resolves.toBeDefined()
    const forged = {
      ...(await signAttestation(signer, sample, domain)),
      attestation: { ...sample, score: 999_999, nonce: 7 },
    }
    expect(await reasonOf(relay.validate(encodeAttestation(forged, domain)))).toBe('signer-mismatch')
  })

  it('without the binding check, counts nonces per signer so a forger cannot block the evaluator', async () => {
    const relay = createAttestationValidator({ now })
    await relay.validate(encodeAttestation(await signAttestation(other, { ...sample, nonce: 1e12 }, domain), domain))
    await expect(
      relay.validate(encodeAttestation(await signAttestation(signer, sample, domain), domain)),
    ).resolves.toBeDefined()
    expect(
      await reasonOf(relay.validate(encodeAttestation(await signAttestation(signer, sample, domain), domain))),
    ).toBe('duplicate')
  })

  it('reports a registry it cannot read as unavailable, not as forged', async () => {
    const validator = createAttestationValidator({ domain, now, isBound: async () => null })
    expect(
      await reasonOf(validator.validate(encodeAttestation(await signAttestation(signer, sample, domain), domain))),
    ).toBe('registry-unavailable')
    const throwing = createAttestationValidator({ domain, now, isBound: () => Promise.reject(new Error('rpc down')) })
    expect(
      await reasonOf(throwing.validate(encodeAttestation(await signAttestation(signer, sample, domain), domain))),
    ).toBe('registry-unavailable')
  })
})
