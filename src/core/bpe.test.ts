import { describe, expect, it } from 'vitest'
import { DEMO_TINY, generateDemoModel } from '../engine/demo-model/generate.ts'
import { buildVocabulary, bytesToUnicode, DEMO_CORPUS, SPECIAL_TOKENS } from '../engine/demo-model/tokenizer.ts'
import { bpeVocabularyFromGguf, byteToUnicode, createBpeTokenizer, preTokenizerOf, type BpeVocabulary } from './bpe.ts'
import { InvalidModelFileError } from './errors/index.ts'
import { encodeGguf, gguf, readGgufHeader } from './gguf.ts'

const demo = buildVocabulary(DEMO_CORPUS, DEMO_TINY.mergeCount)
const demoTokenizer = createBpeTokenizer({
  tokens: demo.tokens,
  merges: demo.merges,
  tokenTypes: demo.tokenTypes,
  pre: 'gpt-2',
})

/** A vocabulary of the 256 byte tokens plus the given merges (and their results), then `special` as control tokens. */
function vocabulary(merges: string[], special: string[] = [], pre?: string): BpeVocabulary {
  const tokens = [...byteToUnicode(), ...merges.map((m) => m.replace(' ', '')), ...special]
  const tokenTypes = tokens.map((_, i) => (i >= tokens.length - special.length ? 3 : 1))
  return { tokens, merges, tokenTypes, ...(pre ? { pre } : {}) }
}

describe('createBpeTokenizer on the demo vocabulary', () => {
  it('uses the same byte-to-unicode table as the demo vocabulary', () => {
    expect(byteToUnicode()).toEqual(bytesToUnicode())
  })

  it('counts the prompt the browser test pins (llama.cpp reports 7 prompt tokens)', () => {
    expect(demoTokenizer.count('def add(a, b):')).toBe(7)
  })

  it('counts the empty text as 0', () => {
    expect(demoTokenizer.count('')).toBe(0)
  })

  it('counts every special token as one token, alone and inside text', () => {
    for (const special of SPECIAL_TOKENS) expect(demoTokenizer.count(special)).toBe(1)
    const a = 'def f(x):\n    '
    const b = '\n    return y\n'
    expect(demoTokenizer.count(`<|fim_prefix|>${a}<|fim_suffix|>${b}<|fim_middle|>`)).toBe(
      demoTokenizer.count(a) + demoTokenizer.count(b) + 3,
    )
    expect(demoTokenizer.count('<|im_start|><|im_end|>')).toBe(2)
  })

  it('splits special tokens longest first, as llama.cpp does', () => {
    const tokenizer = createBpeTokenizer(vocabulary([], ['ab', 'abc']))
    // "abc" is taken before "ab": one token, where a left-to-right scan for "ab" would leave "c" over.
    expect(tokenizer.count('abc')).toBe(1)
    expect(tokenizer.count('ab')).toBe(1)
    expect(tokenizer.count('abab')).toBe(2)
  })

  it('finishes a 256 KiB text (prose, code, unicode, special tokens)', () => {
    const unit = `${DEMO_CORPUS} caf\u00e9 \u2192 \u4e2d\u6587 \u{1f389} <|im_start|>user\n`
    const text = unit.repeat(Math.ceil((256 * 1024) / unit.length)).slice(0, 256 * 1024)
    const count = demoTokenizer.count(text)
    expect(count).toBeGreaterThan(0)
    expect(count).toBeLessThanOrEqual(new TextEncoder().encode(text).byteLength)
  })
})

describe('pre-tokenizers', () => {
  // Merges that join a whole run of digits: the count shows how each pre-tokenizer cut it.
  const digits = ['1 2', '12 3', '123 4']
  it.each([
    ['gpt-2', 1],
    ['llama-bpe', 2],
    ['qwen2', 4],
    ['smollm', 4],
  ])('%s cuts "1234" into pieces that merge to %i tokens', (pre, count) => {
    expect(createBpeTokenizer(vocabulary(digits, [], pre)).count('1234')).toBe(count)
  })

  it('knows the families by their GGUF names and falls back to GPT-2 otherwise', () => {
    expect(preTokenizerOf('qwen2')).toBe('qwen2')
    expect(preTokenizerOf('llama-bpe')).toBe('llama3')
    expect(preTokenizerOf('starcoder')).toBe('digits-gpt2')
    expect(preTokenizerOf('no-such-pre')).toBeUndefined()
    const fallback = createBpeTokenizer(vocabulary([], [], 'no-such-pre'))
    expect(fallback).toMatchObject({ preTokenizer: 'gpt2', exact: false })
    expect(createBpeTokenizer(vocabulary([], [], 'gpt-2')).exact).toBe(true)
  })

  it('GPT-2: spaces before a word go with it, the rest of a run stays apart (\\s+(?!\\S))', () => {
    const tokenizer = createBpeTokenizer(vocabulary(['\u0120 \u0120', '\u0120 b'], [], 'gpt-2'))
    // "a" | "  " | " b"
    expect(tokenizer.count('a   b')).toBe(3)
  })

  it('Llama 3 / Qwen2: one non-letter joins the word after it, line breaks end a whitespace run', () => {
    const merges = ['\u0109 a', '\u0109a b', 'a b']
    expect(createBpeTokenizer(vocabulary(merges, [], 'gpt-2')).count('\tab')).toBe(2)
    expect(createBpeTokenizer(vocabulary(merges, [], 'qwen2')).count('\tab')).toBe(1)
    // Llama 3's \s*[\r\n]+ takes "\n \n" whole; GPT-2's \s+(?!\S) leaves the last "\n" apart from it.
    const newlines = ['\u010a \u0120', '\u010a\u0120 \u010a']
    expect(createBpeTokenizer(vocabulary(newlines, [], 'llama-bpe')).count('\n \nx')).toBe(2)
    expect(createBpeTokenizer(vocabulary(newlines, [], 'gpt-2')).count('\n \nx')).toBe(3)
  })

  it('Llama 3: a piece that is a token counts as one even without the merges (ignore_merges)', () => {
    const v = vocabulary([])
    const tokens = [...v.tokens, 'hello']
    expect(createBpeTokenizer({ ...v, tokens, tokenTypes: tokens.map(() => 1), pre: 'llama-bpe' }).count('hello')).toBe(
      1,
    )
    expect(createBpeTokenizer({ ...v, tokens, tokenTypes: tokens.map(() => 1), pre: 'gpt-2' }).count('hello')).toBe(5)
  })
})

describe('bpeVocabularyFromGguf', () => {
  it("reads the demo model's tokenizer", () => {
    const header = readGgufHeader(generateDemoModel(DEMO_TINY))
    const v = bpeVocabularyFromGguf(header)
    expect(v).toMatchObject({ pre: 'gpt-2', tokens: demo.tokens, merges: demo.merges, tokenTypes: demo.tokenTypes })
  })

  it('gives null for a tokenizer that is not byte-level BPE', () => {
    const header = readGgufHeader(
      encodeGguf({
        metadata: { 'tokenizer.ggml.model': gguf.str('llama'), 'tokenizer.ggml.tokens': gguf.strings(['a']) },
        tensors: [],
      }),
    )
    expect(bpeVocabularyFromGguf(header)).toBeNull()
  })

  it('refuses a gpt2 tokenizer without merges', () => {
    const header = readGgufHeader(
      encodeGguf({
        metadata: { 'tokenizer.ggml.model': gguf.str('gpt2'), 'tokenizer.ggml.tokens': gguf.strings(['a']) },
        tensors: [],
      }),
    )
    expect(() => bpeVocabularyFromGguf(header)).toThrow(InvalidModelFileError)
  })
})
