/**
 * A request cancelled while it is being admitted (its payment checked) must end there, not wait in the queue for a
 * slot: waiting, it holds its payment in reserve, and the consumer's next voucher (which no longer counts it) falls
 * short. Seen in `bench:autocomplete`: such requests waited up to 15 s for a slot and every paid request behind them
 * was refused. The node here has one slot, held by a request whose engine waits for the test; the second request's
 * admission waits until its cancel frame has reached the node. Real relay (child process, stopped by PID).
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Stream } from '@libp2p/interface'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { InferenceAbortedError } from '../core/errors/engine.ts'
import type { InferenceEngine, InferenceRequest } from '../core/inference.ts'
import { INFER_PROTOCOL } from '../core/wire/infer.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { infer } from './infer-client.ts'
import type { Admission, PaymentPolicy } from './infer-server.ts'
import {
  FREE_POLICY,
  startConsumer,
  startProvider,
  TEST_MODEL,
  until,
  type Consumer,
  type Provider,
} from './testing.ts'

let dir: string
let relay: RelayProcess
let provider: Provider
let consumer: Consumer
let openEngine: () => void = () => {}
let admitSecond: () => void = () => {}
let admissions = 0

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-cancel-queue-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  // The second request's admission waits for the test too (a payment check takes a moment on a real node).
  const policy: PaymentPolicy = {
    ...FREE_POLICY,
    admit: async (context): Promise<Admission> => {
      if (++admissions === 2) await new Promise<void>((resolve) => (admitSecond = resolve))
      return FREE_POLICY.admit(context)
    },
  }
  provider = await startProvider({ relay: relay.multiaddr, server: { policy, limits: { capacity: 1 } } })
  // The first request's generation waits for the test: it keeps the node's only slot.
  const gate = new Promise<void>((resolve) => (openEngine = resolve))
  const chat = provider.engine.chat.bind(provider.engine)
  provider.engine.chat = async (...args: Parameters<InferenceEngine['chat']>) => (await gate, chat(...args))
  consumer = await startConsumer({ relay: relay.multiaddr })
}, 60_000)

afterAll(async () => {
  openEngine()
  admitSecond()
  await consumer?.stop().catch(() => {})
  await provider?.stop().catch(() => {})
  await relay?.process.stop()
  await rm(dir, { recursive: true, force: true })
})

const chat = (content: string): InferenceRequest => ({
  kind: 'chat',
  model: TEST_MODEL.id,
  messages: [{ role: 'user', content }],
  max_tokens: 4,
})

/** The node's side of its newest infer stream. */
function newestInboundStream(): Stream | undefined {
  return provider.node.libp2p
    .getConnections()
    .flatMap((c) => c.streams)
    .filter((s) => s.protocol === INFER_PROTOCOL && s.direction === 'inbound')
    .at(-1)
}

test('cancelled during admission, it ends at once instead of waiting for the busy slot', async () => {
  const first = (async () => {
    for await (const _ of infer(consumer.node, { peer: provider.node.peerId, request: chat('holds the slot') }));
  })()
  await until(() => provider.server.stats().active === 1, 10_000, 'the first request to take the slot')
  const before = provider.server.stats().cancelled

  const cancel = new AbortController()
  const second = (async () => {
    for await (const _ of infer(consumer.node, {
      peer: provider.node.peerId,
      request: chat('cancelled while admitted'),
      signal: cancel.signal,
    }));
  })()
  await until(() => admissions === 2, 10_000, 'the second request to be in admission')
  // The cancel reaches the node while the admission still runs; the node reads it before the admission ends.
  const stream = newestInboundStream()
  if (!stream) throw new Error('no inbound infer stream on the node')
  const arrived = new Promise<void>((resolve) => stream.addEventListener('message', () => resolve(), { once: true }))
  cancel.abort()
  await arrived
  await new Promise((resolve) => setImmediate(resolve))
  admitSecond()

  await expect(second).rejects.toThrow(InferenceAbortedError)
  // Ended while the slot is still taken: not queued behind it.
  await until(() => provider.server.stats().cancelled === before + 1, 10_000, 'the node to end the cancelled request')
  expect(provider.server.stats()).toMatchObject({ active: 1, queued: 0 })
  openEngine()
  await first
})
