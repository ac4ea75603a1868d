/**
 * Prompt formats: fill-in-the-middle layouts per model family, as listed in the model catalog.
 */
import type { FimFormat } from './inference.ts'

/** PSM order (prefix, suffix, middle), which Qwen2.5-Coder, StarCoder and DeepSeek-Coder all use. */
export function buildFimPrompt(format: FimFormat, prefix: string, suffix: string): string {
  return `${format.prefix}${prefix}${format.suffix}${suffix}${format.middle}`
}

export const FIM_FORMATS = {
  /** Qwen2.5-Coder, and the Modelex demo models. */
  qwen: {
    prefix: '<|fim_prefix|>',
    suffix: '<|fim_suffix|>',
    middle: '<|fim_middle|>',
    end: ['<|endoftext|>', '<|fim_pad|>'],
  },
  starcoder: { prefix: '<fim_prefix>', suffix: '<fim_suffix>', middle: '<fim_middle>', end: ['<|endoftext|>'] },
  deepseek: { prefix: '<｜fim▁begin｜>', suffix: '<｜fim▁hole｜>', middle: '<｜fim▁end｜>', end: ['<|EOT|>'] },
} as const satisfies Record<string, FimFormat>
