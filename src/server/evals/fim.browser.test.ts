/**
 * The evaluation harness on 5 problems of HumanEval-SingleLineInfilling: the whole pipeline with the real local
 * target (the WebAssembly engine on the generated tiny model in headless Chromium — its scores mean nothing), and
 * the scoring itself: the canonical solutions as completions pass 100%, a wrong completion fails, a hanging one
 * times out. Runs in the browser project, whose setup makes sure Chromium and the demo model are there.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { recoverTypedDataAddress } from 'viem'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { evalTypedData, type EvalProblem } from '../../core/eval.ts'
import { loadOrCreateEvaluatorKey, loadProblems, runEval, signRun } from './fim.ts'
import { createPythonRunner, type PythonRunner } from './python.ts'
import { canonicalTarget, localTarget, type EvalTarget } from './targets.ts'

let runner: PythonRunner
let problems: EvalProblem[]
let dir: string

beforeAll(async () => {
  runner = createPythonRunner()
  problems = await loadProblems('single-line', { limit: 5 })
  dir = await mkdtemp(join(tmpdir(), 'modelex-eval-'))
})

afterAll(async () => {
  await runner?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const fixed = (name: string, answer: (problem: EvalProblem) => string): EvalTarget => ({
  name,
  model: name,
  complete: async (problem) => ({ output: answer(problem), firstTokenMs: 0, totalMs: 0 }),
  close: async () => {},
})

test('the data set is read in place: 5 single-line infilling problems with prefix, suffix and tests', () => {
  expect(problems).toHaveLength(5)
  for (const problem of problems) {
    expect(problem.task_id).toMatch(/^SingleLineInfilling\/HumanEval\/\d+\/L\d+$/)
    expect(problem.suffix).toBeTypeOf('string')
    expect(problem.test).toContain('def check(candidate)')
  }
})

test('canonical solutions as completions score 100% pass@1 and exact match', async () => {
  const run = await runEval({ set: 'single-line', problems, target: canonicalTarget(), runner })
  expect(run.summary).toMatchObject({ problems: 5, passed: 5, exact: 5, pass_at_1: 1, exact_match: 1 })
})

test('wrong completions fail, and one that hangs times out within its limit', async () => {
  const wrong = await runEval({
    set: 'single-line',
    problems,
    target: fixed('wrong', (p) => p.canonical_solution.replace(/\S.*/, 'return not None')),
    runner,
  })
  expect(wrong.summary.passed).toBe(0)
  expect(wrong.results.every((r) => r.outcome === 'failed' && r.error)).toBe(true)
  const started = performance.now()
  const program = `${problems[0]!.prompt}    while True: pass\n${problems[0]!.canonical_solution}${problems[0]!.suffix}\n${problems[0]!.test}\ncheck(${problems[0]!.entry_point})\n`
  expect(await runner.run(program, 1_000)).toEqual({ status: 'timeout', limitMs: 1_000 })
  expect(performance.now() - started).toBeLessThan(5_000)
  // The runner comes back with a fresh worker after a timeout.
  expect(
    (await runEval({ set: 'single-line', problems: problems.slice(0, 1), target: canonicalTarget(), runner })).summary
      .passed,
  ).toBe(1)
})

test('the local target (wasm engine, generated model, headless Chromium) runs the pipeline; the run is signed by the evaluator key', async () => {
  const target = await localTarget({ model: 'modelex-demo-tiny' })
  try {
    const run = await runEval({ set: 'single-line', problems, target, runner })
    expect(run.model).toBe('modelex-demo-tiny')
    expect(run.results).toHaveLength(5)
    for (const result of run.results) {
      expect(result.completion.endsWith('\n')).toBe(true)
      expect(result.completion.slice(0, -1)).not.toContain('\n')
      expect(result.totalMs).toBeGreaterThan(0)
      expect(['passed', 'failed', 'timeout']).toContain(result.outcome)
    }
    const keyFile = join(dir, 'evaluator.key')
    const key = await loadOrCreateEvaluatorKey(keyFile)
    expect(await loadOrCreateEvaluatorKey(keyFile)).toBe(key)
    expect(((await import('node:fs')).statSync(keyFile).mode & 0o777).toString(8)).toBe('600')
    const signed = await signRun(run, key)
    expect(await recoverTypedDataAddress({ ...evalTypedData(run), signature: signed.signature.signature })).toBe(
      signed.signature.evaluator,
    )
    expect(JSON.parse(JSON.stringify(signed))).toEqual(signed)
    expect((await readFile(keyFile, 'utf8')).trim()).toBe(key)
  } finally {
    await target.close()
  }
})
