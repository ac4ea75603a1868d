/**
 * The SDK across a token split, on a chain of its own (a split changes every balance, so it does not share the suite's
 * anvil): a channel opened before the split counts in its own units, so a top-up after it must transfer whole units
 * (units × unitScale AI), and paying on that channel keeps working.
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestClient, createWalletClient, http, parseEther, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { writeContract, waitForTransactionReceipt } from 'viem/actions'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { getChannel } from '../chain/actions/getChannel.ts'
import { DEVNET_PARAMETERS } from '../chain/constants.ts'
import { aiTokenAbi } from '../chain/generated.ts'
import type { Deployment } from '../core/deployment.ts'
import { fundAccount, startPaidProvider, type PaidProvider } from '../node/testing.ts'
import { TEST_MODEL } from '../p2p/testing.ts'
import { DEVNET_PRIVATE_KEYS } from '../server/lib/anvil.ts'
import { startLocalChain, type LocalChain } from '../server/lib/local-chain.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { createClient, type ModelexClient } from './client.ts'

let dir: string
let local: LocalChain
let relay: RelayProcess
let provider: PaidProvider
let client: ModelexClient
let deployment: Deployment

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-split-'))
  local = await startLocalChain({ port: await freePort() })
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  deployment = { ...local.chain, relay: relay.multiaddr }
  provider = await startPaidProvider({ deployment, relay: relay.multiaddr, maxReceipts: 100 })
  const account = privateKeyToAccount(generatePrivateKey())
  await fundAccount(deployment, account.address, parseEther('10'))
  // A small deposit, so the second request needs a top-up.
  client = createClient({
    deployment,
    wallet: createWalletClient({ account, transport: http(deployment.rpcUrl), pollingInterval: 50 }),
    models: [{ id: TEST_MODEL.id, contentHash: TEST_MODEL.contentHash as Hex }],
    channelDeposit: 30_000_000_001n,
  })
})

afterAll(async () => {
  await client?.stop()
  await provider?.stop()
  await relay?.process.stop()
  await local?.anvil.stop()
  await rm(dir, { recursive: true, force: true })
})

test('after a split, the SDK tops up a channel opened before it in whole channel units and keeps paying on it', async () => {
  const node = provider.node.peerId.toString()
  const first = await client.completions.create({
    model: TEST_MODEL.id,
    prompt: 'before the split',
    max_tokens: 8,
    node,
  })
  const channels = deployment.contracts.PaymentChannels as Address
  const before = await getChannel(client.publicClient, { channels, channelId: first.modelex.channelId })
  expect(before.unitScale).toBe(1n)

  // The governor splits the token by 3; the pause ends after splitPauseBlocks.
  const governor = createWalletClient({
    account: privateKeyToAccount(DEVNET_PRIVATE_KEYS[0]),
    transport: http(deployment.rpcUrl),
  })
  const hash = await writeContract(governor, {
    address: deployment.contracts.AIToken as Address,
    abi: aiTokenAbi,
    functionName: 'startSplit',
    args: [3n],
    chain: null,
  })
  await waitForTransactionReceipt(client.publicClient, { hash })
  await createTestClient({ mode: 'anvil', transport: http(deployment.rpcUrl) }).mine({
    blocks: Number(DEVNET_PARAMETERS.splitPauseBlocks) + 1,
  })

  const second = await client.completions.create({
    model: TEST_MODEL.id,
    prompt: 'after the split, a longer answer that needs more than the deposit',
    max_tokens: 64,
    node,
  })
  expect(second.modelex.channelId).toBe(first.modelex.channelId)
  const after = await getChannel(client.publicClient, { channels, channelId: first.modelex.channelId })
  expect(after.unitScale).toBe(3n)
  expect(after.deposit).toBeGreaterThan(before.deposit)
  expect(second.modelex.receipt.receipt.cost).toBeGreaterThan(0n)
})
