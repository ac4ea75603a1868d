/**
 * The `InferenceEngine` compliance suite: what every backend must do, as plain async checks that throw on
 * failure, so the same checks run in Node under vitest (in-memory engine) and inside a browser page (the
 * WebAssembly and WebGPU engines, through their worker proxies). Each check gets a loaded engine.
 */
import type { InferenceEngine, ModelSpec } from '../core/inference.ts'

export type ComplianceContext = { engine: InferenceEngine; model: ModelSpec }
export type ComplianceCheck = { name: string; run(context: ComplianceContext): Promise<void> }

class ComplianceFailure extends Error {
  override name = 'ComplianceFailure'
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ComplianceFailure(message)
}

const prompt = (model: ModelSpec) => ({
  model: model.id,
  prompt: 'def add(a, b):\n    return',
  temperature: 0,
  seed: 0,
})

export const complianceChecks: ComplianceCheck[] = [
  {
    name: 'reports the loaded model',
    async run({ engine, model }) {
      const current = await engine.current()
      assert(current?.id === model.id, `current() is ${JSON.stringify(current)}, expected ${model.id}`)
      // A pinned hash must be the loaded one; an unpinned one is learned from the file, so it need only be a hash.
      assert(
        model.contentHash === null
          ? /^0x[0-9a-f]{64}$/.test(current.contentHash)
          : current.contentHash === model.contentHash.toLowerCase(),
        `current() has the wrong content hash ${current.contentHash}`,
      )
    },
  },
  {
    name: 'streams deltas that add up to the text, with usage',
    async run({ engine, model }) {
      const deltas: string[] = []
      let deltaTokens = 0
      const result = await engine.complete(
        { ...prompt(model), max_tokens: 8 },
        { onDelta: (d) => (deltas.push(d.text), (deltaTokens += d.tokens)) },
      )
      assert(deltas.length > 0, 'no deltas were streamed')
      assert(
        deltas.join('') === result.text,
        `deltas ${JSON.stringify(deltas.join(''))} differ from text ${JSON.stringify(result.text)}`,
      )
      assert(
        result.usage.completion_tokens > 0 && result.usage.completion_tokens <= 8,
        `completion_tokens ${result.usage.completion_tokens} not in 1..8`,
      )
      assert(
        deltaTokens === result.usage.completion_tokens,
        `delta tokens ${deltaTokens} != completion_tokens ${result.usage.completion_tokens}`,
      )
      assert(result.usage.prompt_tokens > 0, 'prompt_tokens is 0')
      assert(
        result.usage.total_tokens === result.usage.prompt_tokens + result.usage.completion_tokens,
        'total_tokens is not the sum',
      )
      assert(['stop', 'length'].includes(result.finish_reason), `finish_reason ${result.finish_reason}`)
    },
  },
  {
    name: 'max_tokens bounds the output and finishes with "length"',
    async run({ engine, model }) {
      const result = await engine.complete({ ...prompt(model), max_tokens: 3, stop: [] })
      assert(result.usage.completion_tokens <= 3, `generated ${result.usage.completion_tokens} tokens for max_tokens 3`)
      if (result.usage.completion_tokens === 3)
        assert(result.finish_reason === 'length', `finish_reason ${result.finish_reason}`)
    },
  },
  {
    name: 'deterministic mode gives the same output twice',
    async run({ engine, model }) {
      const a = await engine.complete({ ...prompt(model), max_tokens: 16 })
      const b = await engine.complete({ ...prompt(model), max_tokens: 16 })
      assert(a.text === b.text, `outputs differ: ${JSON.stringify(a.text)} vs ${JSON.stringify(b.text)}`)
    },
  },
  {
    name: 'chat requests work and count prompt tokens',
    async run({ engine, model }) {
      const result = await engine.chat({
        model: model.id,
        messages: [{ role: 'user', content: 'Hello there' }],
        max_tokens: 4,
        temperature: 0,
        seed: 0,
      })
      assert(result.usage.prompt_tokens > 0, 'chat prompt_tokens is 0')
      assert(result.usage.completion_tokens <= 4, 'chat ignored max_tokens')
    },
  },
  {
    name: 'fill-in-the-middle requests work',
    async run({ engine, model }) {
      const result = await engine.complete({
        model: model.id,
        prompt: 'def f(x):\n    ',
        suffix: '\n    return y\n',
        max_tokens: 6,
        temperature: 0,
        seed: 0,
      })
      assert(result.usage.completion_tokens <= 6, 'FIM ignored max_tokens')
    },
  },
  {
    name: 'aborting mid-stream stops generation',
    async run({ engine, model }) {
      const controller = new AbortController()
      let seen = 0
      const result = await engine.complete(
        { ...prompt(model), max_tokens: 2000, stop: [] },
        {
          signal: controller.signal,
          onDelta: () => {
            if (++seen === 2) controller.abort()
          },
        },
      )
      assert(result.finish_reason === 'abort', `finish_reason ${result.finish_reason}, expected abort`)
      assert(result.usage.completion_tokens < 2000, 'generation ran to max_tokens despite the abort')
    },
  },
  {
    name: 'an already aborted signal generates nothing',
    async run({ engine, model }) {
      const result = await engine.complete({ ...prompt(model), max_tokens: 32 }, { signal: AbortSignal.abort() })
      assert(result.finish_reason === 'abort', `finish_reason ${result.finish_reason}`)
      assert(result.usage.completion_tokens === 0, `generated ${result.usage.completion_tokens} tokens`)
    },
  },
  {
    name: 'a request for another model is refused with ModelMismatchError',
    async run({ engine, model }) {
      const error = await engine.complete({ ...prompt(model), model: `${model.id}-other` }).then(
        () => null,
        (e: unknown) => e,
      )
      assert(error instanceof Error && error.name === 'ModelMismatchError', `got ${String(error)}`)
    },
  },
  {
    name: 'countTokens agrees with prompt usage for a completion',
    async run({ engine, model }) {
      const p = prompt(model)
      const [count, result] = await Promise.all([
        engine.countTokens(p.prompt),
        engine.complete({ ...p, max_tokens: 1 }),
      ])
      // Engines may add a BOS token to prompts; allow exactly that.
      assert(
        result.usage.prompt_tokens - count >= 0 && result.usage.prompt_tokens - count <= 1,
        `countTokens ${count} vs prompt_tokens ${result.usage.prompt_tokens}`,
      )
    },
  },
  {
    name: "a network party reuses a cached prompt prefix only when the cache holds no other party's prompt",
    async run({ engine, model }) {
      const text = 'def add(a, b):\n    return a + b\n\ndef sub(a, b):\n    return'
      const ask = (prompt: string, cacheOwner: string) =>
        engine.complete(
          { model: model.id, prompt, max_tokens: 1, temperature: 0, seed: 0 },
          { reusePrefix: true, cacheOwner },
        )
      const evaluated = (r: Awaited<ReturnType<typeof ask>>) => r.timings.prefill_tokens ?? r.usage.prompt_tokens
      // The local user first (its states may stay in the engine's caches), then two peers on the same text.
      await ask(text, 'local')
      await ask(`${text} a`, 'peer:A')
      const own = await ask(`${text} a`, 'peer:A')
      const local = await ask(`${text} a`, 'local')
      // An engine that never reuses (or does not say what it evaluated) has nothing to leak.
      if (evaluated(own) >= own.usage.prompt_tokens && evaluated(local) >= local.usage.prompt_tokens) return
      for (const [prompt, owner] of [
        [`${text} a`, 'peer:B'],
        [`${text} a`, 'peer:A'],
      ] as const) {
        const other = await ask(prompt, owner)
        assert(
          evaluated(other) === other.usage.prompt_tokens,
          `a run for ${owner} evaluated ${evaluated(other)} of ${other.usage.prompt_tokens} prompt tokens after another party's run: it reused their cache`,
        )
      }
    },
  },
  {
    name: 'benchmark reports positive prefill and decode speeds',
    async run({ engine }) {
      const result = await engine.benchmark({ promptTokens: 32, generateTokens: 8 })
      assert(result.prefill_tokens_per_s > 0 && result.decode_tokens_per_s > 0, JSON.stringify(result))
      assert(result.generated_tokens > 0, 'benchmark generated nothing')
    },
  },
]
