/**
 * The relay's cache of the latest attestations, and the wire of the protocol that hands them out. Gossip only
 * carries what is published while a peer listens, so a browser that opens the app would know no reputation until
 * the evaluators' next run. The relay keeps the latest accepted attestation of every stream (evaluator, node, model,
 * suite) and a peer asks for them when it starts and after it reconnects (`/modelex/attestations/1.0.0`), then
 * validates each itself exactly as if it had come by gossip: a relay can withhold an attestation, never forge one.
 * Pure: the p2p side lives in `src/p2p/latest-attestations.ts`.
 *
 * The relay has no chain view, so it cannot tell which signer is bound to an evaluator: streams are kept per signer
 * (the evaluator as the relay can know it), so an impostor signing in an evaluator's name can neither displace nor
 * crowd out that evaluator's entries, only spend its own per-signer share and the overall bound.
 *
 * Wire: the asker sends one frame `{"type":"latest-attestations","v":1,"limit":n}` (optionally `node` and
 * `modelHash` to narrow it); the relay answers with at most `limit` frames, each an attestation's bytes as gossiped,
 * the newest last, and closes the stream.
 */
import { getAddress, isAddress, type Hex } from 'viem'
import {
  ATTESTATION_DEFAULTS,
  attestationStream,
  MAX_ATTESTATION_BYTES,
  type SignedAttestation,
} from './attestation.ts'
import type { Address } from './deployment.ts'
import { InvalidAttestationRequestError, MalformedMessageError } from './errors/p2p.ts'
import { decodeJson, encodeJson, fail, integer, object, only, string } from './wire/check.ts'
import { encodeFrame } from './wire/frame.ts'

export const LATEST_ATTESTATIONS_PROTOCOL = '/modelex/attestations/1.0.0'
export const MAX_LATEST_ATTESTATIONS_REQUEST_BYTES = 256

export const LATEST_ATTESTATIONS_DEFAULTS = {
  /** Streams kept per signer (one evaluator node evaluates this many node × model × suite at once, at most). */
  maxPerSigner: 1_024,
  /** Streams kept over all signers (the least recently updated go first). */
  maxTotal: 50_000,
  /** Most attestations one answer carries (and an asker reads). */
  maxAnswer: 2_048,
} as const

export type LatestAttestationsQuery = {
  /** Only attestations about this node (its operator address). */
  node?: Address
  /** Only attestations about this model. */
  modelHash?: Hex
  /** At most this many, the newest (1..`maxAnswer`). */
  limit: number
}

export type LatestAttestationsRequest = LatestAttestationsQuery & { type: 'latest-attestations'; v: 1 }

const BYTES32 = /^0x[0-9a-f]{64}$/

export function encodeLatestAttestationsRequest(query: LatestAttestationsQuery): Uint8Array {
  const request: LatestAttestationsRequest = { type: 'latest-attestations', v: 1, ...query }
  return encodeFrame(encodeJson(request), MAX_LATEST_ATTESTATIONS_REQUEST_BYTES)
}

/** Strict: throws `InvalidAttestationRequestError` for anything but a well-formed request within the limits. */
export function decodeLatestAttestationsRequest(
  payload: Uint8Array,
  { maxAnswer = LATEST_ATTESTATIONS_DEFAULTS.maxAnswer }: { maxAnswer?: number } = {},
): LatestAttestationsRequest {
  try {
    if (payload.length > MAX_LATEST_ATTESTATIONS_REQUEST_BYTES)
      fail('request', `at most ${MAX_LATEST_ATTESTATIONS_REQUEST_BYTES} bytes`)
    const fields = object(decodeJson(payload), 'request')
    only(fields, 'request', ['type', 'v', 'node', 'modelHash', 'limit'])
    if (fields['type'] !== 'latest-attestations') fail('request.type', '"latest-attestations"')
    if (fields['v'] !== 1) fail('request.v', '1')
    const request: LatestAttestationsRequest = {
      type: 'latest-attestations',
      v: 1,
      limit: integer(fields['limit'], 'request.limit', 1, maxAnswer),
    }
    if (fields['node'] !== undefined) {
      const node = string(fields['node'], 'request.node', 42)
      if (!isAddress(node, { strict: false })) fail('request.node', 'an address')
      request.node = getAddress(node)
    }
    if (fields['modelHash'] !== undefined) {
      const modelHash = string(fields['modelHash'], 'request.modelHash', 66)
      if (!BYTES32.test(modelHash)) fail('request.modelHash', 'a lower-case bytes32 hex string')
      request.modelHash = modelHash as Hex
    }
    return request
  } catch (error) {
    if (error instanceof MalformedMessageError)
      throw new InvalidAttestationRequestError({
        protocol: LATEST_ATTESTATIONS_PROTOCOL,
        details: error.details ?? error.message,
        cause: error,
      })
    throw error
  }
}

/** One answer frame: an attestation's gossip bytes, within the attestation size limit. */
export function encodeAttestationFrame(bytes: Uint8Array): Uint8Array {
  return encodeFrame(bytes, MAX_ATTESTATION_BYTES)
}

type Held = { signer: Address; node: Address; modelHash: Hex; nonce: number; windowEnd: number; bytes: Uint8Array }

export type LatestAttestationsOptions = { maxPerSigner?: number; maxTotal?: number; maxAgeS?: number }

/**
 * The latest accepted attestation per (signer, evaluator, node, model, suite), bounded per signer and overall (the
 * least recently updated go first); what has aged past the validators' max age is dropped, since no one would
 * accept it. Only what the relay's own gossip validator accepted is recorded.
 */
export class LatestAttestations {
  /** Insertion order is update order: the first key is the least recently updated stream. */
  readonly #held = new Map<string, Held>()
  readonly #bySigner = new Map<Address, Set<string>>()
  readonly #maxPerSigner: number
  readonly #maxTotal: number
  readonly #maxAgeS: number

  constructor({
    maxPerSigner = LATEST_ATTESTATIONS_DEFAULTS.maxPerSigner,
    maxTotal = LATEST_ATTESTATIONS_DEFAULTS.maxTotal,
    maxAgeS = ATTESTATION_DEFAULTS.maxAgeS,
  }: LatestAttestationsOptions = {}) {
    this.#maxPerSigner = maxPerSigner
    this.#maxTotal = maxTotal
    this.#maxAgeS = maxAgeS
  }

  /** Keeps a validated attestation and its gossip bytes unless the same signer's stream holds a later nonce. */
  record(signed: SignedAttestation, bytes: Uint8Array): void {
    const { attestation, signer } = signed
    const key = `${signer}\n${attestationStream(attestation)}`
    const known = this.#held.get(key)
    if (known && known.nonce >= attestation.nonce) return
    this.#drop(key)
    this.#held.set(key, {
      signer,
      node: attestation.node,
      modelHash: attestation.modelHash,
      nonce: attestation.nonce,
      windowEnd: attestation.windowEnd,
      bytes,
    })
    let keys = this.#bySigner.get(signer)
    if (!keys) this.#bySigner.set(signer, (keys = new Set()))
    keys.add(key)
    if (keys.size > this.#maxPerSigner) this.#drop(keys.values().next().value as string)
    if (this.#held.size > this.#maxTotal) this.#drop(this.#held.keys().next().value as string)
  }

  /** What matches the query and is young enough to pass a validator at `nowS` (unix seconds): the newest `limit`, newest last. */
  latest({ node, modelHash, limit }: LatestAttestationsQuery, nowS: number): Uint8Array[] {
    const found: Uint8Array[] = []
    const expired: string[] = []
    for (const [key, held] of this.#held) {
      if (held.windowEnd < nowS - this.#maxAgeS) {
        expired.push(key)
        continue
      }
      if (node !== undefined && held.node !== node) continue
      if (modelHash !== undefined && held.modelHash !== modelHash) continue
      found.push(held.bytes)
    }
    for (const key of expired) this.#drop(key)
    return found.slice(Math.max(0, found.length - limit))
  }

  get size(): number {
    return this.#held.size
  }

  #drop(key: string): void {
    const held = this.#held.get(key)
    if (!held) return
    this.#held.delete(key)
    const keys = this.#bySigner.get(held.signer)
    keys?.delete(key)
    if (keys?.size === 0) this.#bySigner.delete(held.signer)
  }
}
