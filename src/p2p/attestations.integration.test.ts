/**
 * Attestations end to end, on the real relay (child process) and the real contracts on anvil: two evaluators and
 * one evaluated node registered in the NodeRegistry (each operator with its own node signer), an observer peer
 * with an AttestationBook reading the registry. A registered evaluator's attestation is gossiped, validated and
 * stored; forged ones (bad signature, signer not bound to the evaluator) and replayed ones are refused; the evaluator
 * anchors its batch through ReceiptAnchor and the inclusion proof verifies on-chain; the reputation becomes known
 * only once a second independent evaluator agrees.
 */
import '../server/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, createTestClient, createWalletClient, http, parseEther, toHex, type Address, type Hex, type PrivateKeyAccount } from 'viem'
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { waitForTransactionReceipt, writeContract } from 'viem/actions'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { registerNode } from '../chain/actions/registerNode.ts'
import { signSignerBinding } from '../chain/actions/signSignerBinding.ts'
import { verifyAttestationAnchor } from '../chain/actions/verifyAttestationAnchor.ts'
import { DEVNET_PARAMETERS } from '../chain/constants.ts'
import { aiTokenAbi } from '../chain/generated.ts'
import { encodeAttestation, signAttestation, type Attestation, type AttestationSuite } from '../core/attestation.ts'
import { InvalidAttestationError } from '../core/errors/p2p.ts'
import { freePort } from '../server/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/relay-process.ts'
import { deployedContract } from '../server/testing/contracts.ts'
import { createAttestationBook, registryAttestationChecks, type AttestationBook } from './attestations.ts'
import { ATTESTATIONS_TOPIC } from './constants.ts'
import { createModelexNode, type ModelexNode } from './node.ts'
import { until } from './testing.ts'

const deployment = inject('deployment')
const transport = http(deployment.rpcUrl)
const publicClient = createPublicClient({ transport, pollingInterval: 50 })
const MODEL: Hex = `0x${'5a'.repeat(32)}`

type Registered = { operator: PrivateKeyAccount; signer: PrivateKeyAccount }
type Peer = { node: ModelexNode; book: AttestationBook }

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
const stops: (() => Promise<void>)[] = []

async function register(tag: string): Promise<Registered> {
  const operator = privateKeyToAccount(generatePrivateKey())
  const signer = privateKeyToAccount(generatePrivateKey())
  const testClient = createTestClient({ mode: 'anvil', transport })
  await testClient.setBalance({ address: operator.address, value: parseEther('10') })
  await testClient.setBalance({ address: signer.address, value: parseEther('10') })
  const token = deployedContract(deployment, 'AIToken')
  const funder = createWalletClient({ account: mnemonicToAccount('test test test test test test test test test test test junk', { addressIndex: 8 }), transport })
  await waitForTransactionReceipt(publicClient, { hash: await writeContract(funder, { address: token, abi: aiTokenAbi, functionName: 'transfer', args: [operator.address, DEVNET_PARAMETERS.minStake], chain: null }) })
  const peerId = toHex(`attestations-test-${tag}-${operator.address}`)
  await registerNode(createWalletClient({ account: operator, transport, pollingInterval: 50 }), {
    token,
    registry,
    stake: DEVNET_PARAMETERS.minStake,
    signerProof: await signSignerBinding(publicClient, { registry, chainId: deployment.chainId, operator: operator.address, peerId, account: signer }),
    node: { peerId, signer: signer.address, models: [MODEL], pricePerMillionInput: 1n, pricePerMillionOutput: 1n, metadataURI: '' },
  })
  return { operator, signer }
}

async function peer(): Promise<Peer> {
  const node = await createModelexNode({ relays: [relay.multiaddr], runtime: 'node' })
  await node.start()
  const book = createAttestationBook(node, { domain, registry: registryAttestationChecks(publicClient, registry) })
  await book.start()
  stops.push(async () => {
    await book.stop()
    await node.stop()
  })
  return { node, book }
}

/** Until the relay and the peer have grafted each other on the topic: a publication before that could go nowhere. */
async function meshed(node: ModelexNode): Promise<void> {
  await until(() => (node.libp2p.services.pubsub as unknown as { getMeshPeers(t: string): string[] }).getMeshPeers(ATTESTATIONS_TOPIC).includes(relay.peerId), 15_000, 'the relay in the mesh of the attestation topic')
}

function attestationBy(evaluator: Registered, suite: AttestationSuite, score: number, nonce: number): Attestation {
  const now = Math.floor(Date.now() / 1000)
  return { evaluator: evaluator.operator.address, node: evaluated.operator.address, modelHash: MODEL, suite, score, sampleSize: 40, windowStart: now - 600, windowEnd: now - 1, nonce }
}

async function relayCounts(): Promise<{ accepted: number; rejected: number; ignored: number }> {
  return ((await relay.metrics())['attestations'] as { accepted: number; rejected: number; ignored: number } | undefined) ?? { accepted: 0, rejected: 0, ignored: 0 }
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
  secondPeer = await peer()
  observer = await peer()
  rogue = await createModelexNode({ relays: [relay.multiaddr], runtime: 'node' })
  await rogue.start()
  stops.push(() => rogue.stop())
  await Promise.all([evaluatorPeer, secondPeer, observer].map((p) => meshed(p.node)))
  await until(() => rogue.libp2p.services.pubsub.getSubscribers(ATTESTATIONS_TOPIC).length > 0, 15_000, 'the rogue to see the relay on the topic')
}, 120_000)

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('attestations', () => {
  let published: Awaited<ReturnType<AttestationBook['publish']>>

  test('a registered evaluator publishes; another peer receives, validates and stores it; one evaluator leaves the node unknown', async () => {
    published = await evaluatorPeer.book.publish(await signAttestation(first.signer, attestationBy(first, 'fim-exact', 900_000, 1), domain))
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
    const badSignature = { ...(await signAttestation(impostor, attestationBy(first, 'uptime', 0, 5), domain)), signer: first.signer.address }
    expect(await reasonOf(observer.book.gate.validator.validate(encodeAttestation(badSignature, domain)))).toBe('signer-mismatch')
    await rogue.libp2p.services.pubsub.publish(ATTESTATIONS_TOPIC, encodeAttestation(badSignature, domain))
    await until(async () => (await relayCounts()).rejected > relayBefore.rejected, 10_000, 'the relay to reject the bad signature')

    // Correctly signed, but by a key the registry does not bind to the evaluator it names: the relay cannot tell
    // (no chain view) and forwards it; the observer checks the registry and drops it without blaming the relay.
    const unbound = await signAttestation(impostor, attestationBy(first, 'uptime', 0, 6), domain)
    const observerBefore = observer.book.gate.counts.ignored
    await rogue.libp2p.services.pubsub.publish(ATTESTATIONS_TOPIC, encodeAttestation(unbound, domain))
    await until(() => observer.book.gate.counts.ignored > observerBefore, 10_000, 'the observer to drop the unbound signer')
    expect(await reasonOf(observer.book.gate.validator.validate(encodeAttestation(unbound, domain)))).toBe('unbound-signer')
    expect(observer.book.list({ evaluator: first.operator.address }).map((v) => v.attestation.suite)).toEqual(['fim-exact'])
    expect(observer.book.gate.counts.rejected).toBe(0)
  })

  test('replayed attestations are refused: the same one again, and another with the same nonce', async () => {
    const before = await relayCounts()
    await rogue.libp2p.services.pubsub.publish(ATTESTATIONS_TOPIC, encodeAttestation(published, domain))
    const sameNonce = await signAttestation(first.signer, { ...published.attestation, score: 100_000 }, domain)
    await rogue.libp2p.services.pubsub.publish(ATTESTATIONS_TOPIC, encodeAttestation(sameNonce, domain))
    await until(async () => (await relayCounts()).ignored >= before.ignored + 2, 10_000, 'the relay to drop both replays')
    expect(await reasonOf(observer.book.gate.validator.validate(encodeAttestation(published, domain)))).toBe('duplicate')
    expect(await reasonOf(observer.book.gate.validator.validate(encodeAttestation(sameNonce, domain)))).toBe('replayed')
    expect(observer.book.list({ evaluator: first.operator.address })[0]?.attestation.score).toBe(900_000)
  })

  test('the evaluator anchors its batch through ReceiptAnchor and the inclusion proof verifies on-chain', async () => {
    const more = await evaluatorPeer.book.publish(await signAttestation(first.signer, attestationBy(first, 'uptime', 990_000, 2), domain))
    expect(evaluatorPeer.book.pending()).toEqual([published.hash, more.hash])
    const batch = await evaluatorPeer.book.anchorPending(createWalletClient({ account: first.signer, transport, pollingInterval: 50 }), anchor)
    expect(batch).toMatchObject({ count: 2, operator: first.operator.address })
    expect(evaluatorPeer.book.pending()).toEqual([])
    for (const hash of [published.hash, more.hash]) {
      const proof = evaluatorPeer.book.proofOf(hash)
      expect(proof?.root).toBe(batch?.root)
      expect(await verifyAttestationAnchor(publicClient, { anchor, evaluator: first.operator.address, root: proof!.root, attestationHash: hash, proof: proof!.proof })).toBe(true)
      // Anchored for the first evaluator only.
      expect(await verifyAttestationAnchor(publicClient, { anchor, evaluator: second.operator.address, root: proof!.root, attestationHash: hash, proof: proof!.proof })).toBe(false)
    }
    const proof = evaluatorPeer.book.proofOf(published.hash)!
    expect(await verifyAttestationAnchor(publicClient, { anchor, evaluator: first.operator.address, root: proof.root, attestationHash: `0x${'00'.repeat(32)}`, proof: proof.proof })).toBe(false)
  })

  test('the reputation becomes known once a second independent evaluator agrees', async () => {
    const agreeing = await secondPeer.book.publish(await signAttestation(second.signer, attestationBy(second, 'fim-exact', 860_000, 1), domain))
    await observer.book.waitFor((v) => v.hash === agreeing.hash, 15_000)
    const reputation = await observer.book.reputation(evaluated.operator.address, MODEL)
    expect(reputation.status).toBe('known')
    expect(reputation.suites['fim-exact']).toMatchObject({ score: 880_000, evaluators: 2, agreeing: 2 })
    expect(reputation.score).toBe(88)
    expect(reputation.confidence).toBeGreaterThan(0)
    // Uptime has one evaluator only: still unknown, and not counted against the node.
    expect(reputation.suites.uptime.score).toBeNull()
  })
})
