/**
 * Spot checks on real engines: the verifier and the nodes run the app's WebAssembly engine in Chromium pages (the
 * same build). An honest node's answers, greedy and seeded-sampled, agree token for token; a node serving the claimed
 * model's weights quantized to Q4_0 is flagged, with the evidence kept.
 */
import type { Browser } from 'playwright-core'
import { keccak256, type Address, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { inject } from 'vitest'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runInference, type InferenceRequest, type ModelSpec } from '../core/inference.ts'
import { DEMO_MODELS } from '../core/models.ts'
import { DEMO_TINY, DEMO_TINY_Q4_0, generateDemoModel } from '../engine/demo-model/generate.ts'
import { launchChromium } from '../server/lib/chromium.ts'
import { DEFAULT_MODELS_DIR } from '../server/programs/model-demo.ts'
import { createPageEngine, type PageEngine } from './page-engine.ts'
import { createVerifier, type CheckInput } from './verifier.ts'

const claimed = DEMO_MODELS.find((m) => m.id === DEMO_TINY.name) as ModelSpec & { contentHash: Hex }
const honestOperator = '0x00000000000000000000000000000000000000aa' as Address
const liarOperator = '0x00000000000000000000000000000000000000bb' as Address

let browser: Browser
const engines: PageEngine[] = []
beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  for (const engine of engines) await engine.close().catch(() => {})
  await browser?.close()
})

async function engineWith(model: ModelSpec): Promise<PageEngine> {
  const engine = await createPageEngine({ browser, baseUrl: inject('devUrl') })
  engines.push(engine)
  await engine.load(model, { threads: 1 })
  return engine
}

async function answer(engine: PageEngine, operator: Address, request: InferenceRequest): Promise<CheckInput> {
  const loaded = await engine.current()
  const result = await runInference(engine, { ...request, model: loaded?.id ?? '' })
  return {
    node: { operator, peer: 'peer', engine: { kind: 'wasm' } },
    modelHash: claimed.contentHash as Hex,
    request,
    answer: {
      text: result.text,
      completionTokens: result.usage.completion_tokens,
      finish_reason: result.finish_reason,
    },
  }
}

describe('spot checks on the WebAssembly engine', () => {
  test(
    'an honest node agrees token for token, greedy and sampled; a Q4_0 impostor is flagged at once',
    { timeout: 180_000 },
    async () => {
      const bytes = generateDemoModel(DEMO_TINY_Q4_0)
      await mkdir(DEFAULT_MODELS_DIR, { recursive: true })
      await writeFile(join(DEFAULT_MODELS_DIR, `${DEMO_TINY_Q4_0.name}.gguf`), bytes)
      const q4: ModelSpec = {
        ...claimed,
        id: DEMO_TINY_Q4_0.name,
        source: `/models/${DEMO_TINY_Q4_0.name}.gguf`,
        contentHash: keccak256(bytes),
      }
      const verifier = createVerifier(
        { engine: await engineWith(claimed) },
        { build: { kind: 'wasm', build: 'wllama-3.8.1' } },
      )
      const honest = await engineWith(claimed)
      const liar = await engineWith(q4)
      const requests: InferenceRequest[] = [
        {
          kind: 'completion',
          model: claimed.id,
          prompt: 'def total(items):\n',
          max_tokens: 12,
          temperature: 0,
          seed: 1,
        },
        {
          kind: 'completion',
          model: claimed.id,
          prompt: 'for item in range(',
          max_tokens: 12,
          temperature: 0.8,
          seed: 123456,
        },
        {
          kind: 'chat',
          model: claimed.id,
          messages: [{ role: 'user', content: 'sum the list' }],
          max_tokens: 12,
          temperature: 0.9,
          top_p: 0.9,
          seed: 4_000_000_000,
        },
      ]
      for (const request of requests)
        expect((await verifier.check(await answer(honest, honestOperator, request))).comparison.outcome).toBe('agree')
      const caught = await verifier.check(await answer(liar, liarOperator, requests[0] as InferenceRequest))
      expect(caught.comparison.outcome).toBe('disagree')
      expect(caught.record.flagged).toBe(true)
      expect(verifier.record(honestOperator, claimed.contentHash as Hex)).toMatchObject({
        agree: 3,
        disagree: 0,
        flagged: false,
      })
      expect(verifier.evidence()[0]?.node.operator).toBe(liarOperator)
    },
  )
})

describe('the page engine (a WebAssembly engine driven from Node, as benchmarks run nodes)', () => {
  test('passes the KV-cache options through: a party reuses its own cached prefix, another party does not', async () => {
    const engine = await engineWith(claimed)
    const prompt = 'def add(a, b):\n    return a + b\n\ndef sub(a, b):\n    return'
    const ask = (text: string, cacheOwner: string) =>
      engine.complete(
        { model: claimed.id, prompt: text, max_tokens: 1, temperature: 0, seed: 0 },
        { reusePrefix: true, cacheOwner },
      )
    const evaluated = (r: Awaited<ReturnType<typeof ask>>) => r.timings.prefill_tokens ?? r.usage.prompt_tokens
    await ask(prompt, 'peer:A')
    const own = await ask(`${prompt} a`, 'peer:A')
    expect(evaluated(own)).toBeLessThan(own.usage.prompt_tokens)
    const other = await ask(`${prompt} a`, 'peer:B')
    expect(evaluated(other)).toBe(other.usage.prompt_tokens)
  })
})
