/**
 * The directory's registered mark from the real NodeRegistry on anvil: a provider whose operator registered its
 * signer and peer id is marked registered; one that did not is marked not registered.
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, createTestClient, createWalletClient, http, parseEther, type Address } from 'viem'
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { waitForTransactionReceipt, writeContract } from 'viem/actions'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { registerNode } from '../chain/actions/registerNode.ts'
import { signSignerBinding } from '../chain/actions/signSignerBinding.ts'
import { DEVNET_PARAMETERS } from '../chain/constants.ts'
import { aiTokenAbi } from '../chain/generated.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { peerIdBytes, registryLookup } from './registry.ts'
import { startConsumer, startProvider, TEST_MODEL, type Consumer, type Provider } from './testing.ts'

const deployment = inject('deployment')
const transport = http(deployment.rpcUrl)
const publicClient = createPublicClient({ transport, pollingInterval: 50 })

let dir: string
let relay: RelayProcess
const stops: (() => Promise<void>)[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-registry-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
})
afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  await rm(dir, { recursive: true, force: true })
})

test.skipIf(!deployment.contracts.NodeRegistry)(
  'registered and unregistered providers are marked as such',
  async () => {
    const registry = deployment.contracts.NodeRegistry as Address
    const token = deployment.contracts.AIToken as Address
    const registered: Provider = await startProvider({ relay: relay.multiaddr })
    const unregistered: Provider = await startProvider({ relay: relay.multiaddr })
    stops.push(
      () => registered.stop(),
      () => unregistered.stop(),
    )

    // The registered provider's operator is its signer here (startProvider uses one key for both).
    const operator = privateKeyToAccount(registered.signer.privateKey)
    await createTestClient({ mode: 'anvil', transport }).setBalance({
      address: operator.address,
      value: parseEther('10'),
    })
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
    const peerId = peerIdBytes(registered.node.peerId.toString())
    await registerNode(createWalletClient({ account: operator, transport, pollingInterval: 50 }), {
      token,
      registry,
      stake: DEVNET_PARAMETERS.minStake,
      signerProof: await signSignerBinding(publicClient, {
        registry,
        chainId: deployment.chainId,
        operator: operator.address,
        peerId,
        account: operator,
      }),
      node: {
        peerId,
        signer: registered.signer.address,
        models: [TEST_MODEL.contentHash as `0x${string}`],
        pricePerMillionInput: 1000n,
        pricePerMillionOutput: 1000n,
        metadataURI: '',
      },
    })

    const consumer: Consumer = await startConsumer({
      relay: relay.multiaddr,
      directory: { isRegistered: registryLookup(publicClient, registry) },
    })
    stops.push(() => consumer.stop())
    const yes = await consumer.directory.waitFor(
      (e) => e.peerId === registered.node.peerId.toString() && e.registered !== null,
      15_000,
    )
    const no = await consumer.directory.waitFor(
      (e) => e.peerId === unregistered.node.peerId.toString() && e.registered !== null,
      15_000,
    )
    expect(yes.registered).toBe(true)
    expect(no.registered).toBe(false)
  },
)
