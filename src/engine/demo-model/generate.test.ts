import { keccak256 } from 'viem'
import { describe, expect, test } from 'vitest'
import { readGgufHeader, ggufValue } from '../../core/gguf.ts'
import { DEMO_MODELS } from '../../core/models.ts'
import { countParameters, DEMO_30M, DEMO_TINY, generateDemoModel } from './generate.ts'
import { buildVocabulary, bytesToUnicode, DEMO_CORPUS, isPrintableToken, SPECIAL_TOKENS } from './tokenizer.ts'

describe('demo vocabulary', () => {
  test("byte-to-unicode is GPT-2's reversible table", () => {
    const table = bytesToUnicode()
    expect(new Set(table).size).toBe(256)
    expect(table[0x41]).toBe('A')
    expect(table[0x20]).toBe('Ġ')
    expect(table[0x0a]).toBe('Ċ')
  })

  test('learns merges deterministically and appends the special tokens', () => {
    const a = buildVocabulary(DEMO_CORPUS, 50)
    const b = buildVocabulary(DEMO_CORPUS, 50)
    expect(a).toEqual(b)
    expect(a.merges).toHaveLength(50)
    expect(a.tokens).toHaveLength(256 + 50 + SPECIAL_TOKENS.length)
    for (const merge of a.merges) expect(merge.split(' ')).toHaveLength(2)
    expect(a.tokens[a.special['<|fim_prefix|>']]).toBe('<|fim_prefix|>')
    expect(a.tokenTypes[a.special['<|endoftext|>']]).toBe(3)
  })

  test('printable tokens are ASCII text', () => {
    expect(isPrintableToken('ĠHello')).toBe(true)
    expect(isPrintableToken('Ċ')).toBe(true)
    expect(isPrintableToken(bytesToUnicode()[0] as string)).toBe(false)
  })
})

describe('demo models', () => {
  test('the tiny model is well under 1 MB, and its bytes hash to the catalog entry', () => {
    const bytes = generateDemoModel(DEMO_TINY)
    expect(bytes.byteLength).toBeLessThan(400_000)
    const record = DEMO_MODELS.find((m) => m.id === DEMO_TINY.name)
    expect(keccak256(bytes)).toBe(record?.contentHash)
    expect(record?.sizeBytes).toBe(bytes.byteLength)
    const header = readGgufHeader(bytes, { totalBytes: bytes.byteLength })
    expect(ggufValue(header, 'tokenizer.ggml.model')).toBe('gpt2')
    expect((ggufValue(header, 'tokenizer.ggml.merges') as string[]).length).toBe(DEMO_TINY.mergeCount)
    expect(ggufValue(header, 'llama.block_count')).toBe(DEMO_TINY.layers)
    expect(header.tensors.find((t) => t.name === 'token_embd.weight')?.ne).toEqual([
      DEMO_TINY.embedding,
      (ggufValue(header, 'tokenizer.ggml.tokens') as string[]).length,
    ])
  })

  test('the benchmark model has about 30M parameters in Q8_0 and hashes to its catalog entry', () => {
    const vocabulary = buildVocabulary(DEMO_CORPUS, DEMO_30M.mergeCount)
    const parameters = countParameters(DEMO_30M, vocabulary.tokens.length)
    expect(parameters).toBeGreaterThan(25e6)
    expect(parameters).toBeLessThan(35e6)
    const bytes = generateDemoModel(DEMO_30M)
    expect(keccak256(bytes)).toBe(DEMO_MODELS.find((m) => m.id === DEMO_30M.name)?.contentHash)
  }, 60_000)
})
