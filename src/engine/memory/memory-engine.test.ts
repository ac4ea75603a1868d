import { beforeAll, describe, expect, test } from 'vitest'
import type { ModelSpec } from '../../core/inference.ts'
import { complianceChecks } from '../compliance.ts'
import { createMemoryEngine, memoryTokenize } from './memory-engine.ts'

const model: ModelSpec = {
  id: 'memory-test',
  contentHash: '0x' + '11'.repeat(32),
  engine: 'memory',
  contextLength: 4096,
  source: 'memory:',
  chatTemplate: 'memory',
}

describe('in-memory engine: InferenceEngine compliance', () => {
  const engine = createMemoryEngine({ tokenDelayMs: 1 })
  beforeAll(async () => {
    await engine.load(model)
  })
  for (const check of complianceChecks) test(check.name, () => check.run({ engine, model }))
})

describe('in-memory engine specifics', () => {
  test('the tokenizer round-trips text', () => {
    const text = 'def add(a, b):\n    return a + b'
    expect(memoryTokenize(text).join('')).toBe(text)
  })

  test('promises reproducible output: the same deterministic request gives the same bytes', async () => {
    const engine = createMemoryEngine()
    expect((await engine.load(model)).deterministic).toBe(true)
    const request = { model: model.id, prompt: 'p', max_tokens: 12, temperature: 0, seed: 42 }
    expect((await engine.complete(request)).text).toBe((await engine.complete(request)).text)
  })

  test('json_object output parses as JSON', async () => {
    const engine = createMemoryEngine()
    await engine.load(model)
    const result = await engine.complete({
      model: model.id,
      prompt: 'x',
      max_tokens: 20,
      response_format: { type: 'json_object' },
    })
    expect(JSON.parse(result.text)).toHaveProperty('answer')
  })

  test('stop sequences cut the output', async () => {
    const engine = createMemoryEngine()
    await engine.load(model)
    const full = await engine.complete({ model: model.id, prompt: 'p', max_tokens: 12, temperature: 0 })
    const word = full.text.split(' ')[3] as string
    const cut = await engine.complete({
      model: model.id,
      prompt: 'p',
      max_tokens: 12,
      temperature: 0,
      stop: [` ${word}`],
    })
    expect(full.text.startsWith(cut.text)).toBe(true)
    expect(cut.text).not.toContain(` ${word}`)
    expect(cut.finish_reason).toBe('stop')
  })

  test('without a model it throws ModelNotLoadedError', async () => {
    await expect(createMemoryEngine().complete({ model: 'x', prompt: 'p' })).rejects.toMatchObject({
      name: 'ModelNotLoadedError',
    })
  })
})
