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
  /**
   * The prefix window's start moves in steps of this many characters (counted from the start of the given prefix,
   * which is the document's start in the editor), not with every keystroke: while the user types, the start stays
   * put and an engine that reuses its KV cache evaluates only what follows the edit. Default: half the prefix budget.
   */
  prefixStepChars?: number
}

/** About 1,500 and 500 tokens of code: small enough for a fast prefill on a CPU, enough for local context. */
export const DEFAULT_FIM_BUDGET: FimBudget = { maxPrefixChars: 6_000, maxSuffixChars: 2_000 }

/**
 * For an engine in this tab that reuses its KV cache (`GenerateOptions.reusePrefix`). The prompt is prefix, then
 * suffix (PSM, the order Qwen2.5-Coder and DeepSeek-Coder were trained on), so an edit at the cursor leaves the
 * prefix's KV valid up to the edit but the suffix's not: every keystroke's request evaluates the whole suffix window
 * again. Its budget is therefore a few lines (about 100 tokens), and the prefix's larger (its cost is paid once per
 * window step: up to about 1,000 tokens after every 2,000 characters typed, and on the first request).
 */
export const LOCAL_FIM_BUDGET: FimBudget = { maxPrefixChars: 4_000, maxSuffixChars: 400, prefixStepChars: 2_000 }

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
 * whole, even when they alone exceed the budget — a completion without its own line is useless. The prefix window
 * starts at the first line start at or after a multiple of the step (`fimPrefixStart`), so it stays put while the
 * user types; the suffix window is measured from the cursor, so typing at the cursor does not move it either.
 */
export function trimFimContext({ prefix, suffix }: FimContext, budget: FimBudget = DEFAULT_FIM_BUDGET): FimContext {
  return { prefix: prefix.slice(fimPrefixStart(prefix, budget)), suffix: keepHead(suffix, budget.maxSuffixChars) }
}

/**
 * Where the prefix window starts, as an offset into `prefix`: 0 while the whole prefix fits; else the first line
 * start at or after the smallest multiple of the step that leaves at most `maxPrefixChars` (so the window holds
 * between about `maxPrefixChars - step` and `maxPrefixChars` characters); the cursor line's start when no such line
 * start comes before it.
 */
export function fimPrefixStart(prefix: string, { maxPrefixChars: max, prefixStepChars }: FimBudget): number {
  if (prefix.length <= max) return 0
  const step = Math.max(1, Math.floor(prefixStepChars ?? max / 2))
  const cursorLineStart = prefix.lastIndexOf('\n') + 1
  if (prefix.length - cursorLineStart >= max) return cursorLineStart
  const grid = Math.ceil((prefix.length - max) / step) * step
  // The first line start at or after the grid point: right after a newline at index grid - 1 or later.
  const newline = prefix.indexOf('\n', grid - 1)
  return newline === -1 || newline + 1 > cursorLineStart ? cursorLineStart : newline + 1
}

function keepHead(text: string, max: number): string {
  if (text.length <= max) return text
  const cursorLineEnd = text.indexOf('\n')
  if (cursorLineEnd === -1 || cursorLineEnd + 1 >= max)
    return cursorLineEnd === -1 ? text : text.slice(0, cursorLineEnd + 1)
  // The kept text ends with the last newline within the budget.
  const cut = text.lastIndexOf('\n', max - 1)
  return text.slice(0, cut + 1)
}

/** Measured prefill speed of an engine: milliseconds per evaluated prompt token, and characters per token. */
export type PrefillSpeed = { msPerToken: number; charsPerToken: number }

/**
 * The suffix budget, in characters, whose re-evaluation fits in `targetMs` at the measured speed, at most
 * `maxChars`. In PSM order every keystroke re-evaluates the suffix (it follows the edited prefix), so on a slow CPU
 * the suffix must be short for a suggestion to arrive in time, while a fast engine affords the whole budget. 0 still
 * keeps the rest of the cursor line (`trimFimContext` always does).
 */
export function suffixCharsWithin(
  targetMs: number,
  { msPerToken, charsPerToken }: PrefillSpeed,
  maxChars: number,
): number {
  if (!(msPerToken > 0) || !(charsPerToken > 0)) return 0
  return Math.max(0, Math.min(maxChars, Math.floor((targetMs / msPerToken) * charsPerToken)))
}

/** What one finished (or cancelled after its prefill) request tells about the engine's prefill speed. */
export type PrefillSample = { prefillMs: number; evaluatedTokens: number; promptChars: number; promptTokens: number }

/** Characters per token assumed before any is measured: low (code BPEs give 3–4), so the first suffix errs short. */
export const ASSUMED_CHARS_PER_TOKEN = 2

/**
 * The running estimate after one more sample (an exponential average, weight `alpha` on the new one); samples
 * without an evaluated token or a time are ignored. A small prefill overstates the time per token (a request has
 * a fixed cost too), which errs towards a shorter suffix.
 */
export function updatePrefillSpeed(
  previous: PrefillSpeed | null,
  { prefillMs, evaluatedTokens, promptChars, promptTokens }: PrefillSample,
  alpha = 0.3,
): PrefillSpeed | null {
  if (!(evaluatedTokens >= 1) || !(prefillMs > 0)) return previous
  const sample = {
    msPerToken: prefillMs / evaluatedTokens,
    charsPerToken:
      promptTokens >= evaluatedTokens && promptTokens >= 1
        ? promptChars / promptTokens
        : (previous?.charsPerToken ?? ASSUMED_CHARS_PER_TOKEN),
  }
  if (!previous) return sample
  return {
    msPerToken: previous.msPerToken + alpha * (sample.msPerToken - previous.msPerToken),
    charsPerToken: previous.charsPerToken + alpha * (sample.charsPerToken - previous.charsPerToken),
  }
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
export function buildFimRequest({
  model,
  prefix,
  suffix,
  maxTokens,
  stop = [],
  budget = DEFAULT_FIM_BUDGET,
  format,
}: FimRequestParameters): CompletionRequest {
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
