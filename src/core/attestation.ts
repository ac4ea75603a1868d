/**
 * Attestations: an evaluator's signed statement of how a node did on one challenge suite for one model (score,
 * sample size, time window). They are EIP-712 typed data in the Modelex domain of the ReceiptAnchor (the contract
 * whose Merkle roots anchor them, with their digests as leaves: the distinct `Attestation` type keeps a digest from
 * ever equalling a receipt's), signed by the evaluator node's signer on behalf of its operator. Here are the
 * format, its strict decoder, signing, the validity rules, the per-stream nonce rule and the validator every peer
 * runs before an attestation is accepted or forwarded. The registry checks are injected, so this stays pure.
 */
import { getAddress, hashTypedData, isAddress, recoverTypedDataAddress, type Hex, type LocalAccount } from 'viem'
import type { Address } from './deployment.ts'
import { InvalidAttestationError, MalformedMessageError, type AttestationRejection } from './errors/p2p.ts'
import { buildMerkleTree, getMerkleProof, receiptLeaf, verifyMerkleProof, type MerkleTree } from './merkle.ts'
import { receiptDomain, type ModelexDomain, type TypedDataDomainParameters } from './receipt.ts'
import { decodeJson, encodeJson, fail, integer, object, oneOf, only, string } from './wire/check.ts'

export const ATTESTATION_SUITES = [
  'fim-exact',
  'fim-pass1',
  'sentiment',
  'latency-p50',
  'latency-p95',
  'uptime',
  'spot-check',
] as const
export type AttestationSuite = (typeof ATTESTATION_SUITES)[number]

/** Parts per million (accuracies, pass rates, uptime, spot-check agreement) or milliseconds (latency). */
export type SuiteUnit = 'ppm' | 'ms'
export const PPM = 1_000_000
/** The longest latency an attestation may state: beyond it a request has failed, not answered slowly. */
export const MAX_LATENCY_MS = 3_600_000

export const SUITE_UNITS: Readonly<Record<AttestationSuite, { unit: SuiteUnit; min: number; max: number }>> = {
  'fim-exact': { unit: 'ppm', min: 0, max: PPM },
  'fim-pass1': { unit: 'ppm', min: 0, max: PPM },
  sentiment: { unit: 'ppm', min: 0, max: PPM },
  'latency-p50': { unit: 'ms', min: 0, max: MAX_LATENCY_MS },
  'latency-p95': { unit: 'ms', min: 0, max: MAX_LATENCY_MS },
  uptime: { unit: 'ppm', min: 0, max: PPM },
  'spot-check': { unit: 'ppm', min: 0, max: PPM },
}

export type Attestation = {
  /** The evaluator's operator address (the registry entry its signer is bound to). */
  evaluator: Address
  /** The evaluated node's operator address. */
  node: Address
  /** keccak256 of the model's weights file, lower-case hex. */
  modelHash: Hex
  suite: AttestationSuite
  /** An integer in the suite's unit (`SUITE_UNITS`). */
  score: number
  /** How many requests, items or pings the score is over. */
  sampleSize: number
  /** Unix seconds. */
  windowStart: number
  windowEnd: number
  /** Strictly increasing per (evaluator, node, modelHash, suite). */
  nonce: number
}

export type SignedAttestation = { attestation: Attestation; signer: Address; signature: Hex }

/** An attestation whose signature was checked, with its digest (its identity and Merkle leaf source). */
export type VerifiedAttestation = SignedAttestation & { hash: Hex }

/** What travels on the gossip topic: the signed attestation and the domain it was signed in (so a relay without a chain view can check the signature). */
export type AttestationMessage = { signed: SignedAttestation; domain: TypedDataDomainParameters }

export const MAX_ATTESTATION_BYTES = 2 * 1024

export const ATTESTATION_DEFAULTS = {
  /** Windows ending further than this ahead of our clock are refused. */
  maxSkewS: 120,
  /** Windows that ended longer ago than this are refused (reputation decays them to little by then anyway). */
  maxAgeS: 30 * 24 * 3600,
  /** The longest window one attestation may cover. */
  maxWindowS: 30 * 24 * 3600,
  /** Nonce streams remembered at once; the oldest are forgotten beyond it (max age still bounds what can replay). */
  maxTracked: 100_000,
} as const

export const ATTESTATION_TYPES = {
  Attestation: [
    { name: 'evaluator', type: 'address' },
    { name: 'node', type: 'address' },
    { name: 'modelHash', type: 'bytes32' },
    { name: 'suite', type: 'string' },
    { name: 'score', type: 'uint64' },
    { name: 'sampleSize', type: 'uint64' },
    { name: 'windowStart', type: 'uint64' },
    { name: 'windowEnd', type: 'uint64' },
    { name: 'nonce', type: 'uint64' },
  ],
} as const

/** The EIP-712 domain of attestations: the same as receipts' (`verifyingContract` is the ReceiptAnchor). */
export function attestationDomain(domain: TypedDataDomainParameters): ModelexDomain {
  return receiptDomain(domain)
}

/** Everything `signTypedData` needs to sign `attestation`. */
export function attestationTypedData(attestation: Attestation, domain: TypedDataDomainParameters) {
  return {
    domain: attestationDomain(domain),
    types: ATTESTATION_TYPES,
    primaryType: 'Attestation' as const,
    message: {
      evaluator: attestation.evaluator,
      node: attestation.node,
      modelHash: attestation.modelHash,
      suite: attestation.suite,
      score: BigInt(attestation.score),
      sampleSize: BigInt(attestation.sampleSize),
      windowStart: BigInt(attestation.windowStart),
      windowEnd: BigInt(attestation.windowEnd),
      nonce: BigInt(attestation.nonce),
    },
  }
}

/** The attestation's EIP-712 digest: what is signed, what identifies it, and what its Merkle leaf is built from. */
export function hashAttestation(attestation: Attestation, domain: TypedDataDomainParameters): Hex {
  return hashTypedData(attestationTypedData(attestation, domain))
}

/**
 * The Merkle leaf of an attestation digest: the same leaf as a receipt's, so ReceiptAnchor's `anchor` and
 * `verifyReceipt` serve both; the digests themselves cannot collide (distinct EIP-712 types).
 */
export function attestationLeaf(attestationHash: Hex): Hex {
  return receiptLeaf(attestationHash)
}

/** The tree an evaluator anchors over a batch of its attestation digests. */
export function buildAttestationTree(attestationHashes: readonly Hex[]): MerkleTree {
  return buildMerkleTree([...new Set(attestationHashes.map((h) => h.toLowerCase() as Hex))].map(attestationLeaf))
}

export function attestationProof(tree: MerkleTree, attestationHash: Hex): Hex[] {
  return getMerkleProof(tree, attestationLeaf(attestationHash))
}

/** The off-chain half of the inclusion check (the on-chain half also asks whether the evaluator anchored `root`). */
export function verifyAttestationProof(root: Hex, attestationHash: Hex, proof: readonly Hex[]): boolean {
  return verifyMerkleProof(root, attestationLeaf(attestationHash), proof)
}

/** Signs with the evaluator node's signer (a local account: the node key, not a wallet prompt). */
export async function signAttestation(
  account: Pick<LocalAccount, 'address' | 'signTypedData'>,
  attestation: Attestation,
  domain: TypedDataDomainParameters,
): Promise<SignedAttestation> {
  // Through the decoder's and the clock-free rules, so nothing is signed that every peer would refuse.
  let checked: Attestation
  try {
    checked = parseAttestation(JSON.parse(JSON.stringify(attestation)) as unknown, 'attestation')
  } catch (error) {
    if (error instanceof MalformedMessageError)
      throw new InvalidAttestationError({ reason: 'schema', details: error.details ?? error.message, cause: error })
    throw error
  }
  assertAttestation(checked)
  const signature = await account.signTypedData(attestationTypedData(checked, domain))
  return { attestation: checked, signer: getAddress(account.address), signature: signature.toLowerCase() as Hex }
}

/** The address the signature recovers to; throws `InvalidAttestationError` (bad-signature) when it recovers to none. */
export async function recoverAttestationSigner(
  signed: SignedAttestation,
  domain: TypedDataDomainParameters,
): Promise<Address> {
  try {
    return await recoverTypedDataAddress({
      ...attestationTypedData(signed.attestation, domain),
      signature: signed.signature,
    })
  } catch (error) {
    throw new InvalidAttestationError({
      reason: 'bad-signature',
      details: 'the signature does not recover to any address',
      cause: error,
    })
  }
}

/** Whether `signed.signature` is `signed.signer`'s signature of the attestation in `domain`. */
export async function verifyAttestation(
  signed: SignedAttestation,
  domain: TypedDataDomainParameters,
): Promise<boolean> {
  try {
    return (await recoverAttestationSigner(signed, domain)) === getAddress(signed.signer)
  } catch {
    return false
  }
}

export function encodeAttestation(signed: SignedAttestation, domain: TypedDataDomainParameters): Uint8Array {
  // Only the signed fields: a VerifiedAttestation's extras (its hash) are not part of the wire format.
  const message: AttestationMessage = {
    signed: { attestation: signed.attestation, signer: signed.signer, signature: signed.signature },
    domain: { chainId: domain.chainId, verifyingContract: domain.verifyingContract },
  }
  const bytes = encodeJson(message)
  if (bytes.length > MAX_ATTESTATION_BYTES)
    throw new InvalidAttestationError({
      reason: 'too-large',
      details: `${bytes.length} bytes > ${MAX_ATTESTATION_BYTES}`,
    })
  return bytes
}

const BYTES32 = /^0x[0-9a-f]{64}$/
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/
const UINT64_SAFE = Number.MAX_SAFE_INTEGER

/** Strict decoding: size first, then every field; throws `InvalidAttestationError` with reason schema or too-large. */
export function decodeAttestation(bytes: Uint8Array): AttestationMessage {
  if (bytes.length > MAX_ATTESTATION_BYTES)
    throw new InvalidAttestationError({
      reason: 'too-large',
      details: `${bytes.length} bytes > ${MAX_ATTESTATION_BYTES}`,
    })
  try {
    const m = object(decodeJson(bytes), 'message')
    only(m, 'message', ['signed', 'domain'])
    const d = object(m['domain'], 'message.domain')
    only(d, 'message.domain', ['chainId', 'verifyingContract'])
    const s = object(m['signed'], 'message.signed')
    only(s, 'message.signed', ['attestation', 'signer', 'signature'])
    const signature = string(s['signature'], 'message.signed.signature', 132)
    if (!SIGNATURE.test(signature)) fail('message.signed.signature', 'a 65-byte hex signature')
    return {
      signed: {
        attestation: parseAttestation(s['attestation'], 'message.signed.attestation'),
        signer: address(s['signer'], 'message.signed.signer'),
        // Hex case carries no meaning: one signature, one form.
        signature: signature.toLowerCase() as Hex,
      },
      domain: {
        chainId: integer(d['chainId'], 'message.domain.chainId', 1, Number.MAX_SAFE_INTEGER),
        verifyingContract: address(d['verifyingContract'], 'message.domain.verifyingContract'),
      },
    }
  } catch (error) {
    if (error instanceof MalformedMessageError)
      throw new InvalidAttestationError({ reason: 'schema', details: error.details ?? error.message, cause: error })
    throw error
  }
}

function parseAttestation(value: unknown, path: string): Attestation {
  const a = object(value, path)
  only(a, path, ['evaluator', 'node', 'modelHash', 'suite', 'score', 'sampleSize', 'windowStart', 'windowEnd', 'nonce'])
  const modelHash = string(a['modelHash'], `${path}.modelHash`, 66)
  if (!BYTES32.test(modelHash)) fail(`${path}.modelHash`, 'a lower-case bytes32 hex string')
  return {
    evaluator: address(a['evaluator'], `${path}.evaluator`),
    node: address(a['node'], `${path}.node`),
    modelHash: modelHash as Hex,
    suite: oneOf(a['suite'], `${path}.suite`, ATTESTATION_SUITES),
    score: integer(a['score'], `${path}.score`, 0, UINT64_SAFE),
    sampleSize: integer(a['sampleSize'], `${path}.sampleSize`, 0, UINT64_SAFE),
    windowStart: integer(a['windowStart'], `${path}.windowStart`, 0, UINT64_SAFE),
    windowEnd: integer(a['windowEnd'], `${path}.windowEnd`, 0, UINT64_SAFE),
    nonce: integer(a['nonce'], `${path}.nonce`, 0, UINT64_SAFE),
  }
}

function address(value: unknown, path: string): Address {
  const text = string(value, path, 42)
  if (!isAddress(text, { strict: false })) fail(path, 'an address')
  return getAddress(text)
}

export type AttestationRuleOptions = {
  /** Our clock, unix seconds. */
  now: number
  maxSkewS?: number
  maxAgeS?: number
  maxWindowS?: number
}

function refuse(reason: AttestationRejection, details: string): never {
  throw new InvalidAttestationError({ reason, details })
}

/** The rules that do not depend on the clock (self-attestation, score range, sample size, window); throws `InvalidAttestationError`. */
export function assertAttestation(
  attestation: Attestation,
  { maxWindowS = ATTESTATION_DEFAULTS.maxWindowS }: { maxWindowS?: number } = {},
): void {
  const { suite, score, sampleSize, windowStart, windowEnd } = attestation
  // An operator grading itself says nothing; other operators it controls are bounded by their stake instead.
  if (attestation.evaluator === attestation.node)
    refuse('self-attestation', `evaluator and node are both ${attestation.node}`)
  const range = SUITE_UNITS[suite]
  if (!Number.isSafeInteger(score) || score < range.min || score > range.max)
    refuse('score-range', `${suite} scores are integers in ${range.min}..${range.max} ${range.unit}, got ${score}`)
  if (!Number.isSafeInteger(sampleSize) || sampleSize < 1)
    refuse('sample-size', `sample size ${sampleSize}, at least 1 needed`)
  if (windowStart >= windowEnd) refuse('window', `window ${windowStart}..${windowEnd} is empty`)
  if (windowEnd - windowStart > maxWindowS)
    refuse('window', `window of ${windowEnd - windowStart} s exceeds ${maxWindowS} s`)
}

/** Every rule an attestation must meet whoever signed it, our clock included; throws `InvalidAttestationError`. */
export function checkAttestation(
  attestation: Attestation,
  {
    now,
    maxSkewS = ATTESTATION_DEFAULTS.maxSkewS,
    maxAgeS = ATTESTATION_DEFAULTS.maxAgeS,
    maxWindowS = ATTESTATION_DEFAULTS.maxWindowS,
  }: AttestationRuleOptions,
): void {
  assertAttestation(attestation, { maxWindowS })
  const { windowEnd } = attestation
  if (windowEnd > now + maxSkewS)
    refuse('future', `window ends ${windowEnd - now} s after our clock (limit ${maxSkewS} s)`)
  if (windowEnd < now - maxAgeS) refuse('stale', `window ended ${now - windowEnd} s ago (limit ${maxAgeS} s)`)
}

/** The stream an attestation's nonce counts in. */
export function attestationStream(attestation: Attestation): string {
  return `${attestation.evaluator}\n${attestation.node}\n${attestation.modelHash}\n${attestation.suite}`
}

/**
 * The nonce rule: per (evaluator, node, model, suite), each accepted attestation must carry a larger nonce than the
 * last accepted one, so a replayed or older attestation is refused. Bounded: the least recently used streams are
 * forgotten beyond `maxTracked` (an attestation older than the max age is refused anyway).
 */
export class AttestationNonces {
  readonly #last = new Map<string, { nonce: number; hash: Hex }>()
  readonly #maxTracked: number

  constructor({ maxTracked = ATTESTATION_DEFAULTS.maxTracked }: { maxTracked?: number } = {}) {
    this.#maxTracked = maxTracked
  }

  /**
   * Throws `InvalidAttestationError` (duplicate or replayed) unless the nonce is new for its stream. `scope` splits
   * streams further (by signer, where the signer's binding to the evaluator cannot be checked).
   */
  check(attestation: Attestation, hash: Hex, scope = ''): void {
    const last = this.#last.get(scope + attestationStream(attestation))
    if (!last) return
    if (last.hash === hash)
      throw new InvalidAttestationError({ reason: 'duplicate', details: `attestation ${hash} was accepted already` })
    if (attestation.nonce <= last.nonce)
      throw new InvalidAttestationError({
        reason: 'replayed',
        details: `nonce ${attestation.nonce} after ${last.nonce} for this evaluator, node, model and suite`,
      })
  }

  record(attestation: Attestation, hash: Hex, scope = ''): void {
    const key = scope + attestationStream(attestation)
    this.#last.delete(key)
    this.#last.set(key, { nonce: attestation.nonce, hash })
    if (this.#last.size > this.#maxTracked) this.#last.delete(this.#last.keys().next().value as string)
  }

  /** The last accepted nonce of a stream, or undefined. */
  last(attestation: Pick<Attestation, 'evaluator' | 'node' | 'modelHash' | 'suite'>): number | undefined {
    return this.#last.get(attestationStream(attestation as Attestation))?.nonce
  }

  get size(): number {
    return this.#last.size
  }
}

/** True when the registry binds `signer` to the active node of `operator`; null when it cannot tell now. */
export type SignerBindingCheck = (signer: Address, operator: Address) => Promise<boolean | null>
/** True when `operator` is an active registered node; null when it cannot tell now. */
export type NodeRegisteredCheck = (operator: Address) => Promise<boolean | null>

export type AttestationValidatorOptions = {
  /**
   * The domain attestations must be signed in (our chain and ReceiptAnchor). Without it (a relay with no chain
   * view), the domain the message declares is used: the signature is still checked, only not the deployment.
   */
  domain?: TypedDataDomainParameters | undefined
  /** Our clock, milliseconds since the epoch. */
  now?: () => number
  maxSkewS?: number
  maxAgeS?: number
  maxWindowS?: number
  maxTracked?: number
  isBound?: SignerBindingCheck | undefined
  isRegistered?: NodeRegisteredCheck | undefined
}

export type AttestationValidator = {
  /** Resolves to the verified attestation, or rejects with `InvalidAttestationError`. Never throws anything else. */
  validate(bytes: Uint8Array): Promise<VerifiedAttestation>
  /** The same checks for an attestation that came another way (one we signed ourselves). */
  validateSigned(signed: SignedAttestation): Promise<VerifiedAttestation>
  readonly nonces: AttestationNonces
}

/**
 * The gossip validator's logic: size, schema, domain, rules, clock, nonce, then the signature and the registry
 * (the costly checks last). The nonce only moves for attestations that passed every check, so a forged message
 * cannot block the evaluator's next one.
 */
export function createAttestationValidator(options: AttestationValidatorOptions = {}): AttestationValidator {
  const { domain: ours, now = Date.now, isBound, isRegistered } = options
  const nonces = new AttestationNonces({ maxTracked: options.maxTracked ?? ATTESTATION_DEFAULTS.maxTracked })

  const run = async (signed: SignedAttestation, domain: TypedDataDomainParameters): Promise<VerifiedAttestation> => {
    if (
      ours &&
      (domain.chainId !== ours.chainId || getAddress(domain.verifyingContract) !== getAddress(ours.verifyingContract))
    ) {
      refuse(
        'wrong-domain',
        `signed for chain ${domain.chainId} and ${domain.verifyingContract}, we are on ${ours.chainId} with ${ours.verifyingContract}`,
      )
    }
    const { attestation } = signed
    checkAttestation(attestation, { now: Math.floor(now() / 1000), ...pick(options) })
    const hash = hashAttestation(attestation, domain)
    // Without the binding check (a relay), anyone can sign as any evaluator: counting nonces per signer keeps a
    // forger's huge nonce from blocking the real evaluator's stream.
    const scope = isBound ? '' : `${signed.signer}\n`
    nonces.check(attestation, hash, scope)
    const recovered = await recoverAttestationSigner(signed, domain)
    if (recovered !== signed.signer) refuse('signer-mismatch', `signed by ${recovered}, declares ${signed.signer}`)
    if (isBound) {
      const bound = await ask(() => isBound(signed.signer, attestation.evaluator))
      if (bound === null) refuse('registry-unavailable', 'could not read the registry binding of the signer')
      if (!bound)
        refuse(
          'unbound-signer',
          `${signed.signer} is not the signer of an active node of evaluator ${attestation.evaluator}`,
        )
    }
    if (isRegistered) {
      const registered = await ask(() => isRegistered(attestation.node))
      if (registered === null) refuse('registry-unavailable', 'could not read whether the evaluated node is registered')
      if (!registered) refuse('unregistered-node', `${attestation.node} is not an active registered node`)
    }
    // Again: another attestation of this stream may have been accepted while we awaited the checks above.
    nonces.check(attestation, hash, scope)
    nonces.record(attestation, hash, scope)
    return { ...signed, hash }
  }

  return {
    nonces,
    async validate(bytes) {
      const { signed, domain } = decodeAttestation(bytes)
      return run(signed, domain)
    },
    async validateSigned(signed) {
      if (!ours)
        throw new InvalidAttestationError({
          reason: 'wrong-domain',
          details: 'this validator has no domain of its own to check a signed attestation in',
        })
      const checked = decodeAttestation(encodeAttestation(signed, ours))
      return run(checked.signed, ours)
    },
  }
}

function pick({ maxSkewS, maxAgeS, maxWindowS }: AttestationValidatorOptions): Omit<AttestationRuleOptions, 'now'> {
  const picked: Omit<AttestationRuleOptions, 'now'> = {}
  if (maxSkewS !== undefined) picked.maxSkewS = maxSkewS
  if (maxAgeS !== undefined) picked.maxAgeS = maxAgeS
  if (maxWindowS !== undefined) picked.maxWindowS = maxWindowS
  return picked
}

async function ask(check: () => Promise<boolean | null>): Promise<boolean | null> {
  try {
    return await check()
  } catch {
    return null
  }
}
