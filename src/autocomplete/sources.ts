/**
 * Where code suggestions come from. A `CompletionSource` takes the text around the cursor and streams the raw
 * middle; the editor's controller applies the stop rules and cancels once it has enough. Two sources exist:
 * the engine loaded in this tab (`engineCompletionSource`), and a network node reached over libp2p
 * (`networkCompletionSource`). Network nodes normally want payment; the paid-prompt flow (quote, channel, voucher,
 * receipt) is not built yet, so this source sends no payment and works only with nodes that serve without one —
 * one that asks for payment gives `PaidCompletionUnavailableError`.
 */
import { FimUnsupportedError, PaidCompletionUnavailableError } from '../core/errors/autocomplete.ts'
import { InferRequestError } from '../core/errors/p2p.ts'
import { buildFimRequest, cleanFimOutput, fimFormatFor, type FimModel } from '../core/fim.ts'
import type { FimFormat, FinishReason, InferenceEngine, Usage } from '../core/inference.ts'
import { infer } from '../p2p/infer-client.ts'
import type { ModelexNode } from '../p2p/node.ts'

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

/** Suggestions from an engine in this tab (the WebAssembly or the WebGPU engine, through its worker proxy). */
export function engineCompletionSource(engine: InferenceEngine, model: FimModel & { name?: string }): CompletionSource {
  const format = fimFormatFor(model)
  if (!format) throw new FimUnsupportedError({ model: model.id })
  return {
    id: `local:${model.id}`,
    label: `${model.name ?? model.id} (this tab, ${engine.kind})`,
    async complete({ prefix, suffix, maxTokens, signal, onText }) {
      let raw = ''
      const result = await engine.complete(buildFimRequest({ model: model.id, prefix, suffix, maxTokens, format }), {
        signal,
        onDelta: (delta) => {
          raw += delta.text
          onText?.(cleanFimOutput(raw, format))
        },
      })
      return { text: cleanFimOutput(result.text, format), finish_reason: result.finish_reason, usage: result.usage }
    },
  }
}

/** Suggestions from a network node by peer id, unpaid (see the module note). */
export function networkCompletionSource(node: ModelexNode, { peer, model, format }: { peer: string; model: string; format?: FimFormat }): CompletionSource {
  return {
    id: `peer:${peer}/${model}`,
    label: `${model} on ${peer.slice(0, 12)}…${peer.slice(-6)}`,
    async complete({ prefix, suffix, maxTokens, signal, onText }) {
      let text = ''
      const call = infer(node, { peer, request: { kind: 'completion', ...buildFimRequest({ model, prefix, suffix, maxTokens, ...(format ? { format } : {}) }) }, payment: null, signal })
      try {
        for await (const delta of call) {
          text += delta.text
          onText?.(cleanFimOutput(text, format))
        }
        const outcome = await call.result
        return { text: cleanFimOutput(text, format), finish_reason: outcome.finish_reason, usage: outcome.usage }
      } catch (error) {
        if (signal.aborted) return { text: cleanFimOutput(text, format), finish_reason: 'abort', usage: null }
        if (error instanceof InferRequestError && error.code === 'PAYMENT_REQUIRED') throw new PaidCompletionUnavailableError({ peer, details: error.details, cause: error })
        throw error
      }
    },
  }
}
