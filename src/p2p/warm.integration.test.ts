/**
 * Keeping a picked node warm, end to end in Node with a real relay (child process, stopped by PID) and real nodes:
 * the spare stream carries the next request, a new one follows it, a spare the node gave up on is never used, and
 * stopping closes it. Also checks that every connection's muxer and WebSocket writes are tuned (transport-tuning.ts).
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { InferenceRequest } from '../core/inference.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { askQuote, infer } from './infer-client.ts'
import {
  FREE_POLICY,
  startConsumer,
  startProvider,
  TEST_MODEL,
  until,
  type Consumer,
  type Provider,
} from './testing.ts'
import { isTuned } from './transport-tuning.ts'
import { takeInferStream, warmUp } from './warm.ts'

const chat = (content: string): InferenceRequest => ({
  kind: 'chat',
  model: TEST_MODEL.id,
  messages: [{ role: 'user', content }],
  max_tokens: 8,
  temperature: 0,
  seed: 0,
})

let dir: string
let relay: RelayProcess
let provider: Provider
let consumer: Consumer
const stops: (() => Promise<void>)[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-warm-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  provider = await startProvider({
    relay: relay.multiaddr,
    server: {
      policy: FREE_POLICY,
    },
  })
  stops.push(() => provider.stop())
  consumer = await startConsumer({ relay: relay.multiaddr })
  stops.push(() => consumer.stop())
}, 60_000)

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  await rm(dir, { recursive: true, force: true })
})

async function answer(request: InferenceRequest): Promise<string> {
  let text = ''
  for await (const delta of infer(consumer.node, { peer: provider.node.peerId, request })) text += delta.text
  return text
}

test('a warm node: the request takes the spare stream, a new spare follows once the answer is over; quotes too', async () => {
  const cold = await answer(chat('same prompt'))
  const warm = warmUp(consumer.node, provider.node.peerId)
  await warm.ready
  expect(warm.warm).toBe(true)
  expect(await answer(chat('same prompt'))).toBe(cold)
  await until(() => warm.warm, 5_000, 'the next spare stream')
  expect(await askQuote(consumer.node, { peer: provider.node.peerId, request: chat('price?') })).toEqual({ price: '1' })
  await until(() => warm.warm, 5_000, 'the next spare stream')
  // The spare itself: taken once, then not again until a new one is open.
  const taken = await takeInferStream(consumer.node, provider.node.peerId)
  expect(taken.warm).toBe(true)
  expect(warm.warm).toBe(false)
  taken.stream.abort(new Error('not used'))
  warm.stop()
  expect(warm.warm).toBe(false)
  const after = await takeInferStream(consumer.node, provider.node.peerId)
  expect(after.warm).toBe(false)
  after.stream.abort(new Error('not used'))
})

test('a spare taken for a quote is replaced at once, not when its stream closes: the request that follows goes out warm', async () => {
  const warm = warmUp(consumer.node, provider.node.peerId)
  await warm.ready
  // Both streams still open: the second take gets the replacement a quote starts at once (askQuote), while after
  // an ordinary take there is no spare until the taken stream has closed.
  const forQuote = await takeInferStream(consumer.node, provider.node.peerId, undefined, { replaceAtOnce: true })
  const next = await takeInferStream(consumer.node, provider.node.peerId)
  expect([forQuote.warm, next.warm]).toEqual([true, true])
  const last = await takeInferStream(consumer.node, provider.node.peerId)
  expect(last.warm).toBe(false)
  for (const taken of [forQuote, next, last]) taken.stream.abort(new Error('not used'))
  warm.stop()
})

test('a spare the node gave up on (its wait for the request ran out) is dropped, and requests still go through', async () => {
  const impatient = await startProvider({ relay: relay.multiaddr, server: { limits: { requestTimeoutMs: 200 } } })
  stops.push(() => impatient.stop())
  const warm = warmUp(consumer.node, impatient.node.peerId)
  await warm.ready
  expect(warm.warm).toBe(true)
  // The node answers the idle stream with TIMEOUT and closes it: the spare is dropped rather than used.
  await until(() => !warm.warm, 5_000, 'the spare to be dropped')
  let text = ''
  for await (const delta of infer(consumer.node, { peer: impatient.node.peerId, request: chat('still served') }))
    text += delta.text
  expect(text.length).toBeGreaterThan(0)
  warm.stop()
})

test('several holders share one warm-up; it ends when the last stops', async () => {
  const a = warmUp(consumer.node, provider.node.peerId)
  const b = warmUp(consumer.node, provider.node.peerId)
  await Promise.all([a.ready, b.ready])
  expect(a.warm && b.warm).toBe(true)
  a.stop()
  expect(b.warm).toBe(true)
  b.stop()
  expect(b.warm).toBe(false)
})

test('every stream of the connections to the relay and to the provider has lazy window updates', async () => {
  const connections = consumer.node.libp2p.getConnections()
  expect(connections.length).toBeGreaterThan(0)
  const warm = warmUp(consumer.node, provider.node.peerId)
  await warm.ready
  const streams = connections.flatMap((c) => c.streams)
  expect(streams.length).toBeGreaterThan(0)
  expect(streams.every((s) => isTuned(s))).toBe(true)
  warm.stop()
})
