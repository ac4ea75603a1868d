/**
 * Attestations on the network: the gossip validator of `modelex/1/attestations` (size, schema, domain, rules, nonce,
 * signature, then the registry: the signer must be bound to the evaluator's active node and the evaluated node must
 * be registered), and the `AttestationBook` a peer keeps: the accepted attestations (the latest per evaluator, node,
 * model and suite, bounded), `reputation(node, model)` over them with evaluator weights from the registry stake, and
 * for evaluators `publish(signed)` plus anchoring of their own attestations in Merkle batches through ReceiptAnchor.
 * Registry reads are cached. The relay runs the same gate without a chain view (no domain, no registry).
 *
 * @example
 * const book = createAttestationBook(node, { domain: { chainId, verifyingContract: anchor }, registry: registryAttestationChecks(client, registry) })
 * await book.start()
 * await book.publish(await signAttestation(signer, attestation, domain))
 * const rep = await book.reputation(operator, modelHash)
 */
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub'
import type { Address, Client, Hex } from 'viem'
import { readContract } from 'viem/actions'
import {
  attestationProof,
  attestationStream,
  createAttestationValidator,
  encodeAttestation,
  type AttestationValidator,
  type AttestationValidatorOptions,
  type NodeRegisteredCheck,
  type SignedAttestation,
  type SignerBindingCheck,
  type VerifiedAttestation,
} from '../core/attestation.ts'
import { IGNORED_ATTESTATION_REASONS, InvalidAttestationError } from '../core/errors/p2p.ts'
import type { TypedDataDomainParameters } from '../core/receipt.ts'
import { reputationOf, stakeWeight, type Reputation, type ReputationOptions } from '../core/reputation.ts'
import { anchorAttestations, type AnchorAttestationsReturnType } from '../chain/actions/anchorAttestations.ts'
import type { WalletClient } from '../chain/actions/internal.ts'
import { nodeRegistryAbi } from '../chain/generated.ts'
import { ATTESTATION_BOOK_DEFAULTS, ATTESTATION_TOPIC_SCORE, ATTESTATIONS_TOPIC } from './constants.ts'
import { unwatchTopic, watchTopic, type Validate } from './gossip.ts'
import type { ModelexNode } from './node.ts'

/** What the book needs from the registry: the two validation checks and an evaluator's weight. */
export type AttestationRegistry = {
  isBound: SignerBindingCheck
  isRegistered: NodeRegisteredCheck
  /** 0 for an evaluator that is not an active node (or when the registry cannot be read). */
  evaluatorWeight(operator: Address): Promise<number>
}

export type RegistryAttestationOptions = {
  cacheMs?: number
  now?: () => number
  /** Weight of a whitelisted evaluator with less stake than this, in whole AI. */
  whitelistWeight?: number
}

/** The registry checks from the NodeRegistry contract (`activeOperatorOf`, `getNode`), cached for `cacheMs`. */
export function registryAttestationChecks(client: Client, registry: Address, { cacheMs = ATTESTATION_BOOK_DEFAULTS.registryCacheMs, now = Date.now, whitelistWeight = 1 }: RegistryAttestationOptions = {}): AttestationRegistry {
  const cache = new Map<string, { at: number; value: Promise<unknown> }>()
  const cached = <T,>(key: string, read: () => Promise<T>): Promise<T> => {
    const hit = cache.get(key)
    if (hit && now() - hit.at < cacheMs) return hit.value as Promise<T>
    const value = read()
    cache.delete(key)
    cache.set(key, { at: now(), value })
    // A failed read is not an answer: the next question asks again.
    value.catch(() => cache.get(key)?.value === value && cache.delete(key))
    if (cache.size > 10_000) cache.delete(cache.keys().next().value as string)
    return value
  }
  const nodeOf = (operator: Address) => cached(`node\n${operator.toLowerCase()}`, () => readContract(client, { address: registry, abi: nodeRegistryAbi, functionName: 'getNode', args: [operator] }))
  return {
    async isBound(signer, operator) {
      try {
        const bound = await cached(`signer\n${signer.toLowerCase()}`, () => readContract(client, { address: registry, abi: nodeRegistryAbi, functionName: 'activeOperatorOf', args: [signer] }))
        return bound.toLowerCase() === operator.toLowerCase()
      } catch {
        return null
      }
    },
    async isRegistered(operator) {
      try {
        return (await nodeOf(operator)).active
      } catch {
        return null
      }
    },
    async evaluatorWeight(operator) {
      try {
        return stakeWeight(await nodeOf(operator), { whitelistWeight })
      } catch {
        return 0
      }
    },
  }
}

export type AttestationGate = {
  validate: Validate
  /** What passed validation, by gossip message, for the message handler (so it does not decode twice). */
  take(message: Message): VerifiedAttestation | undefined
  readonly validator: AttestationValidator
  counts: { accepted: number; rejected: number; ignored: number }
}

/** The gossipsub validator for the attestation topic: accept, reject (penalise the sender) or ignore, per the reason. */
export function attestationGate(options: AttestationValidatorOptions = {}): AttestationGate {
  const validator = createAttestationValidator(options)
  const passed = new WeakMap<Message, VerifiedAttestation>()
  const counts = { accepted: 0, rejected: 0, ignored: 0 }
  return {
    validator,
    counts,
    async validate(_from, message) {
      try {
        passed.set(message, await validator.validate(message.data))
        counts.accepted++
        return TopicValidatorResult.Accept
      } catch (error) {
        if (error instanceof InvalidAttestationError && IGNORED_ATTESTATION_REASONS.has(error.reason)) {
          counts.ignored++
          return TopicValidatorResult.Ignore
        }
        counts.rejected++
        return TopicValidatorResult.Reject
      }
    },
    take(message) {
      const verified = passed.get(message)
      passed.delete(message)
      return verified
    },
  }
}

export type AttestationBookOptions = {
  /** Our chain and ReceiptAnchor: attestations signed for another deployment are ignored. */
  domain: TypedDataDomainParameters
  registry: AttestationRegistry
  /** Milliseconds since the epoch. */
  now?: () => number
  maxStored?: number
  maxPending?: number
  /** Reputation settings other than the clock, the weights and the subject. */
  reputation?: Omit<ReputationOptions, 'now' | 'evaluatorWeight' | 'subject'>
  validator?: Omit<AttestationValidatorOptions, 'domain' | 'now' | 'isBound' | 'isRegistered'>
}

export type AnchoredAttestationBatch = AnchorAttestationsReturnType & { attestationHashes: Hex[] }

export type AttestationBook = {
  start(): Promise<void>
  stop(): Promise<void>
  /** Validates our own signed attestation like any other, stores it, gossips it and queues it for anchoring. */
  publish(signed: SignedAttestation): Promise<VerifiedAttestation>
  list(filter?: { node?: Address; modelHash?: Hex; evaluator?: Address }): VerifiedAttestation[]
  reputation(node: Address, modelHash: Hex): Promise<Reputation>
  /** Fires after an attestation is stored. */
  onChange(listener: (attestation: VerifiedAttestation) => void): () => void
  /** Resolves with the first stored attestation that matches; rejects after `timeoutMs`. */
  waitFor(predicate: (attestation: VerifiedAttestation) => boolean, timeoutMs: number): Promise<VerifiedAttestation>
  /** Digests of our published attestations not anchored yet. */
  pending(): Hex[]
  /**
   * Anchors every pending digest in one batch through ReceiptAnchor (the client's account is our node signer or
   * operator); on failure they stay pending, so the retry anchors the same batch and more.
   */
  anchorPending(client: WalletClient, anchor: Address): Promise<AnchoredAttestationBatch | null>
  /** The inclusion proof of one of our anchored attestations. */
  proofOf(attestationHash: Hex): { root: Hex; proof: Hex[] } | undefined
  readonly gate: AttestationGate
}

export function createAttestationBook(node: ModelexNode, options: AttestationBookOptions): AttestationBook {
  const { domain, registry, now = Date.now, maxStored = ATTESTATION_BOOK_DEFAULTS.maxStored, maxPending = ATTESTATION_BOOK_DEFAULTS.maxPending } = options
  const pubsub = node.libp2p.services.pubsub
  const gate = attestationGate({ ...options.validator, domain, now, isBound: registry.isBound, isRegistered: registry.isRegistered })
  const stored = new Map<string, VerifiedAttestation>()
  const pendingHashes = new Set<Hex>()
  const anchoredRoots = new Map<Hex, { root: Hex; tree: AnchorAttestationsReturnType['tree'] }>()
  const listeners = new Set<(attestation: VerifiedAttestation) => void>()
  let running = false
  let anchoring: Promise<AnchoredAttestationBatch | null> | undefined

  const store = (verified: VerifiedAttestation) => {
    const key = attestationStream(verified.attestation)
    stored.delete(key)
    stored.set(key, verified)
    if (stored.size > maxStored) stored.delete(stored.keys().next().value as string)
    for (const listener of listeners) listener(verified)
  }

  const onMessage = (event: CustomEvent<Message>) => {
    if (event.detail.topic !== ATTESTATIONS_TOPIC) return
    const verified = gate.take(event.detail)
    if (verified) store(verified)
  }

  const book: AttestationBook = {
    gate,
    async start() {
      if (running) return
      running = true
      pubsub.addEventListener('message', onMessage)
      watchTopic(pubsub, ATTESTATIONS_TOPIC, gate.validate, ATTESTATION_TOPIC_SCORE)
    },
    async stop() {
      if (!running) return
      running = false
      pubsub.removeEventListener('message', onMessage)
      unwatchTopic(pubsub, ATTESTATIONS_TOPIC)
    },
    async publish(signed) {
      const verified = await gate.validator.validateSigned(signed)
      store(verified)
      pendingHashes.add(verified.hash)
      if (pendingHashes.size > maxPending) pendingHashes.delete(pendingHashes.values().next().value as Hex)
      await pubsub.publish(ATTESTATIONS_TOPIC, encodeAttestation(verified, domain))
      return verified
    },
    list(filter = {}) {
      const lower = (a: string | undefined) => a?.toLowerCase()
      return [...stored.values()].filter(
        ({ attestation: a }) =>
          (filter.node === undefined || lower(a.node) === lower(filter.node)) &&
          (filter.modelHash === undefined || lower(a.modelHash) === lower(filter.modelHash)) &&
          (filter.evaluator === undefined || lower(a.evaluator) === lower(filter.evaluator)),
      )
    },
    async reputation(subjectNode, modelHash) {
      const attestations = book.list({ node: subjectNode, modelHash })
      const evaluators = [...new Set(attestations.map((v) => v.attestation.evaluator))]
      const weights = new Map(await Promise.all(evaluators.map(async (e) => [e, await registry.evaluatorWeight(e)] as const)))
      return reputationOf(attestations, { ...options.reputation, now: now() / 1000, subject: { node: subjectNode, modelHash }, evaluatorWeight: (e) => weights.get(e) ?? 0 })
    },
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    waitFor(predicate, timeoutMs) {
      return new Promise((resolve, reject) => {
        const found = [...stored.values()].find(predicate)
        if (found) return resolve(found)
        const stopListening = book.onChange((verified) => {
          if (!predicate(verified)) return
          clearTimeout(timer)
          stopListening()
          resolve(verified)
        })
        const timer = setTimeout(() => {
          stopListening()
          reject(new Error(`No matching attestation within ${timeoutMs} ms (${stored.size} stored).`))
        }, timeoutMs)
      })
    },
    pending: () => [...pendingHashes],
    anchorPending(client, anchor) {
      // One batch at a time: a second call meanwhile would send the same root again (and revert as anchored).
      anchoring ??= (async () => {
        const attestationHashes = [...pendingHashes]
        if (attestationHashes.length === 0) return null
        const batch = await anchorAttestations(client, { anchor, attestationHashes })
        for (const hash of attestationHashes) {
          pendingHashes.delete(hash)
          anchoredRoots.set(hash, { root: batch.root, tree: batch.tree })
          if (anchoredRoots.size > maxPending) anchoredRoots.delete(anchoredRoots.keys().next().value as Hex)
        }
        return { ...batch, attestationHashes }
      })().finally(() => (anchoring = undefined))
      return anchoring
    },
    proofOf(attestationHash) {
      const batch = anchoredRoots.get(attestationHash.toLowerCase() as Hex)
      return batch && { root: batch.root, proof: attestationProof(batch.tree, attestationHash) }
    },
  }
  return book
}
