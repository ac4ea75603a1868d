/**
 * Where code suggestions come from. A `CompletionSource` takes the text around the cursor and streams the raw
 * middle; the editor's controller applies the stop rules and cancels once it has enough. Two sources exist:
 * the engine loaded in this tab (`engineCompletionSource`), and paid completion from a network node through the
 * consumer SDK (`paidCompletionSource`: quote, voucher over a payment channel, streamed answer, verified receipt).
 * A suggestion cancelled because the user typed on is billed for the tokens the node had sent (nothing if none).
 * The local source asks its engine to reuse the KV cache of the previous prompt (`reusePrefix`). A paid request
 * cannot ask that (the option is not part of a request): it is reproducible by default (a seed, a `deterministic`
 * receipt), and with `reproducible: false` it sends no seed, which lets the node reuse its cache of this consumer's
 * previous prompt.
 */
import type { ModelexClient, PaidResult } from '../client/client.ts'
import { FimUnsupportedError } from '../core/errors/autocomplete.ts'
import {
  buildFimRequest,
  cleanFimOutput,
  fimFormatFor,
  LOCAL_FIM_BUDGET,
  suffixCharsWithin,
  updatePrefillSpeed,
  type FimBudget,
  type FimModel,
  type PrefillSpeed,
} from '../core/fim.ts'
import type { FimFormat, FinishReason, InferenceEngine, Usage } from '../core/inference.ts'

export type CompletionSourceRequest = {
  prefix: string
  suffix: string
  maxTokens: number
  signal: AbortSignal
  /** The raw middle so far (special tokens already cut), after each streamed piece. */
  onText?: (text: string) => void
}

export type CompletionSourceResult = { text: string; finish_reason: FinishReason; usage: Usage | null }

export interface CompletionSource {
  /** Stable id, also the completion cache's model key: `local:<model>` or `peer:<peer>/<model>`. */
  readonly id: string
  /** For people: which model, where. */
  readonly label: string
  complete(request: CompletionSourceRequest): Promise<CompletionSourceResult>
}

export type EngineSourceOptions = {
  /**
   * Keep the engine's KV cache between suggestions and evaluate only what changed (default true): a suggestion in
   * this tab is nobody's paid, reproducible answer. False runs each one fresh (the benchmark's comparison).
   */
  reusePrefix?: boolean
  /** How much text around the cursor goes in; default `LOCAL_FIM_BUDGET` (windows that move in steps). */
  budget?: FimBudget
  /**
   * Keep the suffix window short enough that evaluating it again (which every keystroke's request does, see
   * `LOCAL_FIM_BUDGET`) takes about this long at the engine's prefill speed as measured on earlier suggestions; until
   * there is a measurement, only the rest of the cursor line. Null: always the budget's suffix. Default 100 ms.
   */
  suffixLatencyMs?: number | null
}

export const ENGINE_SOURCE_DEFAULTS = { suffixLatencyMs: 100 } as const

/** Suggestions from an engine in this tab (the WebAssembly or the WebGPU engine, through its worker proxy). */
export function engineCompletionSource(
  engine: InferenceEngine,
  model: FimModel & { name?: string },
  {
    reusePrefix = true,
    budget = LOCAL_FIM_BUDGET,
    suffixLatencyMs = ENGINE_SOURCE_DEFAULTS.suffixLatencyMs,
  }: EngineSourceOptions = {},
): CompletionSource {
  const format = fimFormatFor(model)
  if (!format) throw new FimUnsupportedError({ model: model.id })
  let speed: PrefillSpeed | null = null
  return {
    id: `local:${model.id}`,
    label: `${model.name ?? model.id} (this tab, ${engine.kind})`,
    async complete({ prefix, suffix, maxTokens, signal, onText }) {
      let raw = ''
      const maxSuffixChars =
        suffixLatencyMs === null
          ? budget.maxSuffixChars
          : speed
            ? suffixCharsWithin(suffixLatencyMs, speed, budget.maxSuffixChars)
            : 0
      const request = buildFimRequest({
        model: model.id,
        prefix,
        suffix,
        maxTokens,
        format,
        budget: { ...budget, maxSuffixChars },
      })
      const result = await engine.complete(request, {
        signal,
        reusePrefix,
        onDelta: (delta) => {
          raw += delta.text
          onText?.(cleanFimOutput(raw, format))
        },
      })
      // Requests cancelled in their prefill report no time; those cancelled later, and finished ones, do.
      speed = updatePrefillSpeed(speed, {
        prefillMs: result.timings.prefill_ms,
        evaluatedTokens: result.timings.prefill_tokens ?? result.usage.prompt_tokens,
        promptChars: request.prompt.length + (request.suffix?.length ?? 0),
        promptTokens: result.usage.prompt_tokens,
      })
      return { text: cleanFimOutput(result.text, format), finish_reason: result.finish_reason, usage: result.usage }
    },
  }
}

export type PaidSourceOptions = {
  model: string
  /** The model's fill-in-the-middle format, when the catalog knows it (the node builds the prompt either way). */
  format?: FimFormat
  /** A peer id; default: the SDK's automatic choice (routing by price, queue wait, round trip and reputation). */
  node?: string
  /**
   * With automatic choice, ask the two best nodes at once and keep the first to produce a token (the other is
   * cancelled and paid only what it had sent). Default true: a suggestion is latency-sensitive.
   */
  hedge?: boolean
  /** Called with every settled suggestion: its cost, receipt and the credit left. */
  onPaid?: (result: PaidResult) => void
  /**
   * Ask for reproducible output (greedy with a seed: the receipt says `deterministic`, so a different answer to the
   * same request is provable equivocation). Default true. False sends no seed: the node may then reuse its KV cache
   * of this consumer's previous suggestion and prefill only the edit (`src/core/prefix-cache.ts`); the prefix window
   * moves in steps (`LOCAL_FIM_BUDGET`) so that cache stays valid while the user types, and the suffix is the rest of
   * the cursor line (the node evaluates it again on every keystroke); spot checks still apply, under the tolerant rule.
   */
  reproducible?: boolean
}

/** Suggestions from a network node, paid per suggestion through the SDK; every receipt is verified before use. */
export function paidCompletionSource(
  client: Pick<ModelexClient, 'completions'>,
  { model, format, node, hedge = true, onPaid, reproducible = true }: PaidSourceOptions,
): CompletionSource {
  return {
    id: `paid:${node ?? 'auto'}/${model}`,
    label: `${model} from ${node ? `${node.slice(0, 12)}…${node.slice(-6)}` : hedge ? 'the first of the two best nodes' : 'the best node'} (paid per suggestion)`,
    async complete({ prefix, suffix, maxTokens, signal, onText }) {
      const {
        prompt,
        suffix: middleSuffix,
        seed,
        ...sampling
      } = buildFimRequest({
        model,
        prefix,
        suffix,
        maxTokens,
        ...(format ? { format } : {}),
        // The node re-evaluates the whole suffix window on every keystroke (prefix, then suffix): without a measure of
        // its prefill speed, only the rest of the cursor line goes in (as the local source does until it has one).
        ...(reproducible ? {} : { budget: { ...LOCAL_FIM_BUDGET, maxSuffixChars: 0 } }),
      })
      let text = ''
      try {
        const stream = await client.completions.create({
          ...sampling,
          ...(reproducible ? (seed !== undefined ? { seed } : {}) : { reproducible: false }),
          prompt,
          ...(middleSuffix !== undefined ? { suffix: middleSuffix } : {}),
          stream: true,
          signal,
          ...(node ? { node } : hedge ? { hedge: true } : {}),
        })
        for await (const chunk of stream) {
          text += chunk.choices[0]?.text ?? ''
          onText?.(cleanFimOutput(text, format))
        }
        const result = await stream.result
        onPaid?.(result)
        return { text: cleanFimOutput(result.text, format), finish_reason: result.finish_reason, usage: result.usage }
      } catch (error) {
        // Cancelled because the user typed on: the node bills the tokens it had sent (nothing if none), and the SDK
        // settled that receipt before this error reached us.
        if (signal.aborted) return { text: cleanFimOutput(text, format), finish_reason: 'abort', usage: null }
        throw error
      }
    },
  }
}
