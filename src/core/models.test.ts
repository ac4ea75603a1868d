import { describe, expect, test } from 'vitest'
import { buildFimPrompt, FIM_FORMATS } from './prompts.ts'
import {
  DEMO_MODELS,
  findModel,
  modelFits,
  pinnedModelRefs,
  WASM_CATALOG,
  webLlmRecords,
  type WebLlmModelEntry,
} from './models.ts'

const entries: WebLlmModelEntry[] = [
  {
    model: 'https://huggingface.co/mlc-ai/Qwen2.5-Coder-1.5B-Instruct-q4f16_1-MLC',
    model_id: 'Qwen2.5-Coder-1.5B-Instruct-q4f16_1-MLC',
    model_lib: 'https://example.invalid/Qwen2-1.5B-Instruct-q4f16_1_cs1k-webgpu.wasm',
    vram_required_MB: 1629.75,
    overrides: { context_window_size: 4096 },
  },
  {
    model: 'https://huggingface.co/mlc-ai/Llama-3.2-1B-Instruct-q4f32_1-MLC',
    model_id: 'Llama-3.2-1B-Instruct-q4f32_1-MLC',
    model_lib: 'https://example.invalid/Llama-3.2-1B-Instruct-q4f32_1_cs1k-webgpu.wasm',
    vram_required_MB: 1128,
  },
]

describe('model catalog', () => {
  test('maps web-llm prebuilt entries into records with FIM formats; their identity is learned on load', () => {
    const [coder, llama] = webLlmRecords(entries)
    expect(coder).toMatchObject({
      engine: 'webgpu',
      source: entries[0]?.model_id,
      family: 'qwen2.5-coder',
      coder: true,
      fim: FIM_FORMATS.qwen,
      requiredFeatures: ['shader-f16'],
      contextLength: 4096,
      parameters: '1.5B',
    })
    expect(coder?.contentHash).toBeNull()
    expect(llama).toMatchObject({ coder: false, requiredFeatures: [], family: 'llama-3.2', contextLength: 4096 })
    expect(llama?.fim).toBeUndefined()
  })

  test('identity is the file: demo models pin keccak256 hashes, hosted GGUFs learn theirs on download', () => {
    for (const demo of DEMO_MODELS) expect(demo.contentHash).toMatch(/^0x[0-9a-f]{64}$/)
    const hosted = WASM_CATALOG.filter((m) => !m.demo)
    expect(hosted.length).toBeGreaterThan(0)
    for (const model of hosted) expect(model.contentHash).toBeNull()
    expect(pinnedModelRefs(WASM_CATALOG)).toEqual(DEMO_MODELS.map((m) => ({ id: m.id, contentHash: m.contentHash })))
  })

  test('finds models by id or pinned content hash; ids and pinned hashes are unique', () => {
    const demo = DEMO_MODELS[0]!
    expect(findModel(WASM_CATALOG, demo.id)).toBe(demo)
    expect(findModel(WASM_CATALOG, demo.contentHash!.toUpperCase().replace('0X', '0x'))).toBe(demo)
    const hosted = WASM_CATALOG.find((m) => !m.demo)!
    expect(findModel(WASM_CATALOG, hosted.id)).toBe(hosted)
    expect(findModel(WASM_CATALOG, 'null')).toBeUndefined()
    expect(new Set(WASM_CATALOG.map((m) => m.id)).size).toBe(WASM_CATALOG.length)
    const pinned = pinnedModelRefs(WASM_CATALOG).map((m) => m.contentHash)
    expect(new Set(pinned).size).toBe(pinned.length)
  })

  test('fit: features and memory', () => {
    const [coder] = webLlmRecords(entries)
    const device = {
      features: ['shader-f16'],
      maxBufferSize: 2 ** 30,
      maxStorageBufferBindingSize: 2 ** 30,
      memoryMB: 4096,
    }
    expect(modelFits(coder!, device)).toEqual({ fits: true })
    expect(modelFits(coder!, { ...device, features: [] })).toEqual({ fits: false, reason: 'needs shader-f16' })
    expect(modelFits(coder!, { ...device, memoryMB: 1024 })).toMatchObject({
      fits: false,
      reason: expect.stringMatching(/1630 MiB/),
    })
  })

  test('FIM prompts are prefix-suffix-middle', () => {
    expect(buildFimPrompt(FIM_FORMATS.qwen, 'a', 'b')).toBe('<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>')
    expect(buildFimPrompt(FIM_FORMATS.starcoder, 'a', 'b')).toBe('<fim_prefix>a<fim_suffix>b<fim_middle>')
    expect(buildFimPrompt(FIM_FORMATS.deepseek, 'a', 'b')).toBe('<｜fim▁begin｜>a<｜fim▁hole｜>b<｜fim▁end｜>')
  })
})
