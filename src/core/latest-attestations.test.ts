import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import {
  ATTESTATION_DEFAULTS,
  createAttestationValidator,
  decodeAttestation,
  encodeAttestation,
  signAttestation,
  type Attestation,
  type SignedAttestation,
} from './attestation.ts'
import { InvalidAttestationRequestError } from './errors/p2p.ts'
import {
  decodeLatestAttestationsRequest,
  encodeLatestAttestationsRequest,
  LATEST_ATTESTATIONS_DEFAULTS,
  LatestAttestations,
  MAX_LATEST_ATTESTATIONS_REQUEST_BYTES,
} from './latest-attestations.ts'
import { encodeJson } from './wire/check.ts'
import { FrameDecoder } from './wire/frame.ts'

const NOW_S = 1_700_000_000
const EVALUATOR = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const NODE = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
const OTHER_NODE = '0x90F79bf6EB2c4f870365E785982E1f101E93b906'
const MODEL = `0x${'11'.repeat(32)}` as const

function attestation(overrides: Partial<Attestation> = {}): Attestation {
  return {
    evaluator: EVALUATOR,
    node: NODE,
    modelHash: MODEL,
    suite: 'fim-exact',
    score: 800_000,
    sampleSize: 10,
    windowStart: NOW_S - 600,
    windowEnd: NOW_S - 60,
    nonce: 1,
    ...overrides,
  }
}

/** The cache holds bytes and reads the signer and fields from the signed form; no signature is checked here. */
function signed(
  a: Attestation,
  signer: `0x${string}` = '0x1111111111111111111111111111111111111111',
): SignedAttestation {
  return { attestation: a, signer, signature: `0x${'ab'.repeat(65)}` }
}

const bytes = (s: SignedAttestation) =>
  new TextEncoder().encode(JSON.stringify([s.signer, s.attestation.node, s.attestation.suite, s.attestation.nonce]))
const text = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as [string, string, string, number]

function request(payload: unknown): Uint8Array {
  return encodeJson(payload)
}

describe('LatestAttestations', () => {
  it('keeps the latest nonce per signer and stream, and refuses an older one', () => {
    const cache = new LatestAttestations()
    cache.record(signed(attestation({ nonce: 2 })), bytes(signed(attestation({ nonce: 2 }))))
    cache.record(signed(attestation({ nonce: 1 })), bytes(signed(attestation({ nonce: 1 }))))
    cache.record(signed(attestation({ nonce: 2, score: 1 })), bytes(signed(attestation({ nonce: 2, score: 1 }))))
    expect(cache.latest({ limit: 10 }, NOW_S).map(text)).toEqual([
      ['0x1111111111111111111111111111111111111111', NODE, 'fim-exact', 2],
    ])
    cache.record(signed(attestation({ nonce: 3 })), bytes(signed(attestation({ nonce: 3 }))))
    expect(cache.latest({ limit: 10 }, NOW_S).map((b) => text(b)[3])).toEqual([3])
    expect(cache.size).toBe(1)
  })

  it("keeps streams of different signers apart: an impostor in an evaluator's name displaces nothing of the real signer", () => {
    const cache = new LatestAttestations()
    const real = signed(attestation({ nonce: 1 }), '0x1111111111111111111111111111111111111111')
    const impostor = signed(attestation({ nonce: 1_000_000 }), '0x2222222222222222222222222222222222222222')
    cache.record(real, bytes(real))
    cache.record(impostor, bytes(impostor))
    expect(cache.latest({ limit: 10 }, NOW_S).map((b) => text(b)[0])).toEqual([real.signer, impostor.signer])
  })

  it("is bounded per signer: the signer's least recently updated stream goes, others' stay", () => {
    const cache = new LatestAttestations({ maxPerSigner: 2 })
    const other = signed(attestation({ suite: 'uptime' }), '0x2222222222222222222222222222222222222222')
    cache.record(other, bytes(other))
    for (const suite of ['fim-exact', 'sentiment', 'uptime'] as const) {
      const s = signed(attestation({ suite }))
      cache.record(s, bytes(s))
    }
    expect(cache.latest({ limit: 10 }, NOW_S).map((b) => text(b).slice(0, 3))).toEqual([
      ['0x2222222222222222222222222222222222222222', NODE, 'uptime'],
      ['0x1111111111111111111111111111111111111111', NODE, 'sentiment'],
      ['0x1111111111111111111111111111111111111111', NODE, 'uptime'],
    ])
  })

  it('is bounded overall: the least recently updated stream goes', () => {
    const cache = new LatestAttestations({ maxTotal: 3 })
    for (let i = 0; i < 5; i++) {
      const s = signed(attestation({ nonce: 1 }), `0x${String(i + 1).repeat(40)}` as `0x${string}`)
      cache.record(s, bytes(s))
    }
    expect(cache.size).toBe(3)
    expect(cache.latest({ limit: 10 }, NOW_S).map((b) => text(b)[0])).toEqual([
      '0x3333333333333333333333333333333333333333',
      '0x4444444444444444444444444444444444444444',
      '0x5555555555555555555555555555555555555555',
    ])
    // An update moves a stream to the young end.
    const s3 = signed(attestation({ nonce: 2 }), '0x3333333333333333333333333333333333333333')
    cache.record(s3, bytes(s3))
    const s6 = signed(attestation({ nonce: 1 }), '0x6666666666666666666666666666666666666666')
    cache.record(s6, bytes(s6))
    expect(cache.latest({ limit: 10 }, NOW_S).map((b) => text(b)[0])).toEqual([
      '0x5555555555555555555555555555555555555555',
      '0x3333333333333333333333333333333333333333',
      '0x6666666666666666666666666666666666666666',
    ])
  })

  it('filters by node and model, answers the newest `limit`, and drops what no validator would accept any more', () => {
    const cache = new LatestAttestations()
    const old = signed(
      attestation({
        suite: 'uptime',
        windowStart: NOW_S - ATTESTATION_DEFAULTS.maxAgeS - 100,
        windowEnd: NOW_S - ATTESTATION_DEFAULTS.maxAgeS - 1,
      }),
    )
    const a = signed(attestation({ suite: 'fim-exact' }))
    const b = signed(attestation({ suite: 'sentiment', node: OTHER_NODE }))
    const c = signed(attestation({ suite: 'latency-p50', modelHash: `0x${'22'.repeat(32)}` }))
    for (const s of [old, a, b, c]) cache.record(s, bytes(s))
    expect(cache.latest({ limit: 10 }, NOW_S).map((x) => text(x)[2])).toEqual(['fim-exact', 'sentiment', 'latency-p50'])
    expect(cache.size).toBe(3)
    expect(cache.latest({ node: NODE, limit: 10 }, NOW_S).map((x) => text(x)[2])).toEqual(['fim-exact', 'latency-p50'])
    expect(cache.latest({ node: NODE, modelHash: MODEL, limit: 10 }, NOW_S).map((x) => text(x)[2])).toEqual([
      'fim-exact',
    ])
    expect(cache.latest({ limit: 2 }, NOW_S).map((x) => text(x)[2])).toEqual(['sentiment', 'latency-p50'])
  })

  it('serves bytes that pass the validator as they came (the relay records what its gate accepted)', async () => {
    const account = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d')
    const domain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const
    const s = await signAttestation(account, attestation({ evaluator: EVALUATOR }), domain)
    const cache = new LatestAttestations()
    const wire = encodeAttestation(s, domain)
    cache.record(decodeAttestation(wire).signed, wire)
    const [served] = cache.latest({ limit: 1 }, NOW_S)
    const verified = await createAttestationValidator({ now: () => NOW_S * 1000 }).validate(served!)
    expect(verified.attestation).toEqual(s.attestation)
  })
})

describe('latest-attestations requests', () => {
  it('round-trip through the frame, with and without filters', () => {
    for (const query of [
      { limit: 1 },
      { limit: LATEST_ATTESTATIONS_DEFAULTS.maxAnswer, node: NODE, modelHash: MODEL },
    ] as const) {
      const [payload] = new FrameDecoder(MAX_LATEST_ATTESTATIONS_REQUEST_BYTES).push(
        encodeLatestAttestationsRequest(query),
      )
      expect(decodeLatestAttestationsRequest(payload!)).toEqual({ type: 'latest-attestations', v: 1, ...query })
    }
  })

  it('normalise the node address to its checksum form', () => {
    expect(
      decodeLatestAttestationsRequest(
        request({ type: 'latest-attestations', v: 1, limit: 5, node: NODE.toLowerCase() }),
      ).node,
    ).toBe(NODE)
  })

  it.each([
    ['not JSON', new TextEncoder().encode('{')],
    ['an array', request([])],
    ['another type', request({ type: 'latest', v: 1, limit: 1 })],
    ['another version', request({ type: 'latest-attestations', v: 2, limit: 1 })],
    ['no limit', request({ type: 'latest-attestations', v: 1 })],
    ['a zero limit', request({ type: 'latest-attestations', v: 1, limit: 0 })],
    [
      'a limit above the answer bound',
      request({ type: 'latest-attestations', v: 1, limit: LATEST_ATTESTATIONS_DEFAULTS.maxAnswer + 1 }),
    ],
    ['a fractional limit', request({ type: 'latest-attestations', v: 1, limit: 1.5 })],
    ['a bad node', request({ type: 'latest-attestations', v: 1, limit: 1, node: '0x1234' })],
    [
      'an upper-case model hash',
      request({ type: 'latest-attestations', v: 1, limit: 1, modelHash: `0x${'AB'.repeat(32)}` }),
    ],
    ['an unknown field', request({ type: 'latest-attestations', v: 1, limit: 1, evaluator: NODE })],
    ['too many bytes', new Uint8Array(MAX_LATEST_ATTESTATIONS_REQUEST_BYTES + 1).fill(32)],
  ])('refuse %s with InvalidAttestationRequestError', (_name, payload) => {
    expect(() => decodeLatestAttestationsRequest(payload)).toThrow(InvalidAttestationRequestError)
  })
})
