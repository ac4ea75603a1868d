/**
 * What a node asks of its engine's KV cache per request (`src/core/prefix-cache.ts`): every run names its consumer
 * (`cacheOwner`, the peer id the connection authenticated), and only a completion that does not ask to be
 * reproducible (no seed) may reuse a cached prefix; a seeded one and a chat never do. Real relay (child process,
 * stopped by PID), real nodes; the engine is the in-memory one with its calls recorded.
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { GenerateOptions, InferenceRequest } from '../core/inference.ts'
import { peerCacheOwner } from '../core/prefix-cache.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { infer } from './infer-client.ts'
import { FREE_POLICY, startConsumer, startProvider, TEST_MODEL, type Consumer, type Provider } from './testing.ts'

let dir: string
let relay: RelayProcess
let provider: Provider
const consumers: Consumer[] = []
const seen: { kind: 'chat' | 'complete'; options: Pick<GenerateOptions, 'reusePrefix' | 'cacheOwner'> }[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-prefix-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  provider = await startProvider({
    relay: relay.multiaddr,
    server: {
      policy: FREE_POLICY,
    },
  })
  const engine = provider.engine
  const complete = engine.complete.bind(engine)
  const chat = engine.chat.bind(engine)
  const record = (kind: 'chat' | 'complete', options: GenerateOptions = {}) =>
    seen.push({
      kind,
      options: {
        ...(options.reusePrefix !== undefined ? { reusePrefix: options.reusePrefix } : {}),
        ...(options.cacheOwner !== undefined ? { cacheOwner: options.cacheOwner } : {}),
      },
    })
  engine.complete = (request, options) => (record('complete', options), complete(request, options))
  engine.chat = (request, options) => (record('chat', options), chat(request, options))
  for (let i = 0; i < 2; i++) consumers.push(await startConsumer({ relay: relay.multiaddr }))
}, 60_000)

afterAll(async () => {
  for (const consumer of consumers) await consumer.stop().catch(() => {})
  await provider?.stop().catch(() => {})
  await relay?.process.stop()
  await rm(dir, { recursive: true, force: true })
})

async function ask(consumer: Consumer, request: InferenceRequest): Promise<void> {
  const call = infer(consumer.node, { peer: provider.node.peerId, request })
  for await (const _ of call);
  await call.result
}

const completion = (seed?: number): InferenceRequest => ({
  kind: 'completion',
  model: TEST_MODEL.id,
  prompt: 'def add(a, b):\n    return',
  max_tokens: 4,
  temperature: 0,
  ...(seed !== undefined ? { seed } : {}),
})

test('reuse for unseeded completions only, always under the asking peer’s name', async () => {
  const [a, b] = consumers as [Consumer, Consumer]
  const A = peerCacheOwner(a.node.peerId.toString())
  const B = peerCacheOwner(b.node.peerId.toString())
  await ask(a, completion())
  await ask(a, completion(0))
  await ask(a, { kind: 'chat', model: TEST_MODEL.id, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 })
  await ask(b, completion())
  expect(seen).toEqual([
    { kind: 'complete', options: { reusePrefix: true, cacheOwner: A } },
    { kind: 'complete', options: { cacheOwner: A } },
    { kind: 'chat', options: { cacheOwner: A } },
    { kind: 'complete', options: { reusePrefix: true, cacheOwner: B } },
  ])
})
