/**
 * The network layer end to end in Node: a real relay (child process, stopped by PID) and real in-process libp2p
 * nodes — providers serving the in-memory engine, consumers with a directory. Announce → discover → request →
 * stream → cancel; a serving node that dies mid-stream; a relay restart; refusals with their typed codes.
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { announcementTopic, encodeAnnouncement, signAnnouncement } from '../core/announcement.ts'
import { InferenceAbortedError } from '../core/errors/engine.ts'
import { InferRequestError, InferStreamError } from '../core/errors/p2p.ts'
import type { Delta, InferenceRequest } from '../core/inference.ts'
import { createMemoryEngine } from '../engine/memory/memory-engine.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { decodeResponse, encodeRequestFrame, INFER_PROTOCOL, MAX_FRAME_BYTES } from '../core/wire/infer.ts'
import { connectToPeer } from './dial.ts'
import { readFrames } from './frames.ts'
import { askQuote, infer } from './infer-client.ts'
import { warmUp } from './warm.ts'
import { startConsumer, startProvider, TEST_MODEL, until, type Consumer, type Provider } from './testing.ts'

const chat = (content: string, fields: Partial<InferenceRequest> = {}): InferenceRequest =>
  ({
    kind: 'chat',
    model: TEST_MODEL.id,
    messages: [{ role: 'user', content }],
    max_tokens: 32,
    temperature: 0,
    seed: 0,
    ...fields,
  }) as InferenceRequest

let dir: string
let relayPort: number
let relay: RelayProcess
const stops: (() => Promise<void>)[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-p2p-'))
  relayPort = await freePort()
  relay = await startRelayProcess({ port: relayPort, keyFile: join(dir, 'relay.key') })
})

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  await rm(dir, { recursive: true, force: true })
})

async function provider(options: Omit<Parameters<typeof startProvider>[0], 'relay'> = {}): Promise<Provider> {
  const p = await startProvider({ relay: relay.multiaddr, ...options })
  stops.push(() => p.stop())
  return p
}
async function consumer(options: Omit<Parameters<typeof startConsumer>[0], 'relay'> = {}): Promise<Consumer> {
  const c = await startConsumer({ relay: relay.multiaddr, ...options })
  stops.push(() => c.stop())
  return c
}

async function collect(call: AsyncIterable<Delta>): Promise<string> {
  let text = ''
  for await (const delta of call) text += delta.text
  return text
}

describe('P2P network (relay + in-process nodes)', () => {
  let fast: Provider
  let slow: Provider
  let client: Consumer

  beforeAll(async () => {
    fast = await provider({ price: '1000' })
    slow = await provider({ price: '2000', tokenDelayMs: 20 })
    client = await consumer()
  })

  test('announce → discover: the consumer lists both providers with their models, prices, RTT and no registry verdict', async () => {
    await client.directory.waitFor((e) => e.peerId === fast.node.peerId.toString(), 15_000)
    await client.directory.waitFor((e) => e.peerId === slow.node.peerId.toString(), 15_000)
    const entries = client.directory.list({ contentHash: TEST_MODEL.contentHash })
    expect(entries.map((e) => e.peerId)).toEqual([fast.node.peerId.toString(), slow.node.peerId.toString()])
    const entry = entries[0]!
    expect(entry.announcement).toMatchObject({
      signer: fast.signer.address,
      chainId: 31337,
      pricePerMillionOutput: '1000',
      capacity: 2,
    })
    expect(entry.announcement.models[0]).toMatchObject({
      id: TEST_MODEL.id,
      contentHash: TEST_MODEL.contentHash,
      engine: 'memory',
      contextLength: 8192,
    })
    expect(entry.registered).toBeNull()
    await until(
      () => (client.directory.get(fast.node.peerId.toString())?.rttMs ?? null) !== null,
      10_000,
      'an RTT measurement',
    )
    expect(client.directory.get(fast.node.peerId.toString())?.rttMs).toBeGreaterThanOrEqual(0)
  })

  test('request → stream: the deltas and usage are exactly what the engine gives locally', async () => {
    const request = chat('hello network', { max_tokens: 40 })
    const call = infer(client.node, { peer: fast.node.peerId, request })
    const text = await collect(call)
    const outcome = await call.result
    const local = createMemoryEngine()
    await local.load(TEST_MODEL)
    const { kind: _kind, ...body } = request as Extract<InferenceRequest, { kind: 'chat' }>
    const expected = await local.chat(body)
    expect(text).toBe(expected.text)
    expect(outcome).toMatchObject({
      finish_reason: 'length',
      usage: expected.usage,
      receipt: null,
      quote: null,
      relayed: true,
    })
  })

  test('cancel mid-stream: the iterator stops with InferenceAbortedError, the node answers the cancel frame with done (abort, what it sent) and stops generating', async () => {
    const before = slow.server.stats().cancelled
    const controller = new AbortController()
    const call = infer(client.node, {
      peer: slow.node.peerId,
      request: chat('a long one', { max_tokens: 2000 }),
      signal: controller.signal,
    })
    let deltas = 0
    let tokens = 0
    const reading = (async () => {
      for await (const delta of call) {
        tokens += delta.tokens
        if (++deltas === 5) controller.abort()
      }
    })()
    await expect(reading).rejects.toThrow(InferenceAbortedError)
    const outcome = await call.result
    expect(outcome.finish_reason).toBe('abort')
    // The done frame bills exactly what the node sent, which is what we read (deltas crossing the cancel included).
    expect(outcome.usage.completion_tokens).toBe(tokens)
    expect(tokens).toBeGreaterThanOrEqual(5)
    expect(tokens).toBeLessThan(2000)
    await until(
      () => slow.server.stats().cancelled === before + 1 && slow.server.stats().active === 0,
      5_000,
      'the provider to cancel',
    )
  })

  test('a client that closes its write side after its request (request/response convention) still gets the whole answer', async () => {
    const request = chat('half closed', { max_tokens: 12 })
    const connection = await connectToPeer(client.node, fast.node.peerId)
    const stream = await connection.newStream(INFER_PROTOCOL, { runOnLimitedConnection: true })
    const reader = readFrames(stream, MAX_FRAME_BYTES)
    stream.send(encodeRequestFrame({ type: 'request', v: 1, request, payment: null }))
    await stream.close()
    const types: string[] = []
    for (let i = 0; i < 100; i++) {
      const frame = await reader.next()
      if (!(frame instanceof Uint8Array)) break
      types.push(decodeResponse(frame).type)
    }
    reader.dispose()
    expect(types[0]).toBe('accepted')
    expect(types.at(-1)).toBe('done')
  })

  test('a quote-only request to a node without a pricing policy is refused as a bad request, not served', async () => {
    const before = fast.server.stats().served
    await expect(askQuote(client.node, { peer: fast.node.peerId, request: chat('price?') })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    })
    expect(fast.server.stats().served).toBe(before)
  })

  test('leaving the loop early also cancels on the provider', async () => {
    const before = slow.server.stats().cancelled
    for await (const _ of infer(client.node, {
      peer: slow.node.peerId,
      request: chat('break early', { max_tokens: 2000 }),
    }))
      break
    await until(() => slow.server.stats().cancelled === before + 1, 5_000, 'the provider to cancel')
  })

  test('cancelled while it takes its stream (a warm spare): the request never goes out, nothing is served for it', async () => {
    const warm = warmUp(client.node, fast.node.peerId)
    await warm.ready
    expect(warm.warm).toBe(true)
    const before = fast.server.stats().served
    const cancel = new AbortController()
    const iterator = infer(client.node, {
      peer: fast.node.peerId,
      request: chat('never sent'),
      signal: cancel.signal,
    })[Symbol.asyncIterator]()
    const first = iterator.next()
    // The generator is now waiting for its stream: a keystroke cancels it there.
    cancel.abort()
    await expect(first).rejects.toThrow(InferenceAbortedError)
    let text = ''
    for await (const delta of infer(client.node, { peer: fast.node.peerId, request: chat('sent') })) text += delta.text
    expect(text.length).toBeGreaterThan(0)
    expect(fast.server.stats().served).toBe(before + 1)
    warm.stop()
  })

  test('typed refusals: unknown model, max_tokens above the cap, too many streams from one peer', async () => {
    const error = async (request: InferenceRequest, peer = fast) => {
      try {
        await collect(infer(client.node, { peer: peer.node.peerId, request }))
      } catch (e) {
        return e as InferRequestError
      }
      throw new Error('expected a refusal')
    }
    expect((await error(chat('x', { model: 'nope' }))).code).toBe('UNSUPPORTED_MODEL')
    const tooMany = await error(chat('x', { max_tokens: 100_000 }))
    expect(tooMany).toBeInstanceOf(InferRequestError)
    expect(tooMany.code).toBe('BAD_REQUEST')
    // Five streams at once against a limit of four per peer: one is refused as BUSY with a retry delay.
    const calls = Array.from({ length: 5 }, () =>
      collect(infer(client.node, { peer: slow.node.peerId, request: chat('busy', { max_tokens: 30 }) })),
    )
    const results = await Promise.allSettled(calls)
    const refused = results
      .filter((r) => r.status === 'rejected')
      .map((r) => (r as PromiseRejectedResult).reason as InferRequestError)
    expect(refused.length).toBeGreaterThanOrEqual(1)
    expect(refused[0]!.code).toBe('BUSY')
    expect(refused[0]!.retryAfterMs).toBeGreaterThan(0)
  })

  test('a forged announcement is rejected by the relay and never reaches the directory', async () => {
    const rogue = await consumer({ directory: { models: [] } })
    const key = generatePrivateKey()
    const victim = fast.node.peerId.toString()
    // Claims to be another node (peer-mismatch) and is signed with a key other than the declared signer.
    const forged = await signAnnouncement(
      {
        version: 1,
        peerId: victim,
        signer: privateKeyToAddress(generatePrivateKey()),
        operator: privateKeyToAddress(key),
        chainId: 31337,
        models: [
          {
            id: TEST_MODEL.id,
            contentHash: TEST_MODEL.contentHash as `0x${string}`,
            engine: 'memory',
            contextLength: 1,
            tokensPerSecond: 1,
          },
        ],
        pricePerMillionInput: '0',
        pricePerMillionOutput: '0',
        capacity: 1,
        queueDepth: 0,
        sequence: Date.now() + 10_000_000,
        timestamp: Date.now(),
      },
      key,
    )
    const before = ((await relay.metrics())['messages'] as { rejected: number }).rejected
    const topic = announcementTopic(TEST_MODEL.contentHash)
    await until(
      () => rogue.node.libp2p.services.pubsub.getSubscribers(topic).length > 0,
      5_000,
      'the rogue to see the relay on the topic',
    )
    await rogue.node.libp2p.services.pubsub.publish(
      announcementTopic(TEST_MODEL.contentHash),
      encodeAnnouncement(forged),
    )
    await until(
      async () => ((await relay.metrics())['messages'] as { rejected: number }).rejected > before,
      5_000,
      'the relay to reject',
    )
    expect(client.directory.get(victim)?.announcement.pricePerMillionOutput).toBe('1000')
  })
})

describe('joining late', () => {
  test('a consumer that joins a topic after the announcements learns them from the relay at once, not at the next interval; a node that left is not among them', async () => {
    const quietly = { announceIntervalMs: 60_000 }
    const quiet = await provider(quietly)
    const peer = quiet.node.peerId.toString()
    // Someone on the topic hears the first announcement by gossip, so the relay has seen it too.
    const early = await consumer({ directory: quietly })
    await early.directory.waitFor((e) => e.peerId === peer, 15_000)
    // Past gossipsub's message-cache window (IHAVE gossip could otherwise still bring it): only the relay's cache can.
    await new Promise((resolve) => setTimeout(resolve, 7_000))
    const late = await consumer({ directory: quietly })
    const started = performance.now()
    await late.directory.waitFor((e) => e.peerId === peer, 10_000)
    // The next periodic announcement is ~50 s away.
    expect(performance.now() - started).toBeLessThan(10_000)
    expect(late.directory.get(peer)?.announcement.sequence).toBe(early.directory.get(peer)?.announcement.sequence)
    await late.stop()
    await early.stop()

    // A node that left is not handed to newcomers: the relay forgets it when it disconnects.
    await quiet.stop()
    await new Promise((resolve) => setTimeout(resolve, 7_000))
    const chatty = await provider()
    const after = await consumer({ directory: quietly })
    // A provider that is still there is listed; the one that left is not.
    await after.directory.waitFor((e) => e.peerId === chatty.node.peerId.toString(), 10_000)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(after.directory.get(peer)).toBeUndefined()
    await after.stop()
    await chatty.stop()
  }, 60_000)
})

describe('failures', () => {
  test('the serving node dies mid-stream: the client gets InferStreamError, not a hang', async () => {
    const doomed = await provider({ tokenDelayMs: 20 })
    const client = await consumer()
    const call = infer(client.node, {
      peer: doomed.node.peerId,
      request: chat('die', { max_tokens: 2000 }),
      idleTimeoutMs: 10_000,
    })
    let deltas = 0
    const started = performance.now()
    const reading = (async () => {
      for await (const _ of call) if (++deltas === 3) void doomed.node.stop()
    })()
    await expect(reading).rejects.toThrow(InferStreamError)
    expect(performance.now() - started).toBeLessThan(5_000)
    const error = await call.result.catch((e: unknown) => e)
    expect(['reset', 'closed']).toContain((error as InferStreamError).reason)
  })

  test('the relay restarts: nodes reconnect within 5 s, take reservations again, and serve again', async () => {
    const p = await provider()
    const c = await consumer()
    await c.directory.waitFor((e) => e.peerId === p.node.peerId.toString(), 15_000)
    await relay.process.stop()
    await until(() => p.node.state === 'connecting' && c.node.state === 'connecting', 5_000, 'the nodes to notice')
    relay = await startRelayProcess({ port: relayPort, keyFile: join(dir, 'relay.key') })
    const restarted = performance.now()
    await until(() => p.node.state === 'connected' && c.node.state === 'connected', 5_000, 'the nodes to reconnect')
    const reconnectMs = performance.now() - restarted
    expect(reconnectMs).toBeLessThan(5_000)
    await p.node.waitForReservation(5_000)
    // Old relayed connections died with the relay; a new request goes through the new one.
    const call = infer(c.node, { peer: p.node.peerId, request: chat('after restart', { max_tokens: 8 }) })
    expect((await collect(call)).length).toBeGreaterThan(0)
    expect((await call.result).usage.completion_tokens).toBe(8)
  })
})
