/**
 * What the evaluation harness asks for completions: `canonical` (the data set's own answers: a check of the
 * pipeline, which must score 100%), `local` (the WebAssembly engine on a catalog GGUF model in headless Chromium),
 * a gateway URL (the OpenAI-compatible localhost gateway, streamed), or a peer id (a browser node reached over
 * libp2p through the relay, paired with its token). Every target streams, so first-token latency is measured the
 * same way, and stops reading once a single-line answer has its line.
 */
import '../lib/node-shims.ts'
import type { EvalProblem, EvalSet } from '../../core/eval.ts'
import { HUMANEVAL_STOPS, isFimSet } from '../../core/eval.ts'
import { EvalSetupError } from '../../core/errors/autocomplete.ts'
import { SSE_DONE, SseDecoder } from '../../core/sse.ts'
import { applyStopRule } from '../../core/stop-rules.ts'
import { pair } from '../../autocomplete/pairing.ts'
import { infer } from '../../p2p/infer-client.ts'
import { createModelexNode } from '../../p2p/node.ts'
import { startLocalCoder } from './local.ts'

export type TargetAnswer = { output: string; firstTokenMs: number; totalMs: number }

export type EvalTarget = {
  /** As given on the command line (or `local:<model>`). */
  name: string
  model: string
  complete(problem: EvalProblem, set: EvalSet): Promise<TargetAnswer>
  close(): Promise<void>
}

export const MAX_TOKENS: Record<EvalSet, number> = { 'single-line': 96, humaneval: 384, 'random-span': 256 }

/** The request a problem makes: prefix and suffix for the FIM sets, the prompt alone for HumanEval. */
function requestOf(problem: EvalProblem, set: EvalSet) {
  return { prefix: problem.prompt, suffix: isFimSet(set) ? (problem.suffix ?? '') : '' }
}

/** Whether the answer so far is complete for the set (single-line: the line has ended). */
function enough(set: EvalSet, problem: EvalProblem, text: string): boolean {
  return (
    set === 'single-line' &&
    applyStopRule(text, { rule: 'line', prefix: problem.prompt, suffix: problem.suffix ?? '' }).done
  )
}

export function canonicalTarget(): EvalTarget {
  return {
    name: 'canonical',
    model: 'canonical',
    complete: async (problem) => ({ output: problem.canonical_solution, firstTokenMs: 0, totalMs: 0 }),
    close: async () => {},
  }
}

export async function localTarget({
  model,
  modelFile,
  log,
}: {
  model: string
  modelFile?: string
  log?: (line: string) => void
}): Promise<EvalTarget> {
  const coder = await startLocalCoder({ model, ...(modelFile ? { modelFile } : {}), ...(log ? { log } : {}) })
  return {
    name: `local:${model}`,
    model,
    async complete(problem, set) {
      const { prefix, suffix } = requestOf(problem, set)
      const answer = await coder.complete({
        prefix,
        suffix,
        maxTokens: MAX_TOKENS[set],
        rule: set === 'single-line' ? 'line' : 'none',
      })
      return { output: answer.raw, firstTokenMs: answer.firstTokenMs, totalMs: answer.totalMs }
    },
    close: () => coder.close(),
  }
}

export async function gatewayTarget({
  url,
  apiKey,
  model,
}: {
  url: string
  apiKey: string
  model?: string
}): Promise<EvalTarget> {
  const base = url.replace(/\/+$/, '').replace(/\/v1$/, '')
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }
  let chosen = model
  if (!chosen) {
    const response = await fetch(`${base}/v1/models`, { headers })
    if (!response.ok)
      throw new EvalSetupError(`The gateway at ${base} answered ${response.status} to GET /v1/models.`, {
        details: await response.text(),
      })
    const body = (await response.json()) as { data: { id: string }[] }
    chosen = body.data[0]?.id
    if (!chosen) throw new EvalSetupError(`The gateway at ${base} lists no model.`)
  }
  const modelId = chosen
  return {
    name: base,
    model: modelId,
    async complete(problem, set) {
      const { prefix, suffix } = requestOf(problem, set)
      const controller = new AbortController()
      const started = performance.now()
      const body = {
        model: modelId,
        prompt: prefix,
        ...(suffix || isFimSet(set) ? { suffix } : {}),
        max_tokens: MAX_TOKENS[set],
        temperature: 0,
        seed: 0,
        stream: true,
        ...(set === 'humaneval' ? { stop: HUMANEVAL_STOPS } : {}),
      }
      const response = await fetch(`${base}/v1/completions`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: controller.signal,
      })
      if (!response.ok || !response.body)
        throw new EvalSetupError(`The gateway answered ${response.status}.`, { details: await response.text() })
      const decoder = new SseDecoder()
      const text = new TextDecoder()
      let output = ''
      let firstTokenMs = 0
      try {
        reading: for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          for (const event of decoder.push(text.decode(chunk, { stream: true }))) {
            if (event.data === SSE_DONE) break reading
            const piece = (JSON.parse(event.data) as { choices: { text?: string }[] }).choices[0]?.text ?? ''
            if (piece && firstTokenMs === 0) firstTokenMs = performance.now() - started
            output += piece
            if (enough(set, problem, output)) break reading
          }
        }
      } finally {
        controller.abort()
      }
      return { output, firstTokenMs, totalMs: performance.now() - started }
    },
    close: async () => {},
  }
}

export async function peerTarget({
  peer,
  token,
  relay,
  model,
}: {
  peer: string
  token: string
  relay: string
  model?: string
}): Promise<EvalTarget> {
  const node = await createModelexNode({ relays: [relay], runtime: 'node' })
  await node.start()
  try {
    const models = await pair(node, { peer, token })
    const modelId = model ?? models[0]?.id
    if (!modelId) throw new EvalSetupError(`The node ${peer} has no model loaded.`)
    return {
      name: peer,
      model: modelId,
      async complete(problem, set) {
        const { prefix, suffix } = requestOf(problem, set)
        const controller = new AbortController()
        const started = performance.now()
        let output = ''
        let firstTokenMs = 0
        const call = infer(node, {
          peer,
          signal: controller.signal,
          request: {
            kind: 'completion',
            model: modelId,
            prompt: prefix,
            ...(isFimSet(set) ? { suffix } : {}),
            max_tokens: MAX_TOKENS[set],
            temperature: 0,
            seed: 0,
            ...(set === 'humaneval' ? { stop: HUMANEVAL_STOPS } : {}),
          },
        })
        for await (const delta of call) {
          if (firstTokenMs === 0 && delta.text) firstTokenMs = performance.now() - started
          output += delta.text
          // Leaving the loop early resets the stream, which cancels the generation on the node.
          if (enough(set, problem, output)) break
        }
        return { output, firstTokenMs, totalMs: performance.now() - started }
      },
      close: () => node.stop(),
    }
  } catch (error) {
    await node.stop()
    throw error
  }
}
