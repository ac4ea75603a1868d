/**
 * The demo models: small llama-architecture GGUF files with deterministic pseudo-random weights, for tests,
 * benchmarks and the local stack on machines that cannot download real models. Their text means nothing, but
 * they exercise the real kernels, the real tokenizer and real sampling, and greedy output is reproducible.
 *
 * Readable output comes from one reserved embedding dimension (0): every token embedding holds a constant there,
 * no layer writes to it, and the output matrix reads it with +B for printable-ASCII tokens and -B for the rest.
 * The other dimensions carry the random, context-dependent part that picks among printable tokens.
 */
import {
  encodeF16,
  encodeF32,
  encodeGguf,
  encodeQ4_0,
  encodeQ8_0,
  gguf,
  GgmlType,
  type GgufTensor,
} from '../../core/gguf.ts'
import { buildVocabulary, bytesToUnicode, DEMO_CORPUS, isPrintableToken } from './tokenizer.ts'

export type DemoModelConfig = {
  name: string
  mergeCount: number
  embedding: number
  layers: number
  heads: number
  kvHeads: number
  feedForward: number
  contextLength: number
  weightType: GgmlType.F32 | GgmlType.F16 | GgmlType.Q4_0 | GgmlType.Q8_0
  seed: number
}

/** Well under 1 MB: for tests. */
export const DEMO_TINY: DemoModelConfig = {
  name: 'modelex-demo-tiny',
  mergeCount: 160,
  embedding: 64,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  feedForward: 128,
  contextLength: 1024,
  weightType: GgmlType.F16,
  seed: 42,
}

/** About 30M parameters in Q8_0: for benchmarks and the local stack's demo provider. */
export const DEMO_30M: DemoModelConfig = {
  name: 'modelex-demo-30m',
  mergeCount: 640,
  embedding: 512,
  layers: 8,
  heads: 8,
  kvHeads: 8,
  feedForward: 1664,
  contextLength: 2048,
  weightType: GgmlType.Q8_0,
  seed: 30,
}

/** llama.cpp's `general.file_type` (LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_Q4_0, MOSTLY_Q8_0). */
const FILE_TYPES: Record<DemoModelConfig['weightType'], number> = {
  [GgmlType.F32]: 0,
  [GgmlType.F16]: 1,
  [GgmlType.Q4_0]: 2,
  [GgmlType.Q8_0]: 7,
}

/**
 * Impostors of the tiny demo model, for spot-check tests and `bench:verify`: the same architecture with other
 * random weights, and the same weights quantized more coarsely (Q8_0 or Q4_0 instead of F16), as a node that cuts costs
 * would serve them.
 */
export const DEMO_TINY_OTHER_WEIGHTS: DemoModelConfig = {
  ...DEMO_TINY,
  name: 'modelex-demo-tiny-other-weights',
  seed: 4242,
}
export const DEMO_TINY_Q4_0: DemoModelConfig = {
  ...DEMO_TINY,
  name: 'modelex-demo-tiny-q4_0',
  weightType: GgmlType.Q4_0,
}
export const DEMO_TINY_Q8_0: DemoModelConfig = {
  ...DEMO_TINY,
  name: 'modelex-demo-tiny-q8_0',
  weightType: GgmlType.Q8_0,
}

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

const RESERVED = 2.0
const BIAS = 3.0

export function countParameters(config: DemoModelConfig, vocabularySize: number): number {
  const headDim = config.embedding / config.heads
  const perLayer =
    config.embedding * config.embedding * 2 +
    config.embedding * config.kvHeads * headDim * 2 +
    config.embedding * config.feedForward * 3 +
    config.embedding * 2
  return vocabularySize * config.embedding * 2 + config.layers * perLayer + config.embedding
}

export function generateDemoModel(config: DemoModelConfig): Uint8Array {
  const vocabulary = buildVocabulary(DEMO_CORPUS, config.mergeCount)
  const n = config.embedding
  const vocab = vocabulary.tokens.length
  const headDim = n / config.heads
  const kv = config.kvHeads * headDim
  const random = gaussian(config.seed)
  const byteChars = bytesToUnicode()

  const matrix = (rows: number, cols: number, std: number, fill?: (row: number, values: Float32Array) => void) => {
    const values = new Float32Array(rows * cols)
    for (let i = 0; i < values.length; i++) values[i] = random() * std
    if (fill) for (let r = 0; r < rows; r++) fill(r, values.subarray(r * cols, (r + 1) * cols))
    return values
  }
  const ones = (count: number) => new Float32Array(count).fill(1)
  const encode = (values: Float32Array, type: GgmlType) =>
    type === GgmlType.F32
      ? encodeF32(values)
      : type === GgmlType.F16
        ? encodeF16(values)
        : type === GgmlType.Q4_0
          ? encodeQ4_0(values)
          : encodeQ8_0(values)
  const tensor = (
    name: string,
    ne: number[],
    values: Float32Array,
    type: GgmlType = config.weightType,
  ): GgufTensor => ({ name, ne, type, data: encode(values, type) })
  // Layers never write dimension 0: it carries the printable-token bias to the output untouched.
  const clearRow0 = (row: number, values: Float32Array) => {
    if (row === 0) values.fill(0)
  }

  const tensors: GgufTensor[] = [
    tensor(
      'token_embd.weight',
      [n, vocab],
      matrix(vocab, n, 0.3, (_, values) => (values[0] = RESERVED)),
    ),
  ]
  for (let l = 0; l < config.layers; l++) {
    tensors.push(
      tensor(`blk.${l}.attn_norm.weight`, [n], ones(n), GgmlType.F32),
      tensor(`blk.${l}.attn_q.weight`, [n, n], matrix(n, n, 1 / Math.sqrt(n))),
      tensor(`blk.${l}.attn_k.weight`, [n, kv], matrix(kv, n, 1 / Math.sqrt(n))),
      tensor(`blk.${l}.attn_v.weight`, [n, kv], matrix(kv, n, 1 / Math.sqrt(n))),
      tensor(`blk.${l}.attn_output.weight`, [n, n], matrix(n, n, 0.5 / Math.sqrt(n), clearRow0)),
      tensor(`blk.${l}.ffn_norm.weight`, [n], ones(n), GgmlType.F32),
      tensor(`blk.${l}.ffn_gate.weight`, [n, config.feedForward], matrix(config.feedForward, n, 1 / Math.sqrt(n))),
      tensor(`blk.${l}.ffn_up.weight`, [n, config.feedForward], matrix(config.feedForward, n, 1 / Math.sqrt(n))),
      tensor(
        `blk.${l}.ffn_down.weight`,
        [config.feedForward, n],
        matrix(n, config.feedForward, 0.5 / Math.sqrt(config.feedForward), clearRow0),
      ),
    )
  }
  const printable = vocabulary.tokens.map(
    (token, id) => vocabulary.tokenTypes[id] === 1 && isPrintableToken(token, byteChars),
  )
  tensors.push(
    tensor('output_norm.weight', [n], ones(n), GgmlType.F32),
    tensor(
      'output.weight',
      [n, vocab],
      matrix(vocab, n, 0.5, (token, values) => (values[0] = printable[token] ? BIAS : -BIAS)),
    ),
  )

  const eos = vocabulary.special['<|endoftext|>']
  return encodeGguf({
    metadata: {
      'general.architecture': gguf.str('llama'),
      'general.type': gguf.str('model'),
      'general.name': gguf.str(`${config.name} (random weights: its text means nothing)`),
      'general.license': gguf.str('Apache-2.0'),
      'general.file_type': gguf.u32(FILE_TYPES[config.weightType]),
      'llama.vocab_size': gguf.u32(vocab),
      'llama.context_length': gguf.u32(config.contextLength),
      'llama.embedding_length': gguf.u32(n),
      'llama.block_count': gguf.u32(config.layers),
      'llama.feed_forward_length': gguf.u32(config.feedForward),
      'llama.attention.head_count': gguf.u32(config.heads),
      'llama.attention.head_count_kv': gguf.u32(config.kvHeads),
      'llama.rope.dimension_count': gguf.u32(headDim),
      'llama.attention.layer_norm_rms_epsilon': gguf.f32(1e-5),
      'llama.rope.freq_base': gguf.f32(10000),
      'tokenizer.ggml.model': gguf.str('gpt2'),
      'tokenizer.ggml.pre': gguf.str('gpt-2'),
      'tokenizer.ggml.tokens': gguf.strings(vocabulary.tokens),
      'tokenizer.ggml.token_type': gguf.i32s(vocabulary.tokenTypes),
      'tokenizer.ggml.merges': gguf.strings(vocabulary.merges),
      'tokenizer.ggml.bos_token_id': gguf.u32(eos),
      'tokenizer.ggml.eos_token_id': gguf.u32(eos),
      'tokenizer.ggml.eot_token_id': gguf.u32(vocabulary.special['<|im_end|>']),
      'tokenizer.ggml.padding_token_id': gguf.u32(vocabulary.special['<|fim_pad|>']),
      'tokenizer.ggml.fim_pre_token_id': gguf.u32(vocabulary.special['<|fim_prefix|>']),
      'tokenizer.ggml.fim_suf_token_id': gguf.u32(vocabulary.special['<|fim_suffix|>']),
      'tokenizer.ggml.fim_mid_token_id': gguf.u32(vocabulary.special['<|fim_middle|>']),
      'tokenizer.ggml.fim_pad_token_id': gguf.u32(vocabulary.special['<|fim_pad|>']),
      'tokenizer.ggml.add_bos_token': gguf.bool(false),
      'tokenizer.ggml.add_eos_token': gguf.bool(false),
      'tokenizer.chat_template': gguf.str(CHATML_TEMPLATE),
    },
    tensors,
  })
}

/** Standard normal samples from a seeded generator (mulberry32 + Box-Muller). */
function gaussian(seed: number): () => number {
  let a = seed >>> 0
  const uniform = () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  let spare: number | null = null
  return () => {
    if (spare !== null) {
      const value = spare
      spare = null
      return value
    }
    const u = Math.max(uniform(), 1e-12)
    const v = uniform()
    const r = Math.sqrt(-2 * Math.log(u))
    spare = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }
}
