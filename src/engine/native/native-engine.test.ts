/**
 * The native engine (node-llama-cpp's prebuilt CPU build) on the generated demo GGUFs: the engine compliance suite,
 * then what the suite does not pin down — integrity, typed load errors, FIM, stop strings, grammars, seeds, prefix
 * reuse, and the `deterministic` promise. Real llama.cpp, real files; no test doubles.
 */
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { ModelSpec } from '../../core/inference.ts'
import { DEMO_MODELS } from '../../core/models.ts'
import { ensureDemoModels } from '../../server/programs/model-demo.ts'
import { complianceChecks } from '../compliance.ts'
import { createNativeEngine, modelPath, nativeEngineName, type NativeEngine } from './native-engine.ts'

/** Tests that start another engine: starting llama.cpp first tests its binary in a child process (seconds on a busy machine). */
const ENGINE_START_MS = 60_000
const record = DEMO_MODELS.find((m) => m.id === 'modelex-demo-tiny')!
let spec: ModelSpec
let engine: NativeEngine
let scratch: string

beforeAll(async () => {
  const paths = await ensureDemoModels({ names: [record.id] })
  spec = { ...record, source: paths[record.id]! }
  scratch = await mkdtemp(join(tmpdir(), 'modelex-native-'))
  engine = createNativeEngine({ threads: 1 })
  await engine.load(spec)
}, 120_000)

afterAll(async () => {
  await engine?.close()
  if (scratch) await rm(scratch, { recursive: true, force: true })
})

const errorName = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (e: unknown) => (e instanceof Error ? e.name : String(e)),
  )

describe('native engine compliance (modelex-demo-tiny, CPU)', () => {
  for (const check of complianceChecks) test(check.name, () => check.run({ engine, model: spec }))
})

describe('native engine', () => {
  test('loads on the CPU build, deterministic, announced as "native", with the pinned hash', async () => {
    const current = await engine.current()
    expect(current).toMatchObject({
      id: record.id,
      engine: 'native',
      backend: 'cpu',
      engineName: 'native',
      deterministic: true,
      gpuLayers: 0,
      threads: 1,
    })
    expect(current?.contentHash).toBe(record.contentHash)
    expect(current?.placement?.device).toBe('cpu')
    expect(nativeEngineName('cuda')).toBe('native+cuda')
  })

  test(
    'an unpinned model learns its hash from the file; a wrong pin is ModelIntegrityError and nothing loads',
    async () => {
      const other = createNativeEngine({ threads: 1 })
      try {
        const learned = await other.load({ ...spec, contentHash: null })
        expect(learned.contentHash).toBe(record.contentHash)
        const wrong = `0x${'ab'.repeat(32)}`
        expect(await errorName(other.load({ ...spec, contentHash: wrong }))).toBe('ModelIntegrityError')
        expect(await other.current()).toBeNull()
      } finally {
        await other.close()
      }
    },
    ENGINE_START_MS,
  )

  test(
    'known hashes skip rehashing an unchanged file, and any write to the file makes it hashed again',
    async () => {
      const copy = join(scratch, 'copy.gguf')
      await writeFile(copy, await readFile(spec.source))
      const knownHashes = new Map<string, string>()
      const other = createNativeEngine({ threads: 1, knownHashes })
      try {
        await other.load({ ...spec, source: copy })
        expect([...knownHashes.values()]).toEqual([record.contentHash])
        // A poisoned entry shows the cache is read: the pinned hash no longer matches what it says.
        const [fingerprint] = [...knownHashes.keys()]
        knownHashes.set(fingerprint!, `0x${'cd'.repeat(32)}`)
        expect(await errorName(other.load({ ...spec, source: copy }))).toBe('ModelIntegrityError')
        // Replacing the file, even with the same bytes, changes its fingerprint (a new inode): it is hashed again.
        await writeFile(`${copy}.new`, await readFile(spec.source))
        await rename(`${copy}.new`, copy)
        expect((await other.load({ ...spec, source: copy })).contentHash).toBe(record.contentHash)
        expect(knownHashes.size).toBe(2)
      } finally {
        await other.close()
      }
    },
    ENGINE_START_MS,
  )

  test(
    'a missing file, a file that is not GGUF, a truncated GGUF and a remote URL are typed errors',
    async () => {
      expect(await errorName(engine.countTokens('x'))).toBe('resolved')
      const other = createNativeEngine({ threads: 1 })
      try {
        expect(await errorName(other.load({ ...spec, source: join(scratch, 'absent.gguf') }))).toBe(
          'ModelFileNotFoundError',
        )
        const text = join(scratch, 'notes.gguf')
        await writeFile(text, 'not a model at all')
        expect(await errorName(other.load({ ...spec, source: text, contentHash: null }))).toBe('InvalidModelFileError')
        const truncated = join(scratch, 'truncated.gguf')
        await writeFile(truncated, (await readFile(spec.source)).subarray(0, 4096))
        expect(await errorName(other.load({ ...spec, source: truncated, contentHash: null }))).toBe('ModelLoadError')
        expect(await errorName(other.load({ ...spec, source: 'https://example.com/model.gguf' }))).toBe(
          'ModelLoadError',
        )
        expect(await errorName(other.complete({ model: spec.id, prompt: 'x' }))).toBe('ModelNotLoadedError')
      } finally {
        await other.close()
      }
      expect(modelPath(`file://${spec.source}`)).toBe(spec.source)
    },
    ENGINE_START_MS,
  )

  test(
    'a GPU backend asked for by name either loads (and is not deterministic) or is NativeEngineUnavailableError',
    async () => {
      const cuda = createNativeEngine({ gpu: 'cuda', threads: 1 })
      try {
        const outcome = await cuda.load(spec).then(
          (loaded) => loaded,
          (e: unknown) => e,
        )
        if (outcome instanceof Error) expect(outcome.name).toBe('NativeEngineUnavailableError')
        else expect(outcome).toMatchObject({ backend: 'cuda', engineName: 'native+cuda', deterministic: false })
      } finally {
        await cuda.close()
      }
    },
    ENGINE_START_MS,
  )

  test(
    'fill-in-the-middle prompts use the FIM markers as single special tokens',
    async () => {
      const prefix = 'def f(x):\n    '
      const suffix = '\n    return y\n'
      const fim = await engine.complete({
        model: spec.id,
        prompt: prefix,
        suffix,
        max_tokens: 4,
        temperature: 0,
        seed: 0,
      })
      const plain = await engine.complete({
        model: spec.id,
        prompt: prefix + suffix,
        max_tokens: 1,
        temperature: 0,
        seed: 0,
      })
      expect(fim.usage.prompt_tokens - plain.usage.prompt_tokens).toBeGreaterThanOrEqual(2)
      expect(fim.usage.prompt_tokens - plain.usage.prompt_tokens).toBeLessThanOrEqual(3)
      const noFim = createNativeEngine({ threads: 1 })
      try {
        const { fim: _, ...withoutFim } = spec
        await noFim.load(withoutFim)
        expect(await errorName(noFim.complete({ model: spec.id, prompt: prefix, suffix }))).toBe(
          'InvalidInferenceRequestError',
        )
      } finally {
        await noFim.close()
      }
    },
    ENGINE_START_MS,
  )

  test("chat prompts are the GGUF chat template rendered (ChatML here, no BOS), as llama.cpp's server renders them", async () => {
    const messages = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'Hello there' },
    ]
    const rendered =
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n'
    const chat = await engine.chat({ model: spec.id, messages, max_tokens: 4, temperature: 0, seed: 0 })
    const completion = await engine.complete({
      model: spec.id,
      prompt: rendered,
      max_tokens: 4,
      temperature: 0,
      seed: 0,
    })
    expect(chat.usage.prompt_tokens).toBe(await engine.countTokens(rendered))
    expect(chat.text).toBe(completion.text)
  })

  test('stop strings end the output before them, in the text and in the streamed deltas', async () => {
    const request = {
      model: spec.id,
      prompt: 'def add(a, b):\n    return',
      max_tokens: 40,
      temperature: 0,
      seed: 0,
      stop: [],
    }
    const free = await engine.complete(request)
    expect(free.text.length).toBeGreaterThan(4)
    // A stop string taken from the middle of the free output: the output must end right before its first occurrence.
    const stop = free.text.slice(2, 4)
    const deltas: string[] = []
    let tokens = 0
    const stopped = await engine.complete(
      { ...request, stop: [stop] },
      { onDelta: (d) => (deltas.push(d.text), (tokens += d.tokens)) },
    )
    expect(stopped.text).toBe(free.text.slice(0, free.text.indexOf(stop)))
    expect(stopped.finish_reason).toBe('stop')
    expect(deltas.join('')).toBe(stopped.text)
    expect(tokens).toBe(stopped.usage.completion_tokens)
    expect(stopped.usage.completion_tokens).toBeLessThan(free.usage.completion_tokens)
  })

  test('grammars constrain the output (GBNF and JSON schema); a bad grammar is InvalidInferenceRequestError', async () => {
    const yesNo = await engine.complete({
      model: spec.id,
      prompt: 'Answer:',
      max_tokens: 10,
      temperature: 0,
      seed: 0,
      response_format: { type: 'grammar', grammar: 'root ::= "yes" | "no"' },
    })
    expect(['yes', 'no']).toContain(yesNo.text)
    expect(yesNo.finish_reason).toBe('stop')
    const grammar = 'root ::= "{\\"ok\\":" ("true" | "false") ",\\"n\\":" [0-9] "}"'
    const json = await engine.complete({
      model: spec.id,
      prompt: 'Result:',
      max_tokens: 20,
      temperature: 0.9,
      seed: 3,
      response_format: { type: 'grammar', grammar },
    })
    expect(JSON.parse(json.text)).toEqual({ ok: expect.any(Boolean), n: expect.any(Number) })
    const schema = { type: 'object', properties: { label: { enum: ['positive', 'negative'] } }, required: ['label'] }
    const labelled = await engine.chat({
      model: spec.id,
      messages: [{ role: 'user', content: 'Label it' }],
      max_tokens: 30,
      temperature: 0,
      seed: 0,
      response_format: { type: 'json_object', schema },
    })
    expect(['positive', 'negative']).toContain((JSON.parse(labelled.text) as { label: string }).label)
    expect(
      await errorName(
        engine.complete({
          model: spec.id,
          prompt: 'x',
          response_format: { type: 'grammar', grammar: 'root ::= undefined-rule' },
        }),
      ),
    ).toBe('InvalidInferenceRequestError')
  })

  test('sampling: a seed reproduces a sampled output; another seed may differ; bad parameters are typed errors', async () => {
    const request = {
      model: spec.id,
      prompt: 'def add(a, b):\n    return',
      max_tokens: 24,
      temperature: 1.5,
      top_p: 1,
      stop: [],
    }
    const outputs = await Promise.all(
      [1, 1, 2, 3, 4].map((seed) => engine.complete({ ...request, seed }).then((r) => r.text)),
    )
    expect(outputs[0]).toBe(outputs[1])
    expect(new Set(outputs).size).toBeGreaterThan(1)
    expect(await errorName(engine.complete({ ...request, max_tokens: -1 }))).toBe('InvalidInferenceRequestError')
    expect(await errorName(engine.complete({ ...request, top_p: 0 }))).toBe('InvalidInferenceRequestError')
    expect(await errorName(engine.complete({ ...request, seed: 1.5 }))).toBe('InvalidInferenceRequestError')
    expect(await errorName(engine.complete({ ...request, prompt: 'x '.repeat(2000) }))).toBe(
      'InvalidInferenceRequestError',
    )
  })

  test('reusePrefix evaluates only what follows the cached prefix; without it every request prefills in full', async () => {
    const prompt = 'def add(a, b):\n    return a + b\n\ndef sub(a, b):\n    return'
    const first = await engine.complete({ model: spec.id, prompt, max_tokens: 2, temperature: 0, seed: 0 })
    const again = await engine.complete(
      { model: spec.id, prompt: `${prompt} a`, max_tokens: 2, temperature: 0, seed: 0 },
      { reusePrefix: true },
    )
    expect(first.timings.prefill_tokens).toBe(first.usage.prompt_tokens)
    expect(again.timings.prefill_tokens).toBeLessThan(5)
    const fresh = await engine.complete({
      model: spec.id,
      prompt: `${prompt} a`,
      max_tokens: 2,
      temperature: 0,
      seed: 0,
    })
    expect(fresh.timings.prefill_tokens).toBe(fresh.usage.prompt_tokens)
  })

  test('an abort stops a long generation within a few tokens', async () => {
    const controller = new AbortController()
    let seen = 0
    const result = await engine.complete(
      { model: spec.id, prompt: 'def add(a, b):\n    return', max_tokens: 900, temperature: 0, seed: 0, stop: [] },
      { signal: controller.signal, onDelta: (d) => (seen += d.tokens) >= 5 && controller.abort() },
    )
    expect(result.finish_reason).toBe('abort')
    expect(result.usage.completion_tokens).toBeLessThan(5 + 4)
  })

  test(
    'a prompt longer than a batch is evaluated batch by batch, and an abort stops it between batches',
    async () => {
      const small = createNativeEngine({ threads: 1, batchSize: 8 })
      try {
        await small.load(spec)
        const prompt = 'def add(a, b):\n    return a + b\n\n'.repeat(6)
        const request = { model: spec.id, prompt, max_tokens: 6, temperature: 0, seed: 0 }
        const [a, b] = [await small.complete(request), await small.complete(request)]
        expect(a.usage.prompt_tokens).toBeGreaterThan(8 * 4)
        expect(a.timings.prefill_tokens).toBe(a.usage.prompt_tokens)
        expect(b.text).toBe(a.text)
        const controller = new AbortController()
        const pending = small.complete(request, { signal: controller.signal })
        queueMicrotask(() => controller.abort())
        const aborted = await pending
        expect(aborted.finish_reason).toBe('abort')
        expect(aborted.usage.completion_tokens).toBe(0)
        expect(aborted.timings.prefill_tokens ?? 0).toBeLessThan(a.usage.prompt_tokens)
      } finally {
        await small.close()
      }
    },
    ENGINE_START_MS,
  )
})
