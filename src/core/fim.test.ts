import fc from 'fast-check'
import { expect, test } from 'vitest'
import {
  ASSUMED_CHARS_PER_TOKEN,
  buildFimRequest,
  cleanFimOutput,
  DEFAULT_FIM_BUDGET,
  fimFamilyOf,
  fimFormatFor,
  fimStopSequences,
  renderFimPrompt,
  suffixCharsWithin,
  trimFimContext,
  updatePrefillSpeed,
} from './fim.ts'
import { DEMO_MODELS, WASM_CATALOG, webLlmRecords } from './models.ts'
import { FIM_FORMATS } from './prompts.ts'

const context = { prefix: 'def add(a, b):\n    ', suffix: '\n\nprint(add(1, 2))\n' }

test('each family renders its own markers in prefix-suffix-middle order', () => {
  expect(renderFimPrompt(FIM_FORMATS.qwen, context)).toBe(
    '<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n\nprint(add(1, 2))\n<|fim_middle|>',
  )
  expect(renderFimPrompt(FIM_FORMATS.starcoder, context)).toBe(
    '<fim_prefix>def add(a, b):\n    <fim_suffix>\n\nprint(add(1, 2))\n<fim_middle>',
  )
  expect(renderFimPrompt(FIM_FORMATS.deepseek, context)).toBe(
    '<｜fim▁begin｜>def add(a, b):\n    <｜fim▁hole｜>\n\nprint(add(1, 2))\n<｜fim▁end｜>',
  )
})

test("the format comes from the catalog: Qwen2.5-Coder (web-llm and GGUF) and the demo models use Qwen's", () => {
  const gguf = WASM_CATALOG.find((m) => m.id.startsWith('qwen2.5-coder'))
  expect(gguf && fimFormatFor(gguf)).toBe(FIM_FORMATS.qwen)
  for (const demo of DEMO_MODELS) expect(fimFormatFor(demo)).toBe(FIM_FORMATS.qwen)
  const web = webLlmRecords([
    {
      model: 'https://x/Qwen2.5-Coder-1.5B',
      model_id: 'Qwen2.5-Coder-1.5B-Instruct-q4f16_1-MLC',
      model_lib: 'lib.wasm',
    },
    { model: 'https://x/Llama', model_id: 'Llama-3.2-1B-Instruct-q4f16_1-MLC', model_lib: 'lib.wasm' },
  ])
  expect(fimFormatFor(web[0]!)).toBe(FIM_FORMATS.qwen)
  expect(fimFormatFor(web[1]!)).toBeUndefined()
  const chat = WASM_CATALOG.find((m) => m.id === 'qwen2.5-0.5b-instruct-q4_k_m')!
  expect(fimFormatFor(chat)).toBeUndefined()
})

test('without a catalog format, the family is inferred from the name', () => {
  expect(fimFormatFor({ id: 'deepseek-coder-1.3b-base' })).toBe(FIM_FORMATS.deepseek)
  expect(fimFormatFor({ id: 'starcoder2-3b' })).toBe(FIM_FORMATS.starcoder)
  expect(fimFormatFor({ id: 'x', family: 'qwen2.5-coder' })).toBe(FIM_FORMATS.qwen)
  expect(fimFormatFor({ id: 'mistral-7b' })).toBeUndefined()
  expect(fimFamilyOf(FIM_FORMATS.deepseek)).toBe('deepseek')
})

test('stop sequences are the end tokens and the markers, without duplicates', () => {
  expect(fimStopSequences(FIM_FORMATS.qwen)).toEqual([
    '<|endoftext|>',
    '<|fim_pad|>',
    '<|fim_prefix|>',
    '<|fim_suffix|>',
    '<|fim_middle|>',
  ])
  expect(fimStopSequences(FIM_FORMATS.deepseek)).toContain('<|EOT|>')
})

test('leaked special tokens are cut from the output', () => {
  expect(cleanFimOutput('return a + b<|endoftext|>garbage', FIM_FORMATS.qwen)).toBe('return a + b')
  expect(cleanFimOutput('x = 1<fim_middle>y', FIM_FORMATS.starcoder)).toBe('x = 1')
  expect(cleanFimOutput('plain', undefined)).toBe('plain')
})

test('trimming keeps whole lines next to the budget and always the cursor lines', () => {
  const prefix = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\ncurrent'
  const suffix = 'rest of line\n' + Array.from({ length: 100 }, (_, i) => `after ${i}`).join('\n')
  const trimmed = trimFimContext({ prefix, suffix }, { maxPrefixChars: 40, maxSuffixChars: 40 })
  expect(trimmed.prefix.length).toBeLessThanOrEqual(40)
  expect(trimmed.prefix.endsWith('\ncurrent')).toBe(true)
  expect(trimmed.prefix.startsWith('line ')).toBe(true)
  expect(trimmed.suffix.startsWith('rest of line\n')).toBe(true)
  expect(trimmed.suffix.endsWith('\n')).toBe(true)
  expect(trimmed.suffix.length).toBeLessThanOrEqual(40)
  // A cursor line longer than the budget is kept whole.
  const long = trimFimContext(
    { prefix: 'a\n' + 'x'.repeat(50), suffix: 'y'.repeat(50) + '\nz' },
    { maxPrefixChars: 10, maxSuffixChars: 10 },
  )
  expect(long).toEqual({ prefix: 'x'.repeat(50), suffix: 'y'.repeat(50) + '\n' })
})

test('property: trimmed context is a tail of the prefix and a head of the suffix, within budget or one line', () => {
  const text = fc.string({ unit: fc.constantFrom('a', 'b', '\n', ' '), maxLength: 300 })
  fc.assert(
    fc.property(
      text,
      text,
      fc.integer({ min: 1, max: 200 }),
      fc.integer({ min: 1, max: 200 }),
      (prefix, suffix, maxPrefixChars, maxSuffixChars) => {
        const out = trimFimContext({ prefix, suffix }, { maxPrefixChars, maxSuffixChars })
        expect(prefix.endsWith(out.prefix)).toBe(true)
        expect(suffix.startsWith(out.suffix)).toBe(true)
        const cursorLine = prefix.slice(prefix.lastIndexOf('\n') + 1)
        expect(out.prefix.length <= maxPrefixChars || out.prefix === cursorLine).toBe(true)
        // The cut falls at a line start.
        if (out.prefix.length < prefix.length) expect(prefix[prefix.length - out.prefix.length - 1]).toBe('\n')
      },
    ),
    { numRuns: 300 },
  )
})

test('a FIM request is greedy, seeded, trimmed, and carries the stops', () => {
  const request = buildFimRequest({ model: 'm', ...context, maxTokens: 32, stop: ['\n\n'], format: FIM_FORMATS.qwen })
  expect(request).toEqual({
    model: 'm',
    prompt: context.prefix,
    suffix: context.suffix,
    max_tokens: 32,
    temperature: 0,
    seed: 0,
    stop: [...fimStopSequences(FIM_FORMATS.qwen), '\n\n'],
  })
  expect(
    buildFimRequest({
      model: 'm',
      prefix: 'x'.repeat(DEFAULT_FIM_BUDGET.maxPrefixChars + 10),
      suffix: '',
      maxTokens: 1,
    }).prompt.length,
  ).toBe(DEFAULT_FIM_BUDGET.maxPrefixChars + 10)
  expect(buildFimRequest({ model: 'm', prefix: 'a', suffix: 'b', maxTokens: 1 })).not.toHaveProperty('stop')
})

test('the suffix budget follows the measured prefill speed', () => {
  // Unmeasured: only the rest of the cursor line.
  expect(suffixCharsWithin(100, { msPerToken: 0, charsPerToken: 3 }, 400)).toBe(0)
  // 35 ms a token (a 30M model on a busy CPU): about 2 tokens fit in 100 ms.
  expect(suffixCharsWithin(100, { msPerToken: 35, charsPerToken: 3 }, 400)).toBe(8)
  // A fast engine gets the whole budget.
  expect(suffixCharsWithin(100, { msPerToken: 0.2, charsPerToken: 3 }, 400)).toBe(400)
  const first = updatePrefillSpeed(null, {
    prefillMs: 3_500,
    evaluatedTokens: 100,
    promptChars: 900,
    promptTokens: 300,
  })
  expect(first).toEqual({ msPerToken: 35, charsPerToken: 3 })
  // An average: one fast sample moves it part of the way.
  expect(
    updatePrefillSpeed(first, { prefillMs: 50, evaluatedTokens: 10, promptChars: 900, promptTokens: 300 }, 0.5),
  ).toEqual({ msPerToken: 20, charsPerToken: 3 })
  // Nothing evaluated, or no time: nothing learnt.
  expect(updatePrefillSpeed(first, { prefillMs: 0, evaluatedTokens: 0, promptChars: 900, promptTokens: 0 })).toBe(first)
  // A count that cannot be the whole prompt (fewer than evaluated) keeps the previous characters per token.
  expect(
    updatePrefillSpeed(null, { prefillMs: 10, evaluatedTokens: 5, promptChars: 900, promptTokens: 2 })?.charsPerToken,
  ).toBe(ASSUMED_CHARS_PER_TOKEN)
})
