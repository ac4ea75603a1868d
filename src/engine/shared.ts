/** Small pieces every engine backend needs: one request at a time, and the benchmark's prompt and arithmetic. */
import type { BenchmarkResult, InferenceResult } from '../core/inference.ts'

/** Runs the functions it is given one after another; the runtimes under our engines serve one request at a time. */
export function serialQueue(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve()
  return <T>(fn: () => Promise<T>) => {
    const next = tail.then(fn, fn)
    tail = next.catch(() => {})
    return next
  }
}

/** A prompt of about `tokens` tokens: a repeated common word is one token per repetition in BPE vocabularies. */
export function benchmarkPrompt(tokens: number): string {
  return Array.from({ length: tokens }, () => ' the').join('')
}

export function benchmarkFromResult(result: InferenceResult): BenchmarkResult {
  const perSecond = (count: number, ms: number) => (ms > 0 ? (count * 1000) / ms : 0)
  return {
    prefill_tokens_per_s: perSecond(result.usage.prompt_tokens, result.timings.prefill_ms),
    decode_tokens_per_s: perSecond(result.usage.completion_tokens, result.timings.decode_ms),
    prompt_tokens: result.usage.prompt_tokens,
    generated_tokens: result.usage.completion_tokens,
  }
}
