/**
 * A node that ignores the cancel: the real provider parts (books, cashier, infer server, announcer) with one rule
 * broken — its infer server never hears the consumer's cancel frame or reset (`deafToCancels`), so it generates the
 * whole answer, settles it in full and later hands that receipt back with a refusal, as if the consumer had missed
 * it. The consumer received only what arrived before it gave up on the cancel; it may be billed for no more than
 * that. On-chain the node can still redeem the voucher it was handed (one request's maximum, the allowance every
 * paid request carries, `docs/ARCHITECTURE.md` "What a stranger can take"); the SDK's accounts never go past what
 * was received.
 */
import '../server/lib/node-shims.ts'
import type { Stream } from '@libp2p/interface'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createWalletClient, http, parseEther, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { createClient } from '../client/client.ts'
import { InvalidReceiptError, PaidRequestInterruptedError } from '../core/errors/payments.ts'
import type { InferenceEngine } from '../core/inference.ts'
import { tokenCost } from '../core/quote.ts'
import { INFER_PROTOCOL } from '../core/wire/infer.ts'
import { fundAccount } from '../node/testing.ts'
import { createInferServer } from '../p2p/infer-server.ts'
import type { ModelexLibp2p } from '../p2p/node.ts'
import { TEST_MODEL, until } from '../p2p/testing.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { recordOutcome } from './outcomes.ts'
import { startRogueProvider } from './peers.ts'

const base = inject('deployment')
const model = TEST_MODEL.id
let dir: string
let relay: RelayProcess
const stops: (() => Promise<void>)[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-adversarial-cancel-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
})
afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  await rm(dir, { recursive: true, force: true })
})

/**
 * The rule broken: the infer server's streams hear only the request. Later frames (the cancel) are dropped, and so
 * are the end and close events of a reset, so the server generates on and settles everything it generated. (Requests
 * here are small: the request is the stream's first message.)
 */
function deafToCancels(libp2p: ModelexLibp2p): ModelexLibp2p {
  const deaf = (stream: Stream): Stream => {
    let heard = false
    const wrapped = new Map<unknown, unknown>()
    return new Proxy(stream, {
      get(target, key) {
        if (key === 'addEventListener')
          return (type: string, listener: (event: Event) => void, options?: unknown) => {
            if (type === 'close' || type === 'remoteCloseWrite') return
            if (type !== 'message')
              return target.addEventListener(type as 'message', listener as never, options as never)
            const once = (event: Event) => {
              if (heard) return
              heard = true
              listener(event)
            }
            wrapped.set(listener, once)
            target.addEventListener('message', once as never, options as never)
          }
        if (key === 'removeEventListener')
          return (type: string, listener: unknown, options?: unknown) =>
            target.removeEventListener(
              type as 'message',
              (wrapped.get(listener) ?? listener) as never,
              options as never,
            )
        const value = Reflect.get(target, key, target) as unknown
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
      },
      set: (target, key, value) => Reflect.set(target, key, value, target),
    })
  }
  return new Proxy(libp2p, {
    get(target, key) {
      if (key === 'handle')
        return (protocol: string, handler: (stream: Stream, connection: unknown) => void, options?: unknown) =>
          target.handle(
            protocol,
            ((stream: Stream, connection: unknown) =>
              handler(protocol === INFER_PROTOCOL ? deaf(stream) : stream, connection)) as never,
            options as never,
          )
      const value = Reflect.get(target, key, target) as unknown
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}

/** The in-memory engine's tokens are words joined by single spaces. */
const wordsIn = (text: string) => (text === '' ? 0 : text.split(' ').length)

test('a node that ignores the cancel and keeps streaming cannot make the consumer pay for more than it received', async () => {
  const deployment = { ...base, relay: relay.multiaddr }
  let engine!: InferenceEngine
  const rogue = await startRogueProvider({
    deployment,
    relay: relay.multiaddr,
    tokenDelayMs: 25,
    engine: (honest) => (engine = honest),
  })
  stops.push(() => rogue.stop())
  await rogue.server.stop()
  const server = createInferServer(deafToCancels(rogue.node.libp2p), { engine, policy: rogue.cashier })
  await server.start()
  stops.push(() => server.stop())

  const account = privateKeyToAccount(generatePrivateKey())
  await fundAccount(deployment, account.address, parseEther('100'))
  const client = createClient({
    deployment,
    wallet: createWalletClient({ account, transport: http(deployment.rpcUrl), pollingInterval: 50 }),
    models: [{ id: model, contentHash: TEST_MODEL.contentHash as Hex }],
    channelDeposit: parseEther('1'),
    finishAfterIdleMs: null,
  })
  stops.push(() => client.stop())
  const node = rogue.node.peerId.toString()
  const { quote } = await client.quote({ model, prompt: 'stream on and on', max_tokens: 300, node })

  const cancel = new AbortController()
  const stream = await client.completions.create({
    model,
    prompt: 'stream on and on',
    max_tokens: 300,
    node,
    stream: true,
    signal: cancel.signal,
  })
  let received = ''
  const error = await (async () => {
    for await (const chunk of stream) {
      received += chunk.choices[0]?.text ?? ''
      if (wordsIn(received) >= 3) cancel.abort()
    }
  })().catch((e: unknown) => e)
  expect(error).toBeInstanceOf(PaidRequestInterruptedError)
  expect((error as PaidRequestInterruptedError).text).toBe(received)
  const tokensReceived = wordsIn(received)
  const worth = tokenCost(quote.inputTokens, tokensReceived, quote)
  // It went on past the cancel, and past what arrived: it settles the whole answer in its books.
  await until(
    () => [...rogue.books.channels.values()].some((b) => b.settled === quote.maxCost),
    30_000,
    'the rogue to settle its whole answer',
  )
  expect(tokensReceived).toBeLessThan(quote.maxTokens)

  // Its next refusal carries that receipt; the consumer refuses to settle beyond what it received.
  await expect(client.completions.create({ model, prompt: 'again', max_tokens: 4, node })).rejects.toThrow(
    InvalidReceiptError,
  )
  const channel = (await client.channels())[rogue.operator.toLowerCase()]!
  expect(channel.settled).toBeLessThanOrEqual(worth)
  expect(channel.signed).toBeLessThanOrEqual(quote.maxCost)
  const receipts = (await client.receipts()).reduce((sum, r) => sum + r.cost, 0n)
  expect(receipts).toBeLessThanOrEqual(worth)

  // On-chain it takes what it can: the voucher it was handed, no more.
  const taken = await rogue.redeemAll()
  expect(taken).toBeLessThanOrEqual(quote.maxCost)
  recordOutcome({
    attack: 'ignores the cancel and streams on',
    outcome: `received ${tokensReceived} of ${quote.maxTokens} tokens; its full receipt refused, consumer settled ${channel.settled} (worth ${worth}); node redeemed its voucher ${taken}`,
    lostWei: taken > worth ? taken - worth : 0n,
    allowedWei: quote.maxCost,
  })
}, 90_000)
