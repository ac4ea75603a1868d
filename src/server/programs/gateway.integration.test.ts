/**
 * The gateway's paid network route, in Node on the integration suite's anvil and a real relay: the official `openai`
 * client asks the gateway, the gateway pays a registered provider (in-memory engine) through the SDK, and the
 * answer carries its cost and verified receipt. Channels persist in the gateway's state file across restarts.
 * Refusals: no wallet (503), no node for the model (503), a wallet that cannot pay (402), a node that asks more than
 * the gateway's spend limits (402 `spend_limit`).
 */
import '../lib/node-shims.ts'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { createWalletClient, http, parseEther, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { WalletClient } from '../../chain/actions/internal.ts'
import { fundAccount, startPaidProvider, TEST_PRICES, type PaidProvider } from '../../node/testing.ts'
import { TEST_MODEL } from '../../p2p/testing.ts'
import { jsonFileStore } from '../../store/file-store.ts'
import { startGateway, type Gateway, type GatewayNetwork } from './gateway.ts'
import type { PaidSummary } from './gateway-openai.ts'
import { freePort } from '../lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../lib/relay-process.ts'

const deployment = inject('deployment')
const models = [{ id: TEST_MODEL.id, contentHash: TEST_MODEL.contentHash as Hex }]

let dir: string
let relay: RelayProcess
let provider: PaidProvider
let peer: string
const gateways: Gateway[] = []

async function fundedWallet(ai: bigint): Promise<WalletClient> {
  const account = privateKeyToAccount(generatePrivateKey())
  await fundAccount(deployment, account.address, ai)
  return createWalletClient({ account, transport: http(deployment.rpcUrl), pollingInterval: 50 }) as WalletClient
}

async function gatewayWith(
  network: Partial<GatewayNetwork> & { wallet: WalletClient },
  stateFile = join(dir, 'state.json'),
): Promise<{ gateway: Gateway; openai: OpenAI }> {
  const gateway = await startGateway({
    port: 0,
    route: 'network',
    network: { deployment, models, store: jsonFileStore(stateFile), channelDeposit: parseEther('1'), ...network },
  })
  gateways.push(gateway)
  return {
    gateway,
    openai: new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token, maxRetries: 0, timeout: 60_000 }),
  }
}

/** Our routing fields ride in the body, as an editor's "extra body" setting sends them. */
const routed = <T extends object>(body: T) => ({ ...body, modelex_node: peer }) as T

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-gateway-paid-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  provider = await startPaidProvider({
    deployment: { ...deployment, relay: relay.multiaddr },
    relay: relay.multiaddr,
    maxReceipts: 100,
  })
  peer = provider.node.peerId.toString()
})

afterAll(async () => {
  for (const gateway of gateways.splice(0)) await gateway.close().catch(() => {})
  await provider?.stop()
  await relay?.process.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('gateway network route (paid)', () => {
  it('pays a network node for a fill-in-the-middle completion and a streamed chat; receipts check out; the channel survives a restart', async () => {
    const wallet = await fundedWallet(parseEther('10'))
    const { gateway, openai } = await gatewayWith({ wallet, deployment: { ...deployment, relay: relay.multiaddr } })

    const listed = await openai.models.list()
    expect(listed.data.map((m) => m.id)).toContain(TEST_MODEL.id)

    const completion = (await openai.completions.create(
      routed({ model: TEST_MODEL.id, prompt: 'def add(a, b):\n', suffix: '\nprint(add(1, 2))\n', max_tokens: 6 }),
    )) as OpenAI.Completion & { modelex: PaidSummary }
    expect(completion.choices[0]?.text.length).toBeGreaterThan(0)
    expect(completion.usage?.completion_tokens).toBe(6)
    expect(completion.modelex.peer).toBe(peer)
    expect(completion.modelex.signer).toBe(provider.signer)
    // The cost is the signed receipt's: the node's prices on the quoted input tokens and the 6 output tokens (rounded up to whole wei).
    const [first] = (await gateway.client?.receipts()) ?? []
    expect(first?.receipt.receiptHash).toBe(completion.modelex.receipt_hash)
    expect(first?.receipt.receipt.completionTokens).toBe(6n)
    expect(BigInt(completion.modelex.cost)).toBe(first?.receipt.receipt.cost)
    expect(BigInt(completion.modelex.cost)).toBe(
      (BigInt(completion.modelex.quoted_input_tokens) * TEST_PRICES.pricePerMillionInput +
        6n * TEST_PRICES.pricePerMillionOutput +
        999_999n) /
        1_000_000n,
    )
    expect(BigInt(completion.modelex.cost)).toBe(BigInt(completion.modelex.max_cost))

    const stream = await openai.chat.completions.create(
      routed({
        model: TEST_MODEL.id,
        messages: [{ role: 'user' as const, content: 'stream, please' }],
        max_tokens: 5,
        stream: true as const,
        stream_options: { include_usage: true },
      }),
    )
    let text = ''
    let paid: PaidSummary | undefined
    let usage: OpenAI.CompletionUsage | undefined
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ''
      paid ??= (chunk as unknown as { modelex?: PaidSummary }).modelex
      usage ??= chunk.usage ?? undefined
    }
    expect(text.length).toBeGreaterThan(0)
    expect(usage?.completion_tokens).toBe(5)
    expect(paid?.channel_id).toBe(completion.modelex.channel_id)

    // Both receipts are the SDK's, kept with the channel in the gateway's state file.
    const receipts = await gateway.client?.receipts()
    expect(receipts?.map((r) => r.receipt.receiptHash)).toEqual([completion.modelex.receipt_hash, paid?.receipt_hash])
    expect(await readFile(join(dir, 'state.json'), 'utf8')).toContain(completion.modelex.receipt_hash)

    // A new gateway on the same state file pays on the same channel instead of opening another.
    await gateway.close()
    const again = await gatewayWith({ wallet, deployment: { ...deployment, relay: relay.multiaddr } })
    const third = (await again.openai.completions.create(
      routed({ model: TEST_MODEL.id, prompt: 'third', max_tokens: 3 }),
    )) as OpenAI.Completion & { modelex: PaidSummary }
    expect(third.modelex.channel_id).toBe(completion.modelex.channel_id)
    expect((await again.gateway.client?.receipts())?.length).toBe(3)
  })

  it('refuses clearly: no wallet (503), no node for the model (503), a wallet that cannot pay (402)', async () => {
    const walletless = await startGateway({ port: 0, relay: relay.multiaddr })
    gateways.push(walletless)
    const refused = (response: Response) =>
      response.json() as Promise<{ error: { code: string; message: string; type: string } }>
    const asked = await fetch(`${walletless.url}/v1/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${walletless.token}` },
      body: JSON.stringify({ model: TEST_MODEL.id, prompt: 'x', modelex_route: 'network' }),
    })
    expect(asked.status).toBe(503)
    expect((await refused(asked)).error.code).toBe('NetworkRouteUnavailableError')

    const { openai } = await gatewayWith(
      { wallet: await fundedWallet(parseEther('10')), deployment: { ...deployment, relay: relay.multiaddr } },
      join(dir, 'other.json'),
    )
    const unknown = (await openai.completions
      .create({ model: 'no-such-model', prompt: 'x', max_tokens: 2 })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>
    expect(unknown.status).toBe(503)
    expect(unknown.message).toMatch(/NoNodeAvailableError/)

    const broke = await gatewayWith(
      { wallet: await fundedWallet(0n), deployment: { ...deployment, relay: relay.multiaddr } },
      join(dir, 'broke.json'),
    )
    const poor = (await broke.openai.completions
      .create(routed({ model: TEST_MODEL.id, prompt: 'x', max_tokens: 2 }))
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>
    expect(poor.status).toBe(402)
    expect((poor.error as { type?: string }).type).toBe('payment_required')
    // Nothing was paid, and the provider is unharmed: the funded gateway still gets answers.
    expect(await broke.gateway.client?.receipts()).toEqual([])
    const served = provider.service.metrics().jobsServed
    const ok = (await openai.completions.create(
      routed({ model: TEST_MODEL.id, prompt: 'still here', max_tokens: 2 }),
    )) as OpenAI.Completion & { modelex: PaidSummary }
    expect(ok.modelex.peer).toBe(peer)
    expect(provider.service.metrics().jobsServed).toBe(served + 1)
  })

  it('refuses a node that asks more than the spend limits: 402 spend_limit naming the flag, nothing paid', async () => {
    // The test provider's quote for any request is far above 1 wei.
    const { gateway, openai } = await gatewayWith(
      {
        wallet: await fundedWallet(parseEther('10')),
        limits: { maxSpendPerRequest: 1n },
        deployment: { ...deployment, relay: relay.multiaddr },
      },
      join(dir, 'limited.json'),
    )
    const refused = (await openai.completions
      .create(routed({ model: TEST_MODEL.id, prompt: 'x', max_tokens: 2 }))
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>
    expect(refused.status).toBe(402)
    expect(refused.code).toBe('spend_limit')
    expect(refused.message).toMatch(/maxSpendPerRequest.*--max-spend-per-request/s)
    expect(await gateway.client?.receipts()).toEqual([])
    expect(await gateway.client?.channels()).toEqual({})
  })
})
