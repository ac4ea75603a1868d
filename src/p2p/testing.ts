/**
 * Helpers for tests and benchmarks of the network layer in Node: real nodes — providers with the in-memory engine behind the infer server and an announcer, and
 * consumers with a directory. Nothing here is a double: every part is the production code.
 */
import type { Hex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import type { InferenceEngine, ModelSpec } from '../core/inference.ts'
import { createMemoryEngine } from '../engine/memory/memory-engine.ts'
import { createAnnouncer, type Announcer } from './announcer.ts'
import { createNodeDirectory, type NodeDirectory, type NodeDirectoryOptions } from './directory.ts'
import { createInferServer, type InferServer, type InferServerSettings, type PaymentPolicy } from './infer-server.ts'
import { createModelexNode, type ModelexNode, type ModelexNodeOptions } from './node.ts'

export const TEST_MODEL: ModelSpec & { contentHash: Hex } = {
  id: 'memory-tiny',
  contentHash: `0x${'11'.repeat(32)}`,
  engine: 'memory',
  contextLength: 8192,
  source: 'memory',
  chatTemplate: 'memory',
}

/** A payment policy that serves every request for nothing (tests of the network layer, not of payments). */
export const FREE_POLICY: PaymentPolicy = {
  admit: async () => ({ quote: null, settle: async () => null, release() {} }),
  quote: async () => ({ price: '1' }),
}

export type Provider = {
  node: ModelexNode
  engine: InferenceEngine
  server: InferServer
  announcer: Announcer
  signer: { privateKey: Hex; address: `0x${string}` }
  stop(): Promise<void>
}

export async function startProvider({
  relay,
  tokenDelayMs = 0,
  model = TEST_MODEL,
  price = '1000',
  announceIntervalMs = 1_000,
  server = {},
  node: nodeOptions = {},
}: {
  relay: string
  tokenDelayMs?: number
  model?: ModelSpec
  price?: string
  announceIntervalMs?: number
  server?: InferServerSettings
  node?: ModelexNodeOptions
}): Promise<Provider> {
  const node = await createModelexNode({ relays: [relay], runtime: 'node', ...nodeOptions })
  await node.start()
  await node.waitForReservation(15_000)
  const engine = createMemoryEngine({ tokenDelayMs })
  const loaded = await engine.load(model)
  const inferServer = createInferServer(node.libp2p, { engine, ...server })
  await inferServer.start()
  const privateKey = generatePrivateKey()
  const signer = { privateKey, address: privateKeyToAddress(privateKey) }
  const announcer = createAnnouncer(node, {
    signer,
    operator: signer.address,
    chainId: 31337,
    intervalMs: announceIntervalMs,
    state: () => {
      const stats = inferServer.stats()
      return {
        models: [
          {
            id: loaded.id,
            contentHash: loaded.contentHash as Hex,
            engine: loaded.engine,
            contextLength: loaded.contextLength,
            tokensPerSecond: 100,
          },
        ],
        pricePerMillionInput: price,
        pricePerMillionOutput: price,
        capacity: stats.capacity,
        queueDepth: stats.queued,
      }
    },
  })
  inferServer.onLoadChange(() => announcer.changed())
  await announcer.start()
  return {
    node,
    engine,
    server: inferServer,
    announcer,
    signer,
    async stop() {
      await announcer.stop()
      await inferServer.stop()
      await node.stop()
    },
  }
}

export type Consumer = { node: ModelexNode; directory: NodeDirectory; stop(): Promise<void> }

export async function startConsumer({
  relay,
  directory: directoryOptions = {},
  node: nodeOptions = {},
}: {
  relay: string
  directory?: NodeDirectoryOptions
  node?: ModelexNodeOptions
}): Promise<Consumer> {
  const node = await createModelexNode({ relays: [relay], runtime: 'node', ...nodeOptions })
  await node.start()
  const directory = createNodeDirectory(node, {
    models: [TEST_MODEL.contentHash as Hex],
    announceIntervalMs: 1_000,
    pingIntervalMs: 500,
    ...directoryOptions,
  })
  await directory.start()
  return {
    node,
    directory,
    async stop() {
      await directory.stop()
      await node.stop()
    },
  }
}

export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<number> {
  const started = performance.now()
  while (!(await condition())) {
    if (performance.now() - started > timeoutMs) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return performance.now() - started
}
