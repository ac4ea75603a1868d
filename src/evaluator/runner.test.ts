/**
 * The suite runner's scoring, with the SDK surface and the Python runner injected (unit tests: the client here is a
 * stand-in built on the SDK's own `paidStream`, so chunks, results and cancels look as the real client makes them).
 */
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import type { Address, Hex } from 'viem'
import { describe, expect, test } from 'vitest'
import { paidStream } from '../client/openai.ts'
import type { PaidResult } from '../client/actions/payForRequest.ts'
import type { Announcement } from '../core/announcement.ts'
import type { DirectoryEntry } from '../core/directory.ts'
import { EvaluationAbortedError, EvaluationSetupError } from '../core/errors/evaluator.ts'
import { InferRequestError, InferStreamError } from '../core/errors/p2p.ts'
import { PaidRequestInterruptedError, SpendLimitError } from '../core/errors/payments.ts'
import { parseProblems, type EvalProblem } from '../core/eval.ts'
import { streamChunk } from '../core/openai.ts'
import { runEvaluation, type EvaluationProgress, type RunEvaluationParameters } from './runner.ts'
import type { EvaluatorClient, SentimentTask } from './types.ts'

const OPERATOR = '0x00000000000000000000000000000000000000A1' as Address
const EVALUATOR = '0x00000000000000000000000000000000000000e1' as Address
const HASH = `0x${'AB'.repeat(32)}` as Hex
const problems: EvalProblem[] = parseProblems(
  gunzipSync(readFileSync(new URL('../../data/HumanEval-SingleLineInfilling.jsonl.gz', import.meta.url))).toString(
    'utf8',
  ),
  4,
)

const entry: DirectoryEntry = {
  peerId: '12D3KooWnode',
  announcement: {
    operator: OPERATOR,
    models: [{ id: 'coder', contentHash: HASH, engine: 'wasm', contextLength: 2048, tokensPerSecond: 10 }],
  } as unknown as Announcement,
  firstSeen: 0,
  lastSeen: 0,
  rttMs: 5,
  registered: true,
}

type Answer = { pieces: string[]; delayMs?: number; error?: Error }
type Request = { prompt?: string; suffix?: string; messages?: unknown; signal?: AbortSignal }

/** A client whose answers come from `answer(request)`, on a fake clock that the answer's delay advances. */
function fakeClient(answer: (request: Request) => Answer, quote: () => void = () => {}) {
  let time = 0
  const requests: Request[] = []
  const cancelled: number[] = []
  const create = (kind: 'chat' | 'completion') => async (request: Request) => {
    requests.push(request)
    const index = requests.length - 1
    const { pieces, delayMs = 0, error } = answer(request)
    return paidStream(
      async (onDelta) => {
        time += delayMs
        if (error) throw error
        let text = ''
        for (const piece of pieces) {
          // Chunks arrive one by one: a reader that has enough can cancel between them.
          await new Promise((resolve) => setTimeout(resolve, 0))
          if (request.signal?.aborted) {
            cancelled.push(index)
            throw new PaidRequestInterruptedError({ text, credit: 0n })
          }
          text += piece
          onDelta({ text: piece, tokens: 1 })
        }
        return { text, finish_reason: 'stop' } as unknown as PaidResult
      },
      (text, finish, ids, first) =>
        kind === 'chat'
          ? streamChunk('chat', { ...ids, model: 'coder' }, text, finish, first)
          : streamChunk('completion', { ...ids, model: 'coder' }, text, finish, first),
    )
  }
  const client = {
    completions: { create: create('completion') },
    chat: { completions: { create: create('chat') } },
    quote: async () => {
      quote()
      return { node: entry, quote: {} }
    },
  } as unknown as EvaluatorClient
  return { client, requests, cancelled, clock: () => time }
}

const base = (client: EvaluatorClient, clock: () => number): RunEvaluationParameters => ({
  client,
  clock,
  target: { entry, model: 'coder' },
  evaluator: EVALUATOR,
  suites: ['fim'],
  problems,
  now: () => 1_700_000_000_000,
  nonce: 100,
  sleep: async () => {},
})

describe('runEvaluation', () => {
  test('code infilling: exact match and pass@1 in ppm, over the single-line answer only, with one attestation each', async () => {
    // Canonical answers for problems 0 and 2 (followed by more text the runner must cut), a wrong line for 1 and 3.
    const { client, clock, cancelled } = fakeClient((r) => {
      const p = problems.find((x) => x.prompt === r.prompt) as EvalProblem
      const right = problems.indexOf(p) % 2 === 0
      return { pieces: right ? [p.canonical_solution, 'print("more")\n', 'x = 1\n'] : ['    return 42\n'], delayMs: 10 }
    })
    const programs: string[] = []
    const run = await runEvaluation({
      ...base(client, clock),
      suites: ['fim', 'latency'],
      runPython: async (program) => (
        programs.push(program),
        programs.length === 1 ? { passed: true } : { passed: false, error: 'AssertionError' }
      ),
    })
    expect(run.fim.map((r) => r.exact)).toEqual([true, false, true, false])
    expect(run.fim.map((r) => r.passed)).toEqual([true, false, false, false])
    expect(run.scores).toMatchObject({
      fimExact: 500_000,
      fimPass1: 250_000,
      latencyP50: 10,
      latencyP95: 10,
      sentiment: null,
      uptime: null,
    })
    // The line is enough: the stream is cancelled before the rest is paid for.
    expect(cancelled).toEqual([0, 2])
    expect(run.fim[0]?.completion).toBe(problems[0]?.canonical_solution)
    expect(programs[0]).toContain(`${problems[0]?.prompt}${problems[0]?.canonical_solution}`)
    expect(run.attestations).toEqual([
      {
        evaluator: EVALUATOR,
        node: OPERATOR,
        modelHash: HASH.toLowerCase(),
        suite: 'fim-exact',
        score: 500_000,
        sampleSize: 4,
        windowStart: 1_700_000_000,
        windowEnd: 1_700_000_001,
        nonce: 100,
      },
      {
        evaluator: EVALUATOR,
        node: OPERATOR,
        modelHash: HASH.toLowerCase(),
        suite: 'fim-pass1',
        score: 250_000,
        sampleSize: 4,
        windowStart: 1_700_000_000,
        windowEnd: 1_700_000_001,
        nonce: 101,
      },
      {
        evaluator: EVALUATOR,
        node: OPERATOR,
        modelHash: HASH.toLowerCase(),
        suite: 'latency-p50',
        score: 10,
        sampleSize: 4,
        windowStart: 1_700_000_000,
        windowEnd: 1_700_000_001,
        nonce: 102,
      },
      {
        evaluator: EVALUATOR,
        node: OPERATOR,
        modelHash: HASH.toLowerCase(),
        suite: 'latency-p95',
        score: 10,
        sampleSize: 4,
        windowStart: 1_700_000_000,
        windowEnd: 1_700_000_001,
        nonce: 103,
      },
    ])
  })

  test('without a Python runner only exact match is scored, and `limit` bounds the problems', async () => {
    const { client, clock, requests } = fakeClient((r) => ({
      pieces: [problems.find((x) => x.prompt === r.prompt)?.canonical_solution ?? ''],
    }))
    const run = await runEvaluation({ ...base(client, clock), limit: 2 })
    expect(requests).toHaveLength(2)
    expect(run.scores.fimExact).toBe(1_000_000)
    expect(run.scores.fimPass1).toBeNull()
    expect(run.attestations.map((a) => a.suite)).toEqual(['fim-exact'])
  })

  test('latency: p50 and p95 of time to first token by nearest rank; alone it makes small requests of its own', async () => {
    const delays = [40, 10, 30, 20, 100]
    let i = 0
    const { client, clock, requests } = fakeClient(() => ({ pieces: ['x'], delayMs: delays[i++] ?? 0 }))
    const run = await runEvaluation({ ...base(client, clock), suites: ['latency'], limit: 5 })
    expect(requests).toHaveLength(5)
    expect(run.firstTokenMs).toEqual(delays)
    expect(run.scores).toMatchObject({ latencyP50: 30, latencyP95: 100, fimExact: null })
    expect(run.attestations.map((a) => [a.suite, a.score, a.sampleSize])).toEqual([
      ['latency-p50', 30, 5],
      ['latency-p95', 100, 5],
    ])
  })

  test('uptime: a bounded series of quote-only probes; unreachable counts as down, BUSY as up; pauses between probes', async () => {
    const outcomes = [
      null,
      new InferStreamError({ reason: 'dial', details: 'gone' }),
      new InferRequestError({ code: 'BUSY', message: 'later' }),
      null,
    ]
    let probe = 0
    const { client, clock } = fakeClient(
      () => ({ pieces: [] }),
      () => {
        const outcome = outcomes[probe++]
        if (outcome) throw outcome
      },
    )
    const pauses: number[] = []
    const run = await runEvaluation({
      ...base(client, clock),
      suites: ['uptime'],
      uptime: { probes: 4, intervalMs: 250 },
      sleep: async (ms) => void pauses.push(ms),
    })
    expect(run.uptime.map((u) => u.up)).toEqual([true, false, true, true])
    expect(pauses).toEqual([250, 250, 250])
    expect(run.scores.uptime).toBe(750_000)
    expect(run.attestations).toHaveLength(1)
    expect(run.attestations[0]).toMatchObject({ suite: 'uptime', score: 750_000, sampleSize: 4 })
  })

  test('sentiment: accuracy over the items, a node failure scores as wrong, an unreadable answer as wrong', async () => {
    const task: SentimentTask = {
      items: [
        { text: 'Profit doubles', label: 'positive' },
        { text: 'Plant closes', label: 'negative' },
        { text: 'Meeting on Monday', label: 'neutral' },
        { text: 'Sales flat', label: 'neutral' },
      ],
      request: (text) => ({ messages: [{ role: 'user', content: text }], max_tokens: 4 }),
      parse: (output) => (['positive', 'negative', 'neutral'].includes(output.trim()) ? output.trim() : null),
    }
    const answers: Answer[] = [
      { pieces: ['posi', 'tive'] },
      { pieces: ['positive'] },
      { pieces: [], error: new InferStreamError({ reason: 'reset', details: 'gone' }) },
      { pieces: ['I think so'] },
    ]
    let i = 0
    const { client, clock } = fakeClient(() => answers[i++] as Answer)
    const run = await runEvaluation({ ...base(client, clock), suites: ['sentiment'], sentiment: task })
    expect(run.sentiment.map((r) => [r.answer, r.correct])).toEqual([
      ['positive', true],
      ['positive', false],
      [null, false],
      [null, false],
    ])
    expect(run.sentiment[2]?.error).toMatch(/offline|stream|node/i)
    expect(run.scores.sentiment).toBe(250_000)
  })

  test("the evaluator's own failures (spend limits, wallet, chain) end the run instead of scoring against the node", async () => {
    const { client, clock } = fakeClient(() => ({
      pieces: [],
      error: new SpendLimitError({ limit: 'maxSpendPerRequest', allowed: 1n, asked: 2n }),
    }))
    await expect(runEvaluation(base(client, clock))).rejects.toBeInstanceOf(SpendLimitError)
  })

  test('progress counts every step of every suite; a cancel ends the run with EvaluationAbortedError and no attestation', async () => {
    const controller = new AbortController()
    const seen: EvaluationProgress[] = []
    const { client, clock, requests } = fakeClient(() => ({ pieces: ['    return 1\n'] }))
    const run = runEvaluation({
      ...base(client, clock),
      suites: ['fim', 'uptime'],
      uptime: { probes: 2 },
      signal: controller.signal,
      onProgress: (progress) => {
        seen.push(progress)
        if (progress.done === 2) controller.abort()
      },
    })
    await expect(run).rejects.toBeInstanceOf(EvaluationAbortedError)
    expect(requests).toHaveLength(2)
    expect(seen.map((s) => [s.suite, s.done, s.total])).toEqual([
      ['fim', 0, 6],
      ['fim', 1, 6],
      ['fim', 2, 6],
    ])
  })

  test('a run that cannot start says why before anything is paid', async () => {
    const { client, clock, requests } = fakeClient(() => ({ pieces: [] }))
    await expect(runEvaluation({ ...base(client, clock), suites: [] })).rejects.toBeInstanceOf(EvaluationSetupError)
    await expect(runEvaluation({ ...base(client, clock), target: { entry, model: 'other' } })).rejects.toThrow(
      /does not announce other/,
    )
    await expect(runEvaluation({ ...base(client, clock), problems: [] })).rejects.toThrow(/needs problems/)
    await expect(runEvaluation({ ...base(client, clock), suites: ['sentiment'] })).rejects.toThrow(
      /needs labelled headlines/,
    )
    expect(requests).toHaveLength(0)
  })
})

test('runPythonWith adapts the Node harness runner: passed, failed with its error, timeout with its limit', async () => {
  const { runPythonWith } = await import('./types.ts')
  const outcomes = [
    { status: 'passed' as const },
    { status: 'failed' as const, error: 'AssertionError' },
    { status: 'timeout' as const, limitMs: 500 },
  ]
  const limits: number[] = []
  const run = runPythonWith(
    { run: async (_code, timeoutMs) => (limits.push(timeoutMs), outcomes.shift() as (typeof outcomes)[number]) },
    500,
  )
  expect(await run('a')).toEqual({ passed: true })
  expect(await run('b')).toEqual({ passed: false, error: 'AssertionError' })
  expect(await run('c')).toEqual({ passed: false, error: 'no result within 500 ms' })
  expect(limits).toEqual([500, 500, 500])
})
