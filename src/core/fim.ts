/**
 * Fill-in-the-middle requests for code completion: which FIM format a catalog model uses, how much of the text
 * around the cursor goes into the prompt (cut at line boundaries, so the model never sees half a line at the
 * edges), the rendered prompt per family (Qwen2.5-Coder, StarCoder, DeepSeek-Coder; prefix-suffix-middle order),
 * the stop sequences that end a middle, and cleaning of special tokens that leak into output.
 *
 * Engines render the prompt themselves from `prompt` + `suffix` (the OpenAI completion shape) with the format of the
 * loaded model; `renderFimPrompt` is the same layout, for sources that send raw text and for tests.
 */
import type { CompletionRequest, FimFormat } from './inference.ts'
import { buildFimPrompt, FIM_FORMATS } from './prompts.ts'

export type FimFamily = keyof typeof FIM_FORMATS

/** Enough of a model record to pick its FIM format. */
export type FimModel = { id: string; family?: string; fim?: FimFormat }

/** The text around the cursor. */
export type FimContext = { prefix: string; suffix: string }

export type FimBudget = {
  /** Characters of text before the cursor, at most (the nearest whole lines are kept). */
  maxPrefixChars: number
  /** Characters of text after the cursor, at most. */
  maxSuffixChars: number
}

/** About 1,500 and 500 tokens of code: small enough for a fast prefill on a CPU, enough for local context. */
export const DEFAULT_FIM_BUDGET: FimBudget = { maxPrefixChars: 6_000, maxSuffixChars: 2_000 }

/** The model's FIM format: the catalog's, or one inferred from its family or id; undefined for non-coder models. */
export function fimFormatFor(model: FimModel): FimFormat | undefined {
  if (model.fim) return model.fim
  const name = `${model.family ?? ''} ${model.id}`.toLowerCase()
  if (!name.includes('coder') && !name.includes('starcoder')) return undefined
  if (name.includes('qwen')) return FIM_FORMATS.qwen
  if (name.includes('deepseek')) return FIM_FORMATS.deepseek
  if (name.includes('starcoder')) return FIM_FORMATS.starcoder
  return undefined
}

/** The family whose markers a format uses, if it is one of ours. */
export function fimFamilyOf(format: FimFormat): FimFamily | undefined {
  return (Object.keys(FIM_FORMATS) as FimFamily[]).find((family) => FIM_FORMATS[family].prefix === format.prefix)
}

/**
 * Keeps the end of the prefix and the start of the suffix within the budget. Cuts fall on line boundaries: the
 * first kept prefix line and the last kept suffix line are whole. The lines next to the cursor are always kept
 * whole, even when they alone exceed the budget — a completion without its own line is useless.
 */
export function trimFimContext({ prefix, suffix }: FimContext, budget: FimBudget = DEFAULT_FIM_BUDGET): FimContext {
  return { prefix: keepTail(prefix, budget.maxPrefixChars), suffix: keepHead(suffix, budget.maxSuffixChars) }
}

function keepTail(text: string, max: number): string {
  if (text.length <= max) return text
  const cursorLineStart = text.lastIndexOf('\n') + 1
  if (text.length - cursorLineStart >= max) return text.slice(cursorLineStart)
  const from = text.length - max
  // The kept text starts right after a newline at or after `from`.
  const cut = text.indexOf('\n', from - 1)
  return cut === -1 || cut + 1 > cursorLineStart ? text.slice(cursorLineStart) : text.slice(cut + 1)
}

function keepHead(text: string, max: number): string {
  if (text.length <= max) return text
  const cursorLineEnd = text.indexOf('\n')
  if (cursorLineEnd === -1 || cursorLineEnd + 1 >= max) return cursorLineEnd === -1 ? text : text.slice(0, cursorLineEnd + 1)
  // The kept text ends with the last newline within the budget.
  const cut = text.lastIndexOf('\n', max - 1)
  return text.slice(0, cut + 1)
}

/** The prompt as the model sees it, in PSM order. */
export function renderFimPrompt(format: FimFormat, { prefix, suffix }: FimContext): string {
  return buildFimPrompt(format, prefix, suffix)
}

/** Strings that end a middle: the format's end tokens and its own markers (a model that goes on starts a new part). */
export function fimStopSequences(format: FimFormat): string[] {
  return [...new Set([...(format.end ?? []), format.prefix, format.suffix, format.middle])]
}

/** Drops everything from the first special token of the format on (engines that print special tokens leak them). */
export function cleanFimOutput(text: string, format: FimFormat | undefined): string {
  if (!format) return text
  let end = text.length
  for (const marker of fimStopSequences(format)) {
    const at = text.indexOf(marker)
    if (at !== -1 && at < end) end = at
  }
  return text.slice(0, end)
}

export type FimRequestParameters = FimContext & {
  model: string
  maxTokens: number
  /** Extra stop strings (e.g. "\n" for single-line completion). */
  stop?: readonly string[]
  budget?: FimBudget
  format?: FimFormat
}

/**
 * The OpenAI-shaped completion request for a fill-in-the-middle at the cursor: greedy and seeded, so the same
 * context gives the same suggestion (which is what makes caching it sound).
 */
export function buildFimRequest({ model, prefix, suffix, maxTokens, stop = [], budget = DEFAULT_FIM_BUDGET, format }: FimRequestParameters): CompletionRequest {
  const context = trimFimContext({ prefix, suffix }, budget)
  const stops = [...new Set([...(format ? fimStopSequences(format) : []), ...stop])]
  return {
    model,
    prompt: context.prefix,
    suffix: context.suffix,
    max_tokens: maxTokens,
    temperature: 0,
    seed: 0,
    ...(stops.length ? { stop: stops.slice(0, 16) } : {}),
  }
}
