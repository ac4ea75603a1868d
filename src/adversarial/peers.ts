/**
 * Malicious peers for the adversarial suite, built from the real protocol code with one rule broken: a provider
 * composed of the real books, cashier, infer server and announcer around an engine or a policy that cheats, and a
 * consumer that speaks the infer protocol with vouchers it signs itself. Nothing here is a stand-in for our own
 * components; the honest side of every attack is the stock SDK, gateway or provider.
 */
import '../server/lib/node-shims.ts'
import { createPublicClient, createWalletClient, http, type Address, type Hex, type LocalAccount } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { getChannel } from '../chain/actions/getChannel.ts'
import { openChannel } from '../chain/actions/openChannel.ts'
import { redeemVouchers } from '../chain/actions/redeemVouchers.ts'
import { signVoucher } from '../chain/actions/signVoucher.ts'
import { DEVNET_PARAMETERS } from '../chain/constants.ts'
import type { Deployment } from '../core/deployment.ts'
import type { InferenceEngine } from '../core/inference.ts'
import { encodePayment } from '../core/payment.ts'
import type { Prices } from '../core/quote.ts'
import type { TypedDataDomainParameters } from '../core/receipt.ts'
import { createMemoryEngine } from '../engine/memory/memory-engine.ts'
import { createBooks, type Books } from '../node/books.ts'
import { createCashier, type Cashier } from '../node/cashier.ts'
import { registerProvider } from '../node/register.ts'
import { fundAccount, TEST_PRICES } from '../node/testing.ts'
import { createAnnouncer } from '../p2p/announcer.ts'
import { createInferServer, type InferServer, type PaymentPolicy } from '../p2p/infer-server.ts'
import { createModelexNode, type ModelexNode } from '../p2p/node.ts'
import { TEST_MODEL } from '../p2p/testing.ts'
import { tcpLine, type TcpLine } from '../server/testing/tcp-line.ts'
import { memoryStore } from '../store/payments.ts'
import type { JsonValue } from '../core/errors/base.ts'

export type RogueProvider = {
  node: ModelexNode
  operator: Address
  signer: Address
  signerAccount: LocalAccount
  books: Books
  cashier: Cashier
  server: InferServer
  redeemAll(): Promise<bigint>
  stop(): Promise<void>
}

export type RogueProviderParameters = {
  deployment: Deployment
  relay: string
  /** Prices in the registry. */
  registered?: Prices
  /** Prices it announces and quotes (the rule broken when they differ from the registered ones). */
  served?: Prices
  /** Wraps the honest engine (an engine that lies about token counts, or ignores max_tokens). */
  engine?: (honest: InferenceEngine) => InferenceEngine
  /** Wraps the honest cashier (with the node's signer, to sign what the honest one would not). */
  policy?: (
    honest: Cashier,
    signer: { account: LocalAccount; receiptDomain: TypedDataDomainParameters },
  ) => PaymentPolicy
  tokenDelayMs?: number
}

/** A registered provider whose parts are the real ones but for the rule its parameters break. */
export async function startRogueProvider({
  deployment,
  relay,
  registered = TEST_PRICES,
  served = registered,
  engine: bend = (e) => e,
  policy = (c) => c,
  tokenDelayMs = 0,
}: RogueProviderParameters): Promise<RogueProvider> {
  const transport = http(deployment.rpcUrl)
  const operator = privateKeyToAccount(generatePrivateKey())
  const signerKey = generatePrivateKey()
  const signer = privateKeyToAccount(signerKey)
  await fundAccount(deployment, operator.address, DEVNET_PARAMETERS.minStake)
  await fundAccount(deployment, signer.address, 0n)
  const node = await createModelexNode({ relays: [relay], runtime: 'node' })
  await node.start()
  await node.waitForReservation(15_000)
  const honest = createMemoryEngine({ tokenDelayMs })
  await honest.load(TEST_MODEL)
  const engine = bend(honest)
  const reader = createPublicClient({ transport, pollingInterval: 50 })
  await registerProvider(createWalletClient({ account: operator, transport, pollingInterval: 50 }), reader, {
    deployment,
    signer,
    peerId: node.peerId.toString(),
    models: [TEST_MODEL.contentHash as Hex],
    prices: registered,
    stake: DEVNET_PARAMETERS.minStake,
  })
  const channels = deployment.contracts.PaymentChannels as Address
  const books = createBooks(memoryStore())
  await books.load()
  const cashier = createCashier(
    { engine, books, readChannel: (channelId) => getChannel(reader, { channels, channelId }) },
    {
      signer,
      operator: operator.address,
      prices: served,
      chainId: deployment.chainId,
      voucherDomain: { chainId: deployment.chainId, verifyingContract: channels },
      receiptDomain: { chainId: deployment.chainId, verifyingContract: deployment.contracts.ReceiptAnchor as Address },
    },
  )
  const server = createInferServer(node.libp2p, {
    engine,
    policy: policy(cashier, {
      account: signer,
      receiptDomain: { chainId: deployment.chainId, verifyingContract: deployment.contracts.ReceiptAnchor as Address },
    }),
  })
  await server.start()
  const announcer = createAnnouncer(node, {
    signer: { privateKey: signerKey, address: signer.address },
    operator: operator.address,
    chainId: deployment.chainId,
    intervalMs: 1_000,
    state: async () => ({
      models: [
        {
          id: TEST_MODEL.id,
          contentHash: TEST_MODEL.contentHash as Hex,
          engine: 'memory',
          contextLength: TEST_MODEL.contextLength,
          tokensPerSecond: 100,
        },
      ],
      pricePerMillionInput: served.pricePerMillionInput.toString(),
      pricePerMillionOutput: served.pricePerMillionOutput.toString(),
      capacity: 2,
      queueDepth: 0,
    }),
  })
  await announcer.start()
  const wallet = createWalletClient({ account: signer, transport, pollingInterval: 50 })
  return {
    node,
    operator: operator.address,
    signer: signer.address,
    signerAccount: signer,
    books,
    cashier,
    server,
    /** Takes everything it can: redeems the highest voucher of every channel, whatever the receipts say. */
    async redeemAll() {
      const vouchers = [...books.channels.values()]
        .filter((b) => b.voucher)
        .map((b) => ({
          voucher: { channelId: b.channelId, cumulativeAmount: b.voucher!.cumulativeAmount },
          signature: b.voucher!.signature,
        }))
      if (vouchers.length === 0) return 0n
      return (await redeemVouchers(wallet, { channels, vouchers })).paid
    },
    async stop() {
      await announcer.stop().catch(() => {})
      await server.stop().catch(() => {})
      await node.stop().catch(() => {})
    },
  }
}

/** A consumer that opens its own channel and signs its own vouchers, to speak the infer protocol its own way. */
export async function rogueConsumer(deployment: Deployment, operator: Address, deposit: bigint) {
  const transport = http(deployment.rpcUrl)
  const account = privateKeyToAccount(generatePrivateKey())
  await fundAccount(deployment, account.address, deposit)
  const wallet = createWalletClient({ account, transport, pollingInterval: 50 })
  const channels = deployment.contracts.PaymentChannels as Address
  const { channelId } = await openChannel(wallet, {
    token: deployment.contracts.AIToken as Address,
    channels,
    node: operator,
    deposit,
  })
  return {
    account,
    wallet,
    channelId,
    async payment(cumulativeAmount: bigint): Promise<JsonValue> {
      const { signature } = await signVoucher(wallet, {
        channels,
        chainId: deployment.chainId,
        voucher: { channelId, cumulativeAmount },
      })
      return encodePayment({
        chainId: deployment.chainId,
        channels,
        voucher: { channelId, cumulativeAmount },
        signature,
      })
    },
  }
}

/**
 * A line to the chain's RPC that delays every request by `delayMs`, like a distant public RPC: it widens the window
 * in which a node waits on the chain, which is where races between concurrent requests live.
 */
export function slowRpc(rpcUrl: string, delayMs: number): Promise<TcpLine> {
  return tcpLine(rpcUrl, { delayMs })
}

/**
 * An engine that answers a deterministic request it has answered before differently: the second time it samples
 * (temperature 0.7, another seed) instead of decoding greedily, while its model still claims reproducible output, so
 * its cashier signs both receipts `deterministic`. The rule broken: same request and seed, same bytes.
 */
export function equivocatingEngine(honest: InferenceEngine): InferenceEngine {
  const seen = new Set<string>()
  const bend = <T extends { temperature?: number; seed?: number }>(request: T): T => {
    const key = JSON.stringify(request)
    if (!seen.has(key)) {
      seen.add(key)
      return request
    }
    return { ...request, temperature: 0.7, seed: (request.seed ?? 0) + 1 }
  }
  return {
    ...honest,
    chat: (request, options) => honest.chat(bend(request), options),
    complete: (request, options) => honest.complete(bend(request), options),
  }
}
