/**
 * Paid completion as an editor drives it: prepaid requests cancelled as the user types, over the real relay and
 * anvil. Cancels land before the first token, mid-prefill and mid-stream; the next request starts right after the
 * previous one is cancelled. No request may fail on its receipt (a late receipt of an interrupted request must stay
 * acceptable until it is applied or superseded), and at the end the consumer's settled total is the node's. An
 * engine that stops seconds after a cancel (a WebAssembly prefill stops only at its next batch) does not hold up the
 * receipt or make the next request's voucher fall short.
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createWalletClient, http, parseEther } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createClient } from '../client/index.ts'
import { PaidRequestInterruptedError } from '../core/errors/payments.ts'
import type { GenerateOptions, InferenceEngine } from '../core/inference.ts'
import { createMemoryEngine } from '../engine/memory/memory-engine.ts'
import { TEST_MODEL } from '../p2p/testing.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { memoryStore } from '../store/payments.ts'
import { fundAccount, startPaidProvider, type PaidProvider } from './testing.ts'

const deployment = inject('deployment')
let dir: string
let relay: RelayProcess
const stops: (() => Promise<void>)[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-cancel-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
})

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  await rm(dir, { recursive: true, force: true })
})

/** A small seeded generator: the same storm on every run. */
function random(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0
    return s / 2 ** 32
  }
}

/** A funded consumer on the prepay path, its channel to `provider` opened by a first, uncancelled request. */
async function prepaidClient(provider: PaidProvider) {
  const account = privateKeyToAccount(generatePrivateKey())
  await fundAccount(deployment, account.address, parseEther('100'))
  const wallet = createWalletClient({ account, transport: http(deployment.rpcUrl), pollingInterval: 50 })
  const client = createClient({
    deployment,
    wallet: wallet as never,
    store: memoryStore(),
    relay: relay.multiaddr,
    models: [{ id: TEST_MODEL.id, contentHash: TEST_MODEL.contentHash as `0x${string}` }],
    channelDeposit: parseEther('1'),
    prepay: true,
  })
  stops.push(() => client.stop())
  const node = provider.node.peerId.toString()
  await client.completions.create({ model: TEST_MODEL.id, prompt: 'def main(', max_tokens: 4, node })
  return { client, node }
}

describe('cancelled prepaid requests (integration)', () => {
  it('requests cancelled as the user types never fail on a receipt, and both sides end with the same settled total', async () => {
    const provider = await startPaidProvider({ deployment, relay: relay.multiaddr, tokenDelayMs: 5 })
    stops.push(() => provider.stop())
    const { client, node } = await prepaidClient(provider)

    // Eight keystrokes: with the opening and the last request, within the node's per-peer burst (ten).
    const next = random(12_345)
    const failures: unknown[] = []
    let previous: { abort: AbortController; done: Promise<void> } | null = null
    const all: Promise<void>[] = []
    for (let i = 0; i < 8; i++) {
      const abort = new AbortController()
      // As an editor: the keystroke cancels the previous request, and the next one starts at once.
      previous?.abort.abort()
      const delay = Math.floor(next() * 60)
      const prompt = `def f${i}(x):\n    return x`
      const done = (async () => {
        try {
          const stream = await client.completions.create({
            model: TEST_MODEL.id,
            prompt,
            max_tokens: 24,
            node,
            stream: true,
            signal: abort.signal,
          })
          for await (const chunk of stream) void chunk
          await stream.result
        } catch (error) {
          if (!(error instanceof PaidRequestInterruptedError && abort.signal.aborted)) failures.push(error)
        }
      })()
      all.push(done)
      const timer = setTimeout(() => abort.abort(), delay)
      void done.finally(() => clearTimeout(timer))
      previous = { abort, done }
      // Every other keystroke waits for the previous request to end (sequential), the rest overlap.
      if (i % 2 === 0) await done
    }
    previous?.abort.abort()
    await Promise.all(all)
    expect(failures.map((e) => String(e))).toEqual([])

    const last = await client.completions.create({ model: TEST_MODEL.id, prompt: 'print(', max_tokens: 4, node })
    const channel = (await client.channels())[provider.operator.toLowerCase()] as { settled: bigint; signed: bigint }
    // The last receipt is the node's books: its cumulative total is everything the node settled on this channel.
    const nodeSettled = last.modelex.receipt.receipt.cumulativePaid
    expect(await provider.service.receipt(last.modelex.receipt.receiptHash)).toBeDefined()
    expect(channel.settled).toBe(nodeSettled)
    expect(channel.signed >= channel.settled).toBe(true)
  }, 240_000)

  it('an engine that stops seconds after the cancel: the receipt comes at once, and the next request is admitted', async () => {
    // The memory engine, hearing of a cancel 4 s late (longer than the client waits for the node's done frame).
    const inner = createMemoryEngine({ tokenDelayMs: 5 })
    await inner.load(TEST_MODEL)
    const late = (options: GenerateOptions = {}): GenerateOptions => {
      const { signal, ...rest } = options
      if (!signal) return rest
      const lagging = new AbortController()
      signal.addEventListener('abort', () => setTimeout(() => lagging.abort(signal.reason), 4_000), { once: true })
      return { ...rest, signal: lagging.signal }
    }
    const engine: InferenceEngine = new Proxy(inner, {
      get(target, property, receiver) {
        if (property === 'complete')
          return (request: Parameters<InferenceEngine['complete']>[0], options?: GenerateOptions) =>
            target.complete(request, late(options))
        return Reflect.get(target, property, receiver) as unknown
      },
    })
    const provider = await startPaidProvider({ deployment, relay: relay.multiaddr, engine })
    stops.push(() => provider.stop())
    const { client, node } = await prepaidClient(provider)
    type Channel = { settled: bigint; interrupted?: unknown[] }
    const channelOf = (all: Record<string, unknown>) => all[provider.operator.toLowerCase()] as Channel
    const opened = channelOf(await client.channels())

    const abort = new AbortController()
    const stream = await client.completions.create({
      model: TEST_MODEL.id,
      prompt: 'def long(',
      max_tokens: 2_000,
      node,
      stream: true,
      signal: abort.signal,
    })
    let chunks = 0
    try {
      for await (const _ of stream) if (++chunks === 3) abort.abort()
      await stream.result
    } catch (error) {
      if (!(error instanceof PaidRequestInterruptedError)) throw error
    }
    // The node settled the cancelled request when the cancel arrived, not when its engine stopped: its receipt
    // reached the client (which waits 2 s for it), so nothing is left interrupted and what was sent is paid.
    const afterCancel = channelOf(await client.channels())
    expect(afterCancel.interrupted).toEqual([])
    expect(afterCancel.settled).toBeGreaterThan(opened.settled)
    // Right after the cancel, while the node's engine still runs: served, not refused for an uncovered reservation.
    const next = await client.completions.create({ model: TEST_MODEL.id, prompt: 'print(', max_tokens: 4, node })
    expect(next.modelex.receipt.receipt.completionTokens).toBeGreaterThan(0)
    expect(channelOf(await client.channels()).settled).toBe(next.modelex.receipt.receipt.cumulativePaid)
  }, 120_000)
})
