/**
 * One peer that serves two kinds of callers on one node, as the app does: its user's gateway, paired, free (the
 * Code view's engine), and strangers for pay (the provider's engine) — over a real relay child process, with the
 * production pairing service and infer server. The payment policy here is a stand-in that asks for the payment
 * `"paid"` (the real cashier is exercised through `src/node/paid.integration.test.ts`, which runs on `createPeer`).
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createPairingService, pair, type PairingService } from '../autocomplete/pairing.ts'
import { PaymentRefusedError } from '../core/errors/payments.ts'
import type { Delta, InferenceEngine, InferenceRequest, ModelSpec } from '../core/inference.ts'
import { createMemoryEngine } from '../engine/memory/memory-engine.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { askQuote, infer } from './infer-client.ts'
import { forModelOf, type PaymentPolicy } from './infer-server.ts'
import { createPeer, type Peer } from './peer.ts'
import { TEST_MODEL } from './testing.ts'

const CODER: ModelSpec = { ...TEST_MODEL, id: 'memory-coder', contentHash: `0x${'22'.repeat(32)}` }
const TOKEN = 'a-pairing-token-of-some-length'
const chat = (model: string): InferenceRequest => ({
  kind: 'chat',
  model,
  messages: [{ role: 'user', content: 'hi' }],
  max_tokens: 8,
  temperature: 0,
  seed: 0,
})

let dir: string
let relay: RelayProcess
let peer: Peer
let gateway: Peer
let stranger: Peer
let provider: InferenceEngine
let coder: InferenceEngine
let pairing: PairingService

/** Pays with the string "paid"; quotes "q". */
const payment: PaymentPolicy = {
  async admit({ payment: paid }) {
    if (paid !== 'paid') throw new PaymentRefusedError({ details: 'pay first', quote: 'q' })
    return { quote: 'q', settle: async () => 'receipt', release() {} }
  },
  quote: async () => 'q',
}

async function ask(from: Peer, model: string, paid: string | null = null): Promise<{ text: string; receipt: unknown }> {
  const call = infer(from.node, { peer: peer.node.peerId, request: chat(model), payment: paid })
  let text = ''
  for await (const delta of call as AsyncIterable<Delta>) text += delta.text
  return { text, receipt: (await call.result).receipt }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-peer-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  const relays = [relay.multiaddr]
  ;[peer, gateway, stranger] = await Promise.all([
    createPeer({ relays, node: { runtime: 'node' } }),
    createPeer({ relays, node: { runtime: 'node' } }),
    createPeer({ relays, node: { runtime: 'node' } }),
  ])
  await peer.node.waitForReservation(15_000)
  provider = createMemoryEngine()
  await provider.load(TEST_MODEL)
  coder = createMemoryEngine()
  await coder.load(CODER)
  pairing = createPairingService(peer.node.libp2p, { token: TOKEN, engine: coder, hasFim: () => true })
  await pairing.start()
})

afterAll(async () => {
  await pairing?.stop()
  for (const p of [stranger, gateway, peer]) await p?.stop().catch(() => {})
  await relay?.process.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('createPeer: one infer server, an engine slot and a policy chain', () => {
  test('with no engine and no policy, requests are refused (UNSUPPORTED_MODEL, then PAYMENT_REQUIRED)', async () => {
    await expect(ask(stranger, TEST_MODEL.id)).rejects.toMatchObject({ code: 'UNSUPPORTED_MODEL' })
    peer.serve(provider)
    await expect(ask(stranger, TEST_MODEL.id)).rejects.toMatchObject({ code: 'PAYMENT_REQUIRED' })
    await expect(
      askQuote(stranger.node, { peer: peer.node.peerId, request: chat(TEST_MODEL.id) }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' })
  })

  test('two engines, pairing then payment: the paired gateway is served both models free; a stranger pays for the provider model only', async () => {
    // Set in the "wrong" order on purpose: the chain still asks pairing first.
    peer.policies.set('payment', forModelOf(provider, payment))
    peer.policies.set('pairing', pairing.policy)
    peer.serve(coder)
    expect(peer.engines()).toEqual([provider, coder])

    await expect(ask(stranger, CODER.id)).rejects.toMatchObject({ code: 'PAYMENT_REQUIRED' })
    await expect(ask(stranger, CODER.id, 'paid')).rejects.toMatchObject({ code: 'PAYMENT_REQUIRED' })
    await expect(ask(stranger, TEST_MODEL.id)).rejects.toMatchObject({ code: 'PAYMENT_REQUIRED', quote: 'q' })
    expect(await ask(stranger, TEST_MODEL.id, 'paid')).toMatchObject({ receipt: 'receipt' })
    expect(await askQuote(stranger.node, { peer: peer.node.peerId, request: chat(TEST_MODEL.id) })).toBe('q')

    const models = await pair(gateway.node, { peer: peer.node.peerId.toString(), token: TOKEN })
    expect(models.map((m) => m.id)).toEqual([CODER.id])
    const free = await ask(gateway, CODER.id)
    expect(free.text.length).toBeGreaterThan(0)
    expect(free.receipt).toBeNull()
    // Paired first: the gateway is not billed for the paid model, even when it offers to pay.
    expect((await ask(gateway, TEST_MODEL.id, 'paid')).receipt).toBeNull()
  })

  test('deleting a policy or an engine takes effect at the next request; the server keeps serving the rest', async () => {
    peer.policies.delete('pairing')
    await expect(ask(gateway, CODER.id)).rejects.toMatchObject({ code: 'PAYMENT_REQUIRED' })
    expect(await ask(gateway, TEST_MODEL.id, 'paid')).toMatchObject({ receipt: 'receipt' })
    peer.policies.set('pairing', pairing.policy)
    peer.stopServing(coder)
    await expect(ask(gateway, CODER.id)).rejects.toMatchObject({ code: 'UNSUPPORTED_MODEL' })
    expect((await ask(gateway, TEST_MODEL.id)).receipt).toBeNull()
    peer.policies.delete('payment')
    await expect(
      askQuote(stranger.node, { peer: peer.node.peerId, request: chat(TEST_MODEL.id) }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' })
  })
})
