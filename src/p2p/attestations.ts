/**
 * Attestations on the network: the gossip validator of `modelex/1/attestations` (size, schema, domain, rules, nonce,
 * signature, then the registry: the signer must be bound to the evaluator's active node and the evaluated node must
 * be registered), and the `AttestationBook` a peer keeps: the accepted attestations (the latest per evaluator, node,
 * model and suite, bounded), `reputation(node, model)` over them with evaluator weights from the registry stake, and
 * for evaluators `publish(signed)` plus anchoring of their own attestations in Merkle batches through ReceiptAnchor.
 * Registry reads are cached. The relay runs the same gate without a chain view (no domain, no registry).
 *
 * A book that starts (or whose node reconnects to a relay) asks the relays for their latest attestations
 * (`/modelex/attestations/1.0.0`) and passes each through the same gate as gossip. An evaluator's pending digests
 * and anchored batches live in the injected `KeyValueStore`, so a restart neither loses what is due nor anchors a
 * batch twice; with `anchoring` the book anchors by itself when its batch policy says so (count or age), retrying
 * with back-off while the chain is down (`AttestationAnchorError`, nothing lost).
 *
 * @example
 * const book = createAttestationBook(node, { domain: { chainId, verifyingContract: anchor }, registry: registryAttestationChecks(client, registry), store: indexedDbStore(), anchoring: { client: wallet, anchor } })
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
  buildAttestationTree,
  createAttestationValidator,
  encodeAttestation,
  type AttestationValidator,
  type AttestationValidatorOptions,
  type NodeRegisteredCheck,
  type SignedAttestation,
  type SignerBindingCheck,
  type VerifiedAttestation,
} from '../core/attestation.ts'
import {
  ATTESTATION_BATCH_DEFAULTS,
  attestationBatchDue,
  cutAttestationBatch,
  type AttestationBatch,
  type AttestationBatchPolicy,
  type AttestationProofAnswer,
  type PendingAttestation,
} from '../core/attestation-batch.ts'
import { ContractRevertedError } from '../core/errors/chain.ts'
import { AttestationAnchorError, IGNORED_ATTESTATION_REASONS, InvalidAttestationError } from '../core/errors/p2p.ts'
import type { MerkleTree } from '../core/merkle.ts'
import type { TypedDataDomainParameters } from '../core/receipt.ts'
import { reputationOf, stakeWeight, type Reputation, type ReputationOptions } from '../core/reputation.ts'
import { anchorAttestations } from '../chain/actions/anchorAttestations.ts'
import type { WalletClient } from '../chain/actions/internal.ts'
import { nodeRegistryAbi } from '../chain/generated.ts'
import type { KeyValueStore } from '../store/kv.ts'
import { memoryStore, storedRecords } from '../store/payments.ts'
import { ATTESTATION_BOOK_DEFAULTS, ATTESTATION_TOPIC_SCORE, ATTESTATIONS_TOPIC } from './constants.ts'
import { unwatchTopic, watchTopic, type Validate } from './gossip.ts'
import { fetchLatestAttestations } from './latest-attestations.ts'
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
export function registryAttestationChecks(
  client: Client,
  registry: Address,
  {
    cacheMs = ATTESTATION_BOOK_DEFAULTS.registryCacheMs,
    now = Date.now,
    whitelistWeight = 1,
  }: RegistryAttestationOptions = {},
): AttestationRegistry {
  const cache = new Map<string, { at: number; value: Promise<unknown> }>()
  const cached = <T>(key: string, read: () => Promise<T>): Promise<T> => {
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
  const nodeOf = (operator: Address) =>
    cached(`node\n${operator.toLowerCase()}`, () =>
      readContract(client, { address: registry, abi: nodeRegistryAbi, functionName: 'getNode', args: [operator] }),
    )
  return {
    async isBound(signer, operator) {
      try {
        const bound = await cached(`signer\n${signer.toLowerCase()}`, () =>
          readContract(client, {
            address: registry,
            abi: nodeRegistryAbi,
            functionName: 'activeOperatorOf',
            args: [signer],
          }),
        )
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

/** What the gate made of one attestation: accepted (with the verified attestation), rejected or ignored. */
export type AttestationVerdict =
  { outcome: 'accepted'; verified: VerifiedAttestation } | { outcome: 'rejected' | 'ignored'; error: unknown }

export type AttestationGate = {
  validate: Validate
  /** What passed validation, by gossip message, for the message handler (so it does not decode twice). */
  take(message: Message): VerifiedAttestation | undefined
  /** Judges attestation bytes that came another way (a relay's cache) with the same validator and counters. */
  check(bytes: Uint8Array): Promise<AttestationVerdict>
  readonly validator: AttestationValidator
  counts: { accepted: number; rejected: number; ignored: number }
}

/** The gossipsub validator for the attestation topic: accept, reject (penalise the sender) or ignore, per the reason. */
export function attestationGate(options: AttestationValidatorOptions = {}): AttestationGate {
  const validator = createAttestationValidator(options)
  const passed = new WeakMap<Message, VerifiedAttestation>()
  const counts = { accepted: 0, rejected: 0, ignored: 0 }
  const check = async (bytes: Uint8Array): Promise<AttestationVerdict> => {
    try {
      const verified = await validator.validate(bytes)
      counts.accepted++
      return { outcome: 'accepted', verified }
    } catch (error) {
      const outcome =
        error instanceof InvalidAttestationError && IGNORED_ATTESTATION_REASONS.has(error.reason)
          ? 'ignored'
          : 'rejected'
      counts[outcome]++
      return { outcome, error }
    }
  }
  return {
    validator,
    counts,
    check,
    async validate(_from, message) {
      const verdict = await check(message.data)
      if (verdict.outcome === 'accepted') {
        passed.set(message, verdict.verified)
        return TopicValidatorResult.Accept
      }
      return verdict.outcome === 'ignored' ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
    },
    take(message) {
      const verified = passed.get(message)
      passed.delete(message)
      return verified
    },
  }
}

/** Anchoring by the book itself: through `client` (the evaluator's node signer or operator) into ReceiptAnchor `anchor`. */
export type AttestationAnchoring = {
  client: WalletClient
  anchor: Address
  /** When a batch is due (default: 256 attestations, or the oldest waiting an hour). */
  policy?: Partial<AttestationBatchPolicy>
  /** How often the book looks whether a batch is due (besides after each publication). */
  checkIntervalMs?: number
  /** The delay after a failed attempt, doubling up to `maxRetryMs`. */
  retryMs?: number
  maxRetryMs?: number
}

export type AttestationBookOptions = {
  /** Our chain and ReceiptAnchor: attestations signed for another deployment are ignored. */
  domain: TypedDataDomainParameters
  registry: AttestationRegistry
  /** Milliseconds since the epoch. */
  now?: () => number
  maxStored?: number
  maxPending?: number
  maxBatches?: number
  /** Reputation settings other than the clock, the weights and the subject. */
  reputation?: Omit<ReputationOptions, 'now' | 'evaluatorWeight' | 'subject'>
  validator?: Omit<AttestationValidatorOptions, 'domain' | 'now' | 'isBound' | 'isRegistered'>
  /** Where an evaluator's pending digests and anchored batches live (IndexedDB in the app). Default: memory only. */
  store?: KeyValueStore
  storePrefix?: string
  /** Anchor pending attestations by ourselves when the batch policy says so. Default: only when `anchorPending` is called. */
  anchoring?: AttestationAnchoring
  /** Ask the relays for their latest attestations on start and after each reconnection. Default true. */
  backfill?: boolean
}

/** What one backfill brought: how many relays answered and what the gate made of their attestations. */
export type AttestationBackfill = { relays: number; accepted: number; rejected: number; ignored: number }

export type AttestationBook = {
  /** Loads the stored state, joins the topic, backfills from the relays and (with `anchoring`) starts anchoring. */
  start(): Promise<void>
  /** Leaves the topic and stops anchoring; resolves once an attempt in flight has settled (its outcome is stored). */
  stop(): Promise<void>
  /** Validates our own signed attestation like any other, stores it, queues it for anchoring (stored) and gossips it. */
  publish(signed: SignedAttestation): Promise<VerifiedAttestation>
  list(filter?: { node?: Address; modelHash?: Hex; evaluator?: Address }): VerifiedAttestation[]
  reputation(node: Address, modelHash: Hex): Promise<Reputation>
  /** Fires after an attestation is stored. */
  onChange(listener: (attestation: VerifiedAttestation) => void): () => void
  /** Resolves with the first stored attestation that matches; rejects after `timeoutMs`. */
  waitFor(predicate: (attestation: VerifiedAttestation) => boolean, timeoutMs: number): Promise<VerifiedAttestation>
  /** Asks the connected relays for their latest attestations and keeps what passes the gate. */
  backfill(): Promise<AttestationBackfill>
  /** Digests of our published attestations not in a batch yet, oldest first. */
  pending(): Hex[]
  /** Our batches, oldest first: `cut` (root fixed, not on-chain yet) or `anchored`. */
  batches(): AttestationBatch[]
  /**
   * Anchors a batch cut before (if any), then every pending digest in batches of at most the policy's size, through
   * `client` and `anchor` (default: the `anchoring` option's). One attempt at a time; on failure the batch stays
   * cut and this throws `AttestationAnchorError`, and the next attempt sends the same root (or, finding it already
   * anchored, marks it so without a second transaction). Returns the batches anchored by this call.
   */
  anchorPending(client?: WalletClient, anchor?: Address): Promise<AttestationBatch[]>
  /** The inclusion proof of one of our anchored attestations. */
  proofOf(attestationHash: Hex): { root: Hex; proof: Hex[] } | undefined
  /** The answer of `/modelex/attestation-proof/1.0.0` (see `serveAttestationProofs`). */
  proofAnswer(attestationHash: Hex): Promise<AttestationProofAnswer>
  /** Fires when an anchoring by the book itself fails (it retries with back-off). */
  onAnchorError(listener: (error: AttestationAnchorError) => void): () => void
  readonly lastAnchorError: AttestationAnchorError | null
  readonly gate: AttestationGate
}

type Work = { pending: PendingAttestation[] }
type Index = { batches: Hex[] }

const lower = (hash: string) => hash.toLowerCase() as Hex

export function createAttestationBook(node: ModelexNode, options: AttestationBookOptions): AttestationBook {
  const {
    domain,
    registry,
    now = Date.now,
    maxStored = ATTESTATION_BOOK_DEFAULTS.maxStored,
    maxPending = ATTESTATION_BOOK_DEFAULTS.maxPending,
    maxBatches = ATTESTATION_BOOK_DEFAULTS.maxBatches,
    anchoring,
  } = options
  const pubsub = node.libp2p.services.pubsub
  const gate = attestationGate({
    ...options.validator,
    domain,
    now,
    isBound: registry.isBound,
    isRegistered: registry.isRegistered,
  })
  const records = storedRecords(
    options.store ?? memoryStore(),
    options.storePrefix ?? ATTESTATION_BOOK_DEFAULTS.storePrefix,
  )
  const policy: AttestationBatchPolicy = { ...ATTESTATION_BATCH_DEFAULTS, ...anchoring?.policy }
  const retryMs = anchoring?.retryMs ?? ATTESTATION_BOOK_DEFAULTS.anchorRetryMs
  const maxRetryMs = anchoring?.maxRetryMs ?? ATTESTATION_BOOK_DEFAULTS.anchorMaxRetryMs
  const stored = new Map<string, VerifiedAttestation>()
  const listeners = new Set<(attestation: VerifiedAttestation) => void>()
  const errorListeners = new Set<(error: AttestationAnchorError) => void>()

  // The evaluator's books: pending digests, batches (in order) and which batch holds a digest.
  let work: Work = { pending: [] }
  const batches: AttestationBatch[] = []
  const batchOf = new Map<Hex, AttestationBatch>()
  const trees = new Map<Hex, MerkleTree>()
  let loading: Promise<void> | undefined

  let running = false
  let stopStateListener: (() => void) | undefined
  let timer: ReturnType<typeof setInterval> | undefined
  let working: Promise<unknown> = Promise.resolve()
  let automatic: Promise<void> | undefined
  let retryAt = 0
  let retryDelay = retryMs
  let lastAnchorError: AttestationAnchorError | null = null
  let backfilling: Promise<unknown> = Promise.resolve()

  const load = async () => {
    work = (await records.get<Work>('work')) ?? { pending: [] }
    const index = (await records.get<Index>('index')) ?? { batches: [] }
    batches.length = 0
    batchOf.clear()
    for (const root of index.batches) {
      const batch = await records.get<AttestationBatch | null>(`batch:${root}`)
      if (!batch) continue
      batches.push(batch)
      for (const hash of batch.attestationHashes) batchOf.set(lower(hash), batch)
    }
    // A stop between storing a cut batch and the work record leaves its digests in both: the batch holds them.
    work.pending = work.pending.filter((p) => !batchOf.has(lower(p.hash)))
  }
  const ready = () => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined
      throw error
    })
    return loading
  }
  const saveWork = () => records.put('work', work)
  const saveIndex = () => records.put('index', { batches: batches.map((b) => b.root) } satisfies Index)

  const putBatch = async (batch: AttestationBatch) => {
    const isNew = !batches.includes(batch)
    if (isNew) batches.push(batch)
    for (const hash of batch.attestationHashes) batchOf.set(lower(hash), batch)
    await records.put(`batch:${batch.root}`, batch)
    if (!isNew) return
    // Bounded: the oldest anchored batches are forgotten (a cut one never is: it is still due).
    while (batches.length > maxBatches) {
      const oldest = batches.findIndex((b) => b.status === 'anchored')
      if (oldest < 0) break
      const [dropped] = batches.splice(oldest, 1)
      if (!dropped) break
      for (const hash of dropped.attestationHashes)
        if (batchOf.get(lower(hash)) === dropped) batchOf.delete(lower(hash))
      trees.delete(dropped.root)
      await records.put(`batch:${dropped.root}`, null)
    }
    await saveIndex()
  }

  const treeOf = (batch: AttestationBatch): MerkleTree => {
    let tree = trees.get(batch.root)
    if (!tree) {
      tree = buildAttestationTree(batch.attestationHashes)
      trees.set(batch.root, tree)
      if (trees.size > 16) trees.delete(trees.keys().next().value as Hex)
    }
    return tree
  }

  /** One anchoring after another: a second attempt meanwhile would send the same root again. */
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const next = working.then(task, task)
    working = next.catch(() => {})
    return next
  }

  /** Anchors the batch cut before, if any, then cuts and anchors while due (or while anything waits, with `force`). */
  const anchorStep = async (client: WalletClient, anchor: Address, force: boolean): Promise<AttestationBatch[]> => {
    await ready()
    const done: AttestationBatch[] = []
    for (;;) {
      let batch = batches.find((b) => b.status === 'cut')
      if (!batch) {
        if (!(force ? work.pending.length > 0 : attestationBatchDue(work.pending, policy, now()))) return done
        batch = cutAttestationBatch(work.pending, policy).batch
        // Stored before the transaction, and before the digests leave the pending list: a retry resends this root,
        // and no digest is ever cut twice.
        await putBatch(batch)
        const taken = new Set(batch.attestationHashes)
        work.pending = work.pending.filter((p) => !taken.has(lower(p.hash)))
        await saveWork()
      }
      try {
        const sent = await anchorAttestations(client, { anchor, attestationHashes: batch.attestationHashes })
        batch.transactionHash = sent.transactionHash
        batch.operator = sent.operator
      } catch (error) {
        // The root landed before (a reply lost, a restart after sending): anchored, and not sent twice.
        if (!(error instanceof ContractRevertedError && error.errorName === 'RootAlreadyAnchored')) {
          throw new AttestationAnchorError({
            reason: error instanceof ContractRevertedError ? 'rejected' : 'unreachable',
            root: batch.root,
            count: batch.attestationHashes.length,
            details: error instanceof Error ? error.message.split('\n')[0] : String(error),
            cause: error,
          })
        }
      }
      batch.status = 'anchored'
      batch.anchoredAt = now()
      await putBatch(batch)
      done.push(batch)
    }
  }

  /** The book's own anchoring: when due, not while an attempt runs, and not before the back-off after a failure. */
  const kick = () => {
    if (!running || !anchoring || automatic || now() < retryAt) return
    if (!batches.some((b) => b.status === 'cut') && !attestationBatchDue(work.pending, policy, now())) return
    automatic = serial(() => anchorStep(anchoring.client, anchoring.anchor, false))
      .then(
        () => {
          retryAt = 0
          retryDelay = retryMs
          lastAnchorError = null
        },
        (error: unknown) => {
          const failure =
            error instanceof AttestationAnchorError
              ? error
              : new AttestationAnchorError({
                  reason: 'unreachable',
                  root: '',
                  count: 0,
                  details: String(error),
                  cause: error,
                })
          lastAnchorError = failure
          retryAt = now() + retryDelay
          retryDelay = Math.min(maxRetryMs, retryDelay * 2)
          for (const listener of errorListeners) listener(failure)
        },
      )
      .finally(() => (automatic = undefined))
  }

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

  const runBackfill = async (): Promise<AttestationBackfill> => {
    const answers = await fetchLatestAttestations(node)
    const result: AttestationBackfill = { relays: answers.length, accepted: 0, rejected: 0, ignored: 0 }
    // One by one, in each relay's order (oldest first): the nonce rule then keeps the latest of every stream.
    for (const { attestations } of answers) {
      for (const bytes of attestations) {
        if (!running) return result
        const verdict = await gate.check(bytes)
        result[verdict.outcome]++
        if (verdict.outcome === 'accepted') store(verdict.verified)
      }
    }
    return result
  }

  const book: AttestationBook = {
    gate,
    get lastAnchorError() {
      return lastAnchorError
    },
    async start() {
      if (running) return
      await ready()
      running = true
      pubsub.addEventListener('message', onMessage)
      watchTopic(pubsub, ATTESTATIONS_TOPIC, gate.validate, ATTESTATION_TOPIC_SCORE)
      if (options.backfill ?? true) {
        // Back at a relay (first connection or after an outage): ask again for what was published meanwhile.
        stopStateListener = node.onStateChange((state) => {
          if (state === 'connected') book.backfill().catch(() => {})
        })
        if (node.state === 'connected') book.backfill().catch(() => {})
      }
      if (anchoring) {
        timer = setInterval(kick, anchoring.checkIntervalMs ?? ATTESTATION_BOOK_DEFAULTS.anchorCheckMs)
        kick()
      }
    },
    async stop() {
      if (!running) return
      running = false
      stopStateListener?.()
      stopStateListener = undefined
      clearInterval(timer)
      timer = undefined
      pubsub.removeEventListener('message', onMessage)
      unwatchTopic(pubsub, ATTESTATIONS_TOPIC)
      await Promise.all([automatic, backfilling, working].map((p) => p?.catch(() => {})))
    },
    async publish(signed) {
      await ready()
      const verified = await gate.validator.validateSigned(signed)
      store(verified)
      const hash = lower(verified.hash)
      if (!batchOf.has(hash) && !work.pending.some((p) => lower(p.hash) === hash)) {
        work.pending.push({ hash, at: now() })
        if (work.pending.length > maxPending) work.pending.shift()
        // Stored before it is gossiped: once others can see it, a restart still anchors it.
        await saveWork()
      }
      await pubsub.publish(ATTESTATIONS_TOPIC, encodeAttestation(verified, domain))
      kick()
      return verified
    },
    list(filter = {}) {
      const same = (a: string | undefined) => a?.toLowerCase()
      return [...stored.values()].filter(
        ({ attestation: a }) =>
          (filter.node === undefined || same(a.node) === same(filter.node)) &&
          (filter.modelHash === undefined || same(a.modelHash) === same(filter.modelHash)) &&
          (filter.evaluator === undefined || same(a.evaluator) === same(filter.evaluator)),
      )
    },
    async reputation(subjectNode, modelHash) {
      const attestations = book.list({ node: subjectNode, modelHash })
      const evaluators = [...new Set(attestations.map((v) => v.attestation.evaluator))]
      const weights = new Map(
        await Promise.all(evaluators.map(async (e) => [e, await registry.evaluatorWeight(e)] as const)),
      )
      return reputationOf(attestations, {
        ...options.reputation,
        now: now() / 1000,
        subject: { node: subjectNode, modelHash },
        evaluatorWeight: (e) => weights.get(e) ?? 0,
      })
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
    backfill() {
      const next = backfilling.then(runBackfill, runBackfill)
      backfilling = next.catch(() => {})
      return next
    },
    pending: () => work.pending.map((p) => p.hash),
    batches: () => batches.map((b) => ({ ...b, attestationHashes: [...b.attestationHashes] })),
    anchorPending(client = anchoring?.client, anchor = anchoring?.anchor) {
      if (!client || !anchor)
        return Promise.reject(
          new Error(
            "anchorPending needs a wallet client and the ReceiptAnchor address (or the book's `anchoring` option).",
          ),
        )
      return serial(() => anchorStep(client, anchor, true))
    },
    proofOf(attestationHash) {
      const batch = batchOf.get(lower(attestationHash))
      if (batch?.status !== 'anchored') return undefined
      return { root: batch.root, proof: attestationProof(treeOf(batch), attestationHash) }
    },
    async proofAnswer(attestationHash) {
      await ready()
      const hash = lower(attestationHash)
      const batch = batchOf.get(hash)
      if (batch?.status === 'anchored') {
        const answer: AttestationProofAnswer = {
          status: 'anchored',
          root: batch.root,
          proof: attestationProof(treeOf(batch), hash),
        }
        if (batch.transactionHash) answer.transactionHash = batch.transactionHash
        return answer
      }
      if (batch || work.pending.some((p) => lower(p.hash) === hash)) return { status: 'pending' }
      return { status: 'unknown' }
    },
    onAnchorError(listener) {
      errorListeners.add(listener)
      return () => errorListeners.delete(listener)
    },
  }
  return book
}
