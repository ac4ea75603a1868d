/**
 * Helpers for Node tests of the paid flow on a real chain (the integration suite's anvil) and relay: fund an
 * account from anvil's test accounts, and start a registered provider service with the in-memory engine. Nothing
 * here is a double: the provider is the production service, registered on-chain.
 */
import { createPublicClient, createTestClient, createWalletClient, http, parseEther, type Address } from 'viem'
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { waitForTransactionReceipt, writeContract } from 'viem/actions'
import { DEVNET_PARAMETERS } from '../chain/constants.ts'
import { DEVNET_MNEMONIC } from '../chain/devnet-faucet.ts'
import { aiTokenAbi } from '../chain/generated.ts'
import type { Deployment } from '../core/deployment.ts'
import type { InferenceEngine } from '../core/inference.ts'
import { createMemoryEngine } from '../engine/memory/memory-engine.ts'
import type { InferServerLimits } from '../p2p/infer-server.ts'
import type { ModelexNode } from '../p2p/node.ts'
import { createPeer, type Peer } from '../p2p/peer.ts'
import { TEST_MODEL } from '../p2p/testing.ts'
import { memoryStore } from '../store/payments.ts'
import type { OracleOptions } from './oracle.ts'
import { createProviderService, type ProviderService } from './provider.ts'
import { registerProvider } from './register.ts'

/** Test prices (AI wei per million tokens). */
export const TEST_PRICES = { pricePerMillionInput: 10n ** 15n, pricePerMillionOutput: 3n * 10n ** 15n }

/** The anvil test account that funds test accounts with AI. */
const TEST_FUNDER = 8

/** Gives `address` 10 ETH (anvil's setBalance) and `ai` AI from an anvil test account. */
export async function fundAccount(deployment: Deployment, address: Address, ai: bigint): Promise<void> {
  const transport = http(deployment.rpcUrl)
  await createTestClient({ mode: 'anvil', transport }).setBalance({ address, value: parseEther('10') })
  if (ai === 0n) return
  const funder = createWalletClient({
    account: mnemonicToAccount(DEVNET_MNEMONIC, { addressIndex: TEST_FUNDER }),
    transport,
  })
  const hash = await writeContract(funder, {
    address: deployment.contracts.AIToken as Address,
    abi: aiTokenAbi,
    functionName: 'transfer',
    args: [address, ai],
    chain: null,
  })
  await waitForTransactionReceipt(createPublicClient({ transport, pollingInterval: 50 }), { hash })
}

/**
 * The in-memory engine with TEST_MODEL loaded, recording what each completion asks of it: the request's seed and
 * whether the node let it reuse a cached prefix.
 */
export async function completionRecordingEngine(): Promise<{
  engine: InferenceEngine
  asked: { seed: number | undefined; reusePrefix: boolean }[]
}> {
  const engine = createMemoryEngine()
  await engine.load(TEST_MODEL)
  const asked: { seed: number | undefined; reusePrefix: boolean }[] = []
  const complete = engine.complete.bind(engine)
  engine.complete = (request, options) => {
    asked.push({ seed: request.seed, reusePrefix: options?.reusePrefix === true })
    return complete(request, options)
  }
  return { engine, asked }
}

export type PaidProvider = {
  service: ProviderService
  node: ModelexNode
  peer: Peer
  operator: Address
  signer: Address
  restart(): Promise<ProviderService>
  stop(): Promise<void>
}

export type PaidProviderParameters = {
  deployment: Deployment
  /** The relay, or every relay of a federated deployment (the node keeps one, chosen by its peer id). */
  relay: string | readonly string[]
  tokenDelayMs?: number
  /** Receipts per anchored batch. */
  maxReceipts?: number
  /** The provider's RPC (a line that can be cut, in fault tests). */
  rpcUrl?: string
  redeemThreshold?: bigint
  prices?: { pricePerMillionInput: bigint; pricePerMillionOutput: bigint }
  /** A loaded engine to serve instead of the in-memory one with TEST_MODEL; it registers the model it reports. */
  engine?: InferenceEngine
  /** Oracle work to opt in to (see `ProviderInit.oracle`). */
  oracle?: OracleOptions
  /** The infer server's limits (a one-slot node: `{ capacity: 1, maxQueue: 0 }`). */
  limits?: Partial<InferServerLimits>
}

/** A provider with a fresh operator and signer, staked and registered for TEST_MODEL, online on the relay. */
export async function startPaidProvider({
  deployment,
  relay,
  tokenDelayMs = 0,
  maxReceipts = 3,
  rpcUrl = deployment.rpcUrl,
  redeemThreshold = 10n ** 30n,
  prices = TEST_PRICES,
  engine: given,
  oracle,
  limits,
}: PaidProviderParameters): Promise<PaidProvider> {
  const transport = http(deployment.rpcUrl)
  const operator = privateKeyToAccount(generatePrivateKey())
  const signerKey = generatePrivateKey()
  const signer = { privateKey: signerKey, address: privateKeyToAccount(signerKey).address }
  await fundAccount(deployment, operator.address, DEVNET_PARAMETERS.minStake)
  await fundAccount(deployment, signer.address, 0n)
  const peer = await createPeer({
    relays: typeof relay === 'string' ? [relay] : [...relay],
    node: { runtime: 'node' },
    ...(limits ? { limits } : {}),
  })
  const node = peer.node
  await node.waitForReservation(15_000)
  const engine = given ?? createMemoryEngine({ tokenDelayMs })
  if (!given) await engine.load(TEST_MODEL)
  const served = await engine.current()
  if (!served) throw new Error('startPaidProvider: the engine has no model loaded')
  await registerProvider(
    createWalletClient({ account: operator, transport, pollingInterval: 50 }),
    createPublicClient({ transport, pollingInterval: 50 }),
    {
      deployment,
      signer: privateKeyToAccount(signerKey),
      peerId: node.peerId.toString(),
      models: [served.contentHash as `0x${string}`],
      prices,
      stake: DEVNET_PARAMETERS.minStake,
    },
  )
  const store = memoryStore()
  const create = () =>
    createProviderService(
      { peer, engine, deployment, transport: http(rpcUrl, { retryCount: 0 }), store },
      {
        signer,
        operator: operator.address,
        prices,
        batch: { maxReceipts, maxAgeMs: 60 * 60_000 },
        redeemThreshold,
        tickMs: 100,
        closeWatchMs: 100,
        announceIntervalMs: 1_000,
        ...(oracle ? { oracle } : {}),
      },
    )
  let service = create()
  await service.start()
  return {
    get service() {
      return service
    },
    node,
    peer,
    operator: operator.address,
    signer: signer.address,
    async restart() {
      await service.stop()
      service = create()
      await service.start()
      return service
    },
    async stop() {
      await service.stop().catch(() => {})
      await peer.stop().catch(() => {})
    },
  }
}
