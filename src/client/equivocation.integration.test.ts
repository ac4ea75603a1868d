/**
 * Equivocation end to end, on the integration suite's anvil and the real relay, from real receipts: a provider built
 * from the real code with one rule broken (its engine answers a deterministic request it has seen before
 * differently) serves the SDK the same request twice; the SDK finds the two contradicting receipts, proves them
 * on-chain from the consumer's wallet, the operator's stake is slashed and the consumer rewarded. The same through
 * `reportReceipt` (a receipt another consumer got, as a verifier hands it over). An honest provider serving the same
 * request twice signs the same output and is never flagged.
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, createWalletClient, http, parseEther, type Address } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { readContract } from 'viem/actions'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { equivocatingEngine, startRogueProvider, type RogueProvider } from '../adversarial/peers.ts'
import { getEquivocationProof } from '../chain/actions/proveEquivocation.ts'
import { DEVNET_PARAMETERS } from '../chain/constants.ts'
import { aiTokenAbi, nodeRegistryAbi } from '../chain/generated.ts'
import { EquivocationProofError } from '../core/errors/chain.ts'
import { fundAccount, startPaidProvider } from '../node/testing.ts'
import { TEST_MODEL, until } from '../p2p/testing.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { tcpLine } from '../server/testing/tcp-line.ts'
import type { KeyValueStore } from '../store/kv.ts'
import { memoryStore } from '../store/payments.ts'
import { createClient, type ModelexClient, type SlashReport } from './index.ts'

const deployment = inject('deployment')
const transport = http(deployment.rpcUrl)
const publicClient = createPublicClient({ transport, pollingInterval: 50 })
const anchor = deployment.contracts.ReceiptAnchor as Address
const registry = deployment.contracts.NodeRegistry as Address
const token = deployment.contracts.AIToken as Address

let dir: string
let relay: RelayProcess
const stops: (() => Promise<void>)[] = []

type ConsumerOptions = { key?: `0x${string}`; store?: KeyValueStore; walletRpc?: string }

async function consumer(
  onSlash?: (report: SlashReport) => void,
  { key = generatePrivateKey(), store = memoryStore(), walletRpc }: ConsumerOptions = {},
): Promise<{ client: ModelexClient; address: Address }> {
  const account = privateKeyToAccount(key)
  await fundAccount(deployment, account.address, parseEther('10'))
  const wallet = createWalletClient({
    account,
    transport: walletRpc ? http(walletRpc, { retryCount: 0 }) : transport,
    pollingInterval: 50,
  })
  const client = createClient({
    deployment,
    wallet,
    store,
    relay: relay.multiaddr,
    models: [{ id: TEST_MODEL.id, contentHash: TEST_MODEL.contentHash as `0x${string}` }],
    channelDeposit: parseEther('1'),
    finishAfterIdleMs: null,
    ...(onSlash ? { onSlash } : {}),
  })
  stops.push(() => client.stop())
  return { client, address: account.address }
}

async function rogue(): Promise<RogueProvider> {
  const provider = await startRogueProvider({ deployment, relay: relay.multiaddr, engine: equivocatingEngine })
  stops.push(() => provider.stop())
  return provider
}

const stakeOf = async (operator: Address) =>
  (
    await readContract(publicClient, {
      address: registry,
      abi: nodeRegistryAbi,
      functionName: 'getNode',
      args: [operator],
    })
  ).stake
const balanceAt = (address: Address, blockNumber: bigint) =>
  readContract(publicClient, {
    address: token,
    abi: aiTokenAbi,
    functionName: 'balanceOf',
    args: [address],
    blockNumber,
  })

/** One deterministic question, asked of one node. */
const question = (peer: string) => ({
  model: TEST_MODEL.id,
  messages: [{ role: 'user' as const, content: 'what is two and two?' }],
  max_tokens: 8,
  temperature: 0,
  seed: 42,
  node: peer,
})

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-equivocation-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
})

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('equivocation (integration)', () => {
  it("a node that answers one deterministic request two ways is slashed on the consumer's proof, and the consumer rewarded", async () => {
    const node = await rogue()
    const slashes: SlashReport[] = []
    const { client, address } = await consumer((report) => slashes.push(report))
    expect(await stakeOf(node.operator)).toBe(DEVNET_PARAMETERS.minStake)

    const first = await client.chat.completions.create(question(node.node.peerId.toString()))
    const second = await client.chat.completions.create(question(node.node.peerId.toString()))
    // Two real receipts, both signed deterministic by the node, for one request with different outputs.
    const [a, b] = [first.modelex.receipt.receipt, second.modelex.receipt.receipt]
    expect([a.deterministic, b.deterministic]).toEqual([true, true])
    expect(a.requestHash).toBe(b.requestHash)
    expect(a.outputHash).not.toBe(b.outputHash)

    await until(() => slashes.length > 0, 30_000, 'the slash')
    const [slash] = slashes
    expect(slash).toMatchObject({
      operator: node.operator,
      signer: node.signer,
      requestHash: a.requestHash,
      modelHash: a.modelHash,
      slashed: DEVNET_PARAMETERS.minStake,
    })
    expect(slash!.reward).toBeGreaterThan(0n)
    expect(await stakeOf(node.operator)).toBe(0n)
    // The reward reached the consumer's wallet in the proof's transaction.
    const proof = await getEquivocationProof(publicClient, { anchor, signer: node.signer, requestHash: a.requestHash })
    expect(proof).toMatchObject({
      transactionHash: slash!.transactionHash,
      prover: address,
      operator: node.operator,
      reward: slash!.reward,
    })
    expect((await balanceAt(address, proof!.blockNumber)) - (await balanceAt(address, proof!.blockNumber - 1n))).toBe(
      slash!.reward,
    )
    expect(await client.equivocations()).toEqual([expect.objectContaining({ status: 'proven', report: slash })])

    // The same contradiction reported again is the same slash, not a second submission.
    expect(await client.reportReceipt(second.modelex.receipt)).toEqual(slash)
  })

  it('a receipt handed over by a verifier completes the pair: reportReceipt proves it; proving it again is a typed refusal', async () => {
    const node = await rogue()
    const { client: victim } = await consumer()
    const { client: verifier, address: verifierAddress } = await consumer()
    const mine = await victim.chat.completions.create(question(node.node.peerId.toString()))
    const theirs = await verifier.chat.completions.create(question(node.node.peerId.toString()))
    expect(mine.modelex.receipt.receipt.outputHash).not.toBe(theirs.modelex.receipt.receipt.outputHash)
    expect(await victim.equivocations()).toEqual([])

    const slash = await victim.reportReceipt(theirs.modelex.receipt)
    expect(slash).toMatchObject({ operator: node.operator, signer: node.signer, slashed: DEVNET_PARAMETERS.minStake })
    expect(await stakeOf(node.operator)).toBe(0n)

    // The verifier holds the same evidence once it sees the victim's receipt; the chain refuses a second proof.
    const error = await verifier.reportReceipt(mine.modelex.receipt).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EquivocationProofError)
    expect(error).toMatchObject({ reason: 'already-proven' })
    expect(await verifier.equivocations()).toEqual([expect.objectContaining({ status: 'already-proven' })])
    expect(
      (
        await getEquivocationProof(publicClient, {
          anchor,
          signer: node.signer,
          requestHash: mine.modelex.receipt.receipt.requestHash,
        })
      )?.prover,
    ).not.toBe(verifierAddress)
  })

  it('a proof that cannot reach the chain is a typed error; the evidence is kept, survives a restart and is proven then', async () => {
    const node = await rogue()
    const line = await tcpLine(deployment.rpcUrl)
    stops.push(() => line.close())
    const key = generatePrivateKey()
    const store = memoryStore()
    const { client } = await consumer(undefined, { key, store, walletRpc: line.url })
    const peer = node.node.peerId.toString()
    await client.chat.completions.create(question(peer))
    await line.cut()
    const second = await client.chat.completions.create(question(peer))
    await until(
      async () => (await client.equivocations()).some((r) => r.error !== undefined),
      30_000,
      'the failed submission',
    )
    expect(await client.equivocations()).toEqual([expect.objectContaining({ status: 'pending' })])
    const error = await client.reportReceipt(second.modelex.receipt).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EquivocationProofError)
    expect(error).toMatchObject({ reason: 'unreachable', signer: node.signer })
    expect(await stakeOf(node.operator)).toBe(DEVNET_PARAMETERS.minStake)
    await client.stop()

    // The same consumer later, with the chain back: the stored evidence is submitted when the client starts.
    await line.restore()
    const slashes: SlashReport[] = []
    const { client: again } = await consumer((report) => slashes.push(report), { key, store, walletRpc: line.url })
    await again.start()
    await until(() => slashes.length > 0, 30_000, 'the retried proof')
    expect(slashes[0]).toMatchObject({
      operator: node.operator,
      signer: node.signer,
      slashed: DEVNET_PARAMETERS.minStake,
    })
    expect(await stakeOf(node.operator)).toBe(0n)
    expect(await again.equivocations()).toEqual([expect.objectContaining({ status: 'proven' })])
  })

  it('an honest node serving the same deterministic request twice signs the same output and is never flagged', async () => {
    const honest = await startPaidProvider({ deployment, relay: relay.multiaddr })
    stops.push(() => honest.stop())
    const slashes: SlashReport[] = []
    const { client } = await consumer((report) => slashes.push(report))
    const peer = honest.node.peerId.toString()
    const answers = [
      await client.chat.completions.create(question(peer)),
      await client.chat.completions.create(question(peer)),
    ]
    const receipts = answers.map((r) => r.modelex.receipt)
    expect(receipts.map((r) => r.receipt.deterministic)).toEqual([true, true])
    expect(receipts[1]!.receipt.outputHash).toBe(receipts[0]!.receipt.outputHash)
    // Without a seed the SDK draws one: each such request is its own, and reproducible.
    const { seed: _seed, ...unseededQuestion } = question(peer)
    const unseeded = await client.chat.completions.create(unseededQuestion)
    expect(unseeded.modelex.receipt.receipt.requestHash).not.toBe(receipts[0]!.receipt.requestHash)
    for (const receipt of receipts) expect(await client.reportReceipt(receipt)).toBeNull()
    expect(await client.retryEquivocations()).toEqual([])
    expect(await client.equivocations()).toEqual([])
    expect(slashes).toEqual([])
    expect(await stakeOf(honest.operator)).toBe(DEVNET_PARAMETERS.minStake)
  })

  it('a consumer that cancels a deterministic request early and asks again cannot get an honest node slashed', async () => {
    const honest = await startPaidProvider({ deployment, relay: relay.multiaddr, tokenDelayMs: 20 })
    stops.push(() => honest.stop())
    const { client } = await consumer()
    const peer = honest.node.peerId.toString()
    const cancel = new AbortController()
    const stream = await client.chat.completions.create({
      ...question(peer),
      max_tokens: 64,
      stream: true,
      signal: cancel.signal,
    })
    const cut = (async () => {
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) cancel.abort()
    })()
    await expect(stream.result).rejects.toMatchObject({ name: 'PaidRequestInterruptedError' })
    await cut.catch(() => {})
    const full = await client.chat.completions.create({ ...question(peer), max_tokens: 64 })
    const [partial] = (await client.receipts())
      .map((r) => r.receipt)
      .filter(
        (r) =>
          r.receipt.requestHash === full.modelex.receipt.receipt.requestHash &&
          r.receiptHash !== full.modelex.receipt.receiptHash,
      )
    // The node settled what it sent before the cancel: another output for the same request, and not deterministic.
    expect(partial?.receipt.outputHash).not.toBe(full.modelex.receipt.receipt.outputHash)
    expect(partial?.receipt.deterministic).toBe(false)
    expect(full.modelex.receipt.receipt.deterministic).toBe(true)
    expect(await client.reportReceipt(partial!)).toBeNull()
    expect(await client.equivocations()).toEqual([])
  })
})
