/**
 * Attestations end to end, on the real relay (child process) and the real contracts on anvil: two evaluators and
 * one evaluated node registered in the NodeRegistry (each operator with its own node signer), an observer peer
 * with an AttestationBook reading the registry. A registered evaluator's attestation is gossiped, validated and
 * stored; forged ones (bad signature, signer not bound to the evaluator) and replayed ones are refused; the evaluator
 * anchors its batch through ReceiptAnchor and the inclusion proof verifies on-chain; the reputation becomes known
 * only once a second independent evaluator agrees. Then the late joiner: a peer that starts after all this gets the
 * attestations from the relay's cache (and refuses the forged entries a relay built to forge them adds); the
 * evaluator's proofs over `/modelex/attestation-proof/1.0.0`; a restart of the evaluator's book from its store (nothing
 * due lost, no root sent twice); and a book that anchors by itself, by count, through a chain line that goes down.
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  http,
  parseEther,
  toHex,
  type Address,
  type Hex,
  type PrivateKeyAccount,
} from 'viem'
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { waitForTransactionReceipt, writeContract } from 'viem/actions'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { registerNode } from '../chain/actions/registerNode.ts'
import { signSignerBinding } from '../chain/actions/signSignerBinding.ts'
import { anchorAttestations } from '../chain/actions/anchorAttestations.ts'
import { verifyAttestationAnchor } from '../chain/actions/verifyAttestationAnchor.ts'
import { DEVNET_PARAMETERS } from '../chain/constants.ts'
import { aiTokenAbi } from '../chain/generated.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { startForgingRelay } from '../adversarial/forging-relay.ts'
import {
  encodeAttestation,
  signAttestation,
  type Attestation,
  type AttestationSuite,
  type VerifiedAttestation,
} from '../core/attestation.ts'
import { AttestationAnchorError, InvalidAttestationError } from '../core/errors/p2p.ts'
import { LATEST_ATTESTATIONS_PROTOCOL, MAX_LATEST_ATTESTATIONS_REQUEST_BYTES } from '../core/latest-attestations.ts'
import { encodeJson } from '../core/wire/check.ts'
import { encodeFrame } from '../core/wire/frame.ts'
import { freePort } from '../server/lib/ports.ts'
import type { Relay } from '../server/programs/relay.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { deployedContract } from '../server/testing/contracts.ts'
import { tcpLine, type TcpLine } from '../server/testing/tcp-line.ts'
import type { KeyValueStore } from '../store/kv.ts'
import { memoryStore } from '../store/payments.ts'
import { fetchAttestationProof, serveAttestationProofs } from './attestation-proof.ts'
import {
  createAttestationBook,
  registryAttestationChecks,
  type AttestationBook,
  type AttestationBookOptions,
} from './attestations.ts'
import { ATTESTATIONS_TOPIC } from './constants.ts'
import { readFrames } from './frames.ts'
import { createModelexNode, type ModelexNode } from './node.ts'
import { until } from './testing.ts'

const deployment = inject('deployment')
const transport = http(deployment.rpcUrl)
const publicClient = createPublicClient({ transport, pollingInterval: 50 })
const MODEL: Hex = `0x${'5a'.repeat(32)}`

type Registered = { operator: PrivateKeyAccount; signer: PrivateKeyAccount }
type Peer = { node: ModelexNode; book: AttestationBook; store: KeyValueStore }

let dir: string
let relay: RelayProcess
let registry: Address
let anchor: Address
let domain: { chainId: number; verifyingContract: Address }
let first: Registered
let second: Registered
let evaluated: Registered
let evaluatorPeer: Peer
let secondPeer: Peer
let observer: Peer
let rogue: ModelexNode
let stopProofs: () => Promise<void>
const stops: (() => Promise<void>)[] = []

async function register(tag: string): Promise<Registered> {
  const operator = privateKeyToAccount(generatePrivateKey())
  const signer = privateKeyToAccount(generatePrivateKey())
  const testClient = createTestClient({ mode: 'anvil', transport })
  await testClient.setBalance({ address: operator.address, value: parseEther('10') })
  await testClient.setBalance({ address: signer.address, value: parseEther('10') })
  const token = deployedContract(deployment, 'AIToken')
  const funder = createWalletClient({
    account: mnemonicToAccount('test test test test test test test test test test test junk', { addressIndex: 8 }),
    transport,
  })
  await waitForTransactionReceipt(publicClient, {
    hash: await writeContract(funder, {
      address: token,
      abi: aiTokenAbi,
      functionName: 'transfer',
      args: [operator.address, DEVNET_PARAMETERS.minStake],
      chain: null,
    }),
  })
  const peerId = toHex(`attestations-test-${tag}-${operator.address}`)
  await registerNode(createWalletClient({ account: operator, transport, pollingInterval: 50 }), {
    token,
    registry,
    stake: DEVNET_PARAMETERS.minStake,
    signerProof: await signSignerBinding(publicClient, {
      registry,
      chainId: deployment.chainId,
      operator: operator.address,
      peerId,
      account: signer,
    }),
    node: {
      peerId,
      signer: signer.address,
      models: [MODEL],
      pricePerMillionInput: 1n,
      pricePerMillionOutput: 1n,
      metadataURI: '',
    },
  })
  return { operator, signer }
}

async function peer({
  relays = [relay.multiaddr],
  book: bookOptions = {},
}: { relays?: string[]; book?: Partial<AttestationBookOptions> } = {}): Promise<Peer> {
  const node = await createModelexNode({ relays, runtime: 'node' })
  await node.start()
  const store = memoryStore()
  const p: Peer = {
    node,
    store,
    book: createAttestationBook(node, {
      domain,
      registry: registryAttestationChecks(publicClient, registry),
      store,
      ...bookOptions,
    }),
  }
  await p.book.start()
  // The book of the peer may be replaced (a restart): stop whichever it has by then.
  stops.push(async () => {
    await p.book.stop()
    await node.stop()
  })
  return p
}

function wallet(account: PrivateKeyAccount, url = deployment.rpcUrl) {
  return createWalletClient({ account, transport: http(url), pollingInterval: 50 })
}

async function onChain(
  evaluator: Registered,
  hash: Hex,
  answer: { root: Hex; proof: Hex[] } | undefined,
): Promise<boolean> {
  if (!answer) return false
  return verifyAttestationAnchor(publicClient, {
    anchor,
    evaluator: evaluator.operator.address,
    root: answer.root,
    attestationHash: hash,
    proof: answer.proof,
  })
}

/** Until the relay and the peer have grafted each other on the topic: a publication before that could go nowhere. */
async function meshed(node: ModelexNode): Promise<void> {
  await until(
    () =>
      (node.libp2p.services.pubsub as unknown as { getMeshPeers(t: string): string[] })
        .getMeshPeers(ATTESTATIONS_TOPIC)
        .includes(relay.peerId),
    15_000,
    'the relay in the mesh of the attestation topic',
  )
}

function attestationBy(evaluator: Registered, suite: AttestationSuite, score: number, nonce: number): Attestation {
  const now = Math.floor(Date.now() / 1000)
  return {
    evaluator: evaluator.operator.address,
    node: evaluated.operator.address,
    modelHash: MODEL,
    suite,
    score,
    sampleSize: 40,
    windowStart: now - 600,
    windowEnd: now - 1,
    nonce,
  }
}

async function relayCounts(): Promise<{ accepted: number; rejected: number; ignored: number }> {
  return (
    ((await relay.metrics())['attestations'] as
      { accepted: number; rejected: number; ignored: number } | undefined) ?? { accepted: 0, rejected: 0, ignored: 0 }
  )
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidAttestationError)
    return (error as InvalidAttestationError).reason
  }
  throw new Error('expected a refusal')
}

beforeAll(async () => {
  registry = deployedContract(deployment, 'NodeRegistry')
  anchor = deployedContract(deployment, 'ReceiptAnchor')
  domain = { chainId: deployment.chainId, verifyingContract: anchor }
  dir = await mkdtemp(join(tmpdir(), 'modelex-attestations-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  first = await register('first')
  second = await register('second')
  evaluated = await register('evaluated')
  evaluatorPeer = await peer()
  // Others dial it for proofs, through the relay.
  await evaluatorPeer.node.waitForReservation(15_000)
  stopProofs = await serveAttestationProofs(evaluatorPeer.node, evaluatorPeer.book)
  stops.push(() => stopProofs())
  secondPeer = await peer()
  observer = await peer()
  rogue = await createModelexNode({ relays: [relay.multiaddr], runtime: 'node' })
  await rogue.start()
  stops.push(() => rogue.stop())
  await Promise.all([evaluatorPeer, secondPeer, observer].map((p) => meshed(p.node)))
  await until(
    () => rogue.libp2p.services.pubsub.getSubscribers(ATTESTATIONS_TOPIC).length > 0,
    15_000,
    'the rogue to see the relay on the topic',
  )
}, 120_000)

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('attestations', () => {
  let published: Awaited<ReturnType<AttestationBook['publish']>>

  test('a registered evaluator publishes; another peer receives, validates and stores it; one evaluator leaves the node unknown', async () => {
    published = await evaluatorPeer.book.publish(
      await signAttestation(first.signer, attestationBy(first, 'fim-exact', 900_000, 1), domain),
    )
    const received = await observer.book.waitFor((v) => v.hash === published.hash, 15_000)
    expect(received.attestation).toEqual(published.attestation)
    expect(received.signer).toBe(first.signer.address)
    const reputation = await observer.book.reputation(evaluated.operator.address, MODEL)
    expect(reputation.status).toBe('unknown')
    expect(reputation.suites['fim-exact']).toMatchObject({ score: null, evaluators: 1 })
  })

  test('forged attestations are refused: a bad signature at the relay, a signer not bound to the evaluator at the peer', async () => {
    const relayBefore = await relayCounts()
    // Claims the first evaluator's signer but is signed by another key.
    const impostor = privateKeyToAccount(generatePrivateKey())
    const badSignature = {
      ...(await signAttestation(impostor, attestationBy(first, 'uptime', 0, 5), domain)),
      signer: first.signer.address,
    }
    expect(await reasonOf(observer.book.gate.validator.validate(encodeAttestation(badSignature, domain)))).toBe(
      'signer-mismatch',
    )
    await rogue.libp2p.services.pubsub.publish(ATTESTATIONS_TOPIC, encodeAttestation(badSignature, domain))
    await until(
      async () => (await relayCounts()).rejected > relayBefore.rejected,
      10_000,
      'the relay to reject the bad signature',
    )

    // Correctly signed, but by a key the registry does not bind to the evaluator it names: the relay cannot tell
    // (no chain view) and forwards it; the observer checks the registry and drops it without blaming the relay.
    const unbound = await signAttestation(impostor, attestationBy(first, 'uptime', 0, 6), domain)
    const observerBefore = observer.book.gate.counts.ignored
    await rogue.libp2p.services.pubsub.publish(ATTESTATIONS_TOPIC, encodeAttestation(unbound, domain))
    await until(
      () => observer.book.gate.counts.ignored > observerBefore,
      10_000,
      'the observer to drop the unbound signer',
    )
    expect(await reasonOf(observer.book.gate.validator.validate(encodeAttestation(unbound, domain)))).toBe(
      'unbound-signer',
    )
    expect(observer.book.list({ evaluator: first.operator.address }).map((v) => v.attestation.suite)).toEqual([
      'fim-exact',
    ])
    expect(observer.book.gate.counts.rejected).toBe(0)
  })

  test('replayed attestations are refused: the same one again, and another with the same nonce', async () => {
    const before = await relayCounts()
    await rogue.libp2p.services.pubsub.publish(ATTESTATIONS_TOPIC, encodeAttestation(published, domain))
    const sameNonce = await signAttestation(first.signer, { ...published.attestation, score: 100_000 }, domain)
    await rogue.libp2p.services.pubsub.publish(ATTESTATIONS_TOPIC, encodeAttestation(sameNonce, domain))
    await until(
      async () => (await relayCounts()).ignored >= before.ignored + 2,
      10_000,
      'the relay to drop both replays',
    )
    expect(await reasonOf(observer.book.gate.validator.validate(encodeAttestation(published, domain)))).toBe(
      'duplicate',
    )
    expect(await reasonOf(observer.book.gate.validator.validate(encodeAttestation(sameNonce, domain)))).toBe('replayed')
    expect(observer.book.list({ evaluator: first.operator.address })[0]?.attestation.score).toBe(900_000)
  })

  test('the evaluator anchors its batch through ReceiptAnchor and the inclusion proof verifies on-chain', async () => {
    const more = await evaluatorPeer.book.publish(
      await signAttestation(first.signer, attestationBy(first, 'uptime', 990_000, 2), domain),
    )
    expect(evaluatorPeer.book.pending()).toEqual([published.hash, more.hash])
    const [batch, ...none] = await evaluatorPeer.book.anchorPending(wallet(first.signer), anchor)
    expect(none).toEqual([])
    expect(batch).toMatchObject({
      status: 'anchored',
      attestationHashes: [published.hash, more.hash],
      operator: first.operator.address,
    })
    expect(evaluatorPeer.book.pending()).toEqual([])
    for (const hash of [published.hash, more.hash]) {
      const proof = evaluatorPeer.book.proofOf(hash)
      expect(proof?.root).toBe(batch?.root)
      expect(await onChain(first, hash, proof)).toBe(true)
      // Anchored for the first evaluator only.
      expect(await onChain(second, hash, proof)).toBe(false)
    }
    const proof = evaluatorPeer.book.proofOf(published.hash)!
    expect(await onChain(first, `0x${'00'.repeat(32)}`, proof)).toBe(false)
  })

  test('anyone asks the evaluator for a proof over /modelex/attestation-proof/1.0.0 and checks it on-chain', async () => {
    const answer = await fetchAttestationProof(observer.node, evaluatorPeer.node.peerId, published.hash)
    expect(answer).toMatchObject({ status: 'anchored', root: evaluatorPeer.book.proofOf(published.hash)?.root })
    if (answer.status !== 'anchored') throw new Error('unreachable')
    expect(answer.transactionHash).toMatch(/^0x[0-9a-f]{64}$/)
    expect(await onChain(first, published.hash, answer)).toBe(true)
    // A proof for another digest, or under another evaluator, does not verify.
    expect(await onChain(second, published.hash, answer)).toBe(false)
    expect(await fetchAttestationProof(observer.node, evaluatorPeer.node.peerId, `0x${'ab'.repeat(32)}`)).toEqual({
      status: 'unknown',
    })
    const waiting = await evaluatorPeer.book.publish(
      await signAttestation(first.signer, attestationBy(first, 'latency-p50', 420, 1), domain),
    )
    expect(await fetchAttestationProof(observer.node, evaluatorPeer.node.peerId, waiting.hash)).toEqual({
      status: 'pending',
    })
  })

  test('the reputation becomes known once a second independent evaluator agrees', async () => {
    const agreeing = await secondPeer.book.publish(
      await signAttestation(second.signer, attestationBy(second, 'fim-exact', 860_000, 1), domain),
    )
    await observer.book.waitFor((v) => v.hash === agreeing.hash, 15_000)
    const reputation = await observer.book.reputation(evaluated.operator.address, MODEL)
    expect(reputation.status).toBe('known')
    expect(reputation.suites['fim-exact']).toMatchObject({ score: 880_000, evaluators: 2, agreeing: 2 })
    expect(reputation.score).toBe(88)
    expect(reputation.confidence).toBeGreaterThan(0)
    // Uptime has one evaluator only: still unknown, and not counted against the node.
    expect(reputation.suites.uptime.score).toBeNull()
  })

  test("a peer that starts later gets the attestations from the relay's cache, and its reputation includes them", async () => {
    const late = await peer()
    const agreeing = secondPeer.book.list({ evaluator: second.operator.address })[0]!
    // Published long before this peer existed: only the relay's cache can hand them over.
    for (const hash of [published.hash, agreeing.hash]) await late.book.waitFor((v) => v.hash === hash, 15_000)
    const reputation = await late.book.reputation(evaluated.operator.address, MODEL)
    expect(reputation).toMatchObject({ status: 'known', score: 88 })
    expect(reputation.suites['fim-exact']).toMatchObject({ score: 880_000, evaluators: 2 })
    expect(late.book.gate.counts.rejected).toBe(0)
    await until(
      async () => (((await relay.metrics())['latestAttestations'] as { served: number } | undefined)?.served ?? 0) >= 2,
      10_000,
      'the relay to count what it served',
    )
    // Asking again brings nothing new: the same attestations are duplicates now.
    const again = await late.book.backfill()
    expect(again).toMatchObject({ relays: 1, accepted: 0, rejected: 0 })
    expect(again.ignored).toBeGreaterThanOrEqual(2)

    // Back from losing the relay, it asks again (what was published meanwhile is not missed).
    const requests = async () => ((await relay.metrics())['latestAttestations'] as { requests: number }).requests
    const before = await requests()
    await late.node.libp2p.hangUp(peerIdFromString(relay.peerId))
    const meanwhile = await secondPeer.book.publish(
      await signAttestation(second.signer, attestationBy(second, 'uptime', 995_000, 1), domain),
    )
    await until(async () => (await requests()) > before, 15_000, 'the reconnected peer to ask the relay again')
    await late.book.waitFor((v) => v.hash === meanwhile.hash, 15_000)
  })

  test("a malformed request to the relay's cache is refused: no answer, counted", async () => {
    const before = ((await relay.metrics())['latestAttestations'] as { malformed: number }).malformed
    const stream = await observer.node.libp2p.dialProtocol(multiaddr(relay.multiaddr), LATEST_ATTESTATIONS_PROTOCOL, {
      signal: AbortSignal.timeout(5_000),
    })
    const reader = readFrames(stream, 4096)
    stream.send(
      encodeFrame(
        encodeJson({ type: 'latest-attestations', v: 1, limit: 1_000_000 }),
        MAX_LATEST_ATTESTATIONS_REQUEST_BYTES,
      ),
    )
    const answer = await reader.next()
    reader.dispose()
    expect(answer).not.toBeInstanceOf(Uint8Array)
    await until(
      async () => ((await relay.metrics())['latestAttestations'] as { malformed: number }).malformed > before,
      10_000,
      'the relay to count the malformed request',
    )
  })

  test('a relay that forges entries in its cache answers is caught: the forged entry is refused, the honest one kept', async () => {
    const forging: Relay = await startForgingRelay({
      host: '127.0.0.1',
      port: await freePort(),
      keyFile: join(dir, 'forging.key'),
    })
    stops.push(() => forging.stop())
    // An honest attestation reaches the forging relay by gossip (anyone may forward one).
    const feeder = await createModelexNode({ relays: [forging.multiaddr], runtime: 'node' })
    await feeder.start()
    stops.push(() => feeder.stop())
    feeder.libp2p.services.pubsub.subscribe(ATTESTATIONS_TOPIC)
    await until(
      () => feeder.libp2p.services.pubsub.getSubscribers(ATTESTATIONS_TOPIC).length > 0,
      15_000,
      'the feeder to see the forging relay on the topic',
    )
    await until(
      async () => {
        if (forging.metrics().latestAttestations.held > 0) return true
        await feeder.libp2p.services.pubsub
          .publish(ATTESTATIONS_TOPIC, encodeAttestation(published, domain))
          .catch(() => {})
        return forging.metrics().latestAttestations.held > 0
      },
      15_000,
      'the forging relay to cache the honest attestation',
    )

    const victim = await peer({ relays: [forging.multiaddr] })
    const kept: VerifiedAttestation = await victim.book.waitFor(
      (v) => v.attestation.evaluator === first.operator.address,
      15_000,
    )
    expect(kept.hash).toBe(published.hash)
    expect(kept.attestation.score).toBe(900_000)
    expect(victim.book.gate.counts.rejected).toBe(1)
    expect(victim.book.list()).toHaveLength(1)
    const again = await victim.book.backfill()
    // The forgery again (its signature does not match), the honest one now a duplicate.
    expect(again).toEqual({ relays: 1, accepted: 0, rejected: 1, ignored: 1 })
    expect(victim.book.list()[0]?.attestation.score).toBe(900_000)
  })

  test("a restart of the evaluator's book from the same store keeps what is pending and anchored, and sends no root twice", async () => {
    const { node, store } = evaluatorPeer
    const anchored = evaluatorPeer.book.batches()
    const waiting = evaluatorPeer.book.pending()
    expect(anchored.map((b) => b.status)).toEqual(['anchored'])
    expect(waiting).toHaveLength(1)
    const restart = async () => {
      await stopProofs()
      await evaluatorPeer.book.stop()
      evaluatorPeer.book = createAttestationBook(node, {
        domain,
        registry: registryAttestationChecks(publicClient, registry),
        store,
      })
      await evaluatorPeer.book.start()
      stopProofs = await serveAttestationProofs(node, evaluatorPeer.book)
    }
    await restart()
    expect(evaluatorPeer.book.pending()).toEqual(waiting)
    expect(evaluatorPeer.book.batches()).toEqual(anchored)
    expect(await onChain(first, published.hash, evaluatorPeer.book.proofOf(published.hash))).toBe(true)
    expect(await fetchAttestationProof(observer.node, node.peerId, waiting[0]!)).toEqual({ status: 'pending' })

    // The chain is unreachable: the batch is cut and stored (its root fixed), the error is typed, nothing is lost.
    const line = await tcpLine(deployment.rpcUrl)
    await line.cut()
    const failure = await evaluatorPeer.book
      .anchorPending(wallet(first.signer, line.url), anchor)
      .catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(AttestationAnchorError)
    expect((failure as AttestationAnchorError).reason).toBe('unreachable')
    const cut = evaluatorPeer.book.batches()[1]!
    expect(cut).toMatchObject({ status: 'cut', attestationHashes: waiting })
    expect(evaluatorPeer.book.pending()).toEqual([])
    // Meanwhile the root lands after all (a transaction whose reply was lost), and the evaluator restarts.
    await anchorAttestations(wallet(first.signer), { anchor, attestationHashes: cut.attestationHashes })
    await restart()
    expect(evaluatorPeer.book.batches()[1]).toEqual(cut)
    const [resumed, ...none] = await evaluatorPeer.book.anchorPending(wallet(first.signer), anchor)
    expect(none).toEqual([])
    // Recognised as anchored, with no second transaction.
    expect(resumed).toMatchObject({ root: cut.root, status: 'anchored' })
    expect(resumed?.transactionHash).toBeUndefined()
    expect(evaluatorPeer.book.batches().map((b) => b.status)).toEqual(['anchored', 'anchored'])
    expect(await onChain(first, waiting[0]!, evaluatorPeer.book.proofOf(waiting[0]!))).toBe(true)
    expect(await evaluatorPeer.book.anchorPending(wallet(first.signer), anchor)).toEqual([])
    await line.close()
  })

  describe('a book that anchors by itself', () => {
    let line: TcpLine
    let auto: Peer
    const own: Hex[] = []
    const publish = async (suite: AttestationSuite, score: number) => {
      const verified = await auto.book.publish(
        await signAttestation(second.signer, attestationBy(second, suite, score, 7), domain),
      )
      own.push(verified.hash)
      return verified
    }

    beforeAll(async () => {
      line = await tcpLine(deployment.rpcUrl)
      stops.push(() => line.close())
      auto = await peer({
        book: {
          anchoring: {
            client: wallet(second.signer, line.url),
            anchor,
            policy: { maxAttestations: 2, maxAgeMs: 3_600_000 },
            checkIntervalMs: 50,
            retryMs: 100,
            maxRetryMs: 400,
          },
        },
      })
    })

    test("anchors as soon as the policy's count is reached, and not before", async () => {
      await publish('uptime', 999_000)
      expect(auto.book.pending()).toEqual(own)
      expect(auto.book.batches()).toEqual([])
      await publish('sentiment', 700_000)
      await until(
        () => auto.book.batches()[0]?.status === 'anchored',
        15_000,
        'the batch to be anchored by the book itself',
      )
      const [batch] = auto.book.batches()
      expect(batch).toMatchObject({ attestationHashes: own, operator: second.operator.address })
      expect(auto.book.pending()).toEqual([])
      for (const hash of own) expect(await onChain(second, hash, auto.book.proofOf(hash))).toBe(true)
    })

    test('while the chain is down it fails with a typed error, keeps the batch and retries until it lands; it stops cleanly', async () => {
      await line.cut()
      const errors: AttestationAnchorError[] = []
      auto.book.onAnchorError((error) => errors.push(error))
      own.length = 0
      await publish('latency-p95', 900)
      await publish('spot-check', 1_000_000)
      await until(() => errors.length >= 2, 20_000, 'two failed attempts while the chain is down')
      expect(errors[0]).toBeInstanceOf(AttestationAnchorError)
      expect(errors[0]?.reason).toBe('unreachable')
      expect(auto.book.lastAnchorError?.root).toBe(auto.book.batches()[1]?.root)
      expect(auto.book.batches()[1]).toMatchObject({ status: 'cut', attestationHashes: own })
      expect(auto.book.pending()).toEqual([])
      await line.restore()
      await until(
        () => auto.book.batches()[1]?.status === 'anchored',
        20_000,
        'the retry to anchor the batch once the chain is back',
      )
      expect(auto.book.lastAnchorError).toBeNull()
      for (const hash of own) expect(await onChain(second, hash, auto.book.proofOf(hash))).toBe(true)
      await auto.book.stop()
      expect(auto.book.batches().map((b) => b.status)).toEqual(['anchored', 'anchored'])
    })
  })
})
