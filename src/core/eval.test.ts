import { recoverTypedDataAddress } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { expect, test } from 'vitest'
import {
  buildProgram,
  completionFromOutput,
  evalDigest,
  evalTypedData,
  exactMatch,
  formatTable,
  parseProblems,
  percentile,
  resultsHash,
  summarize,
  type EvalProblem,
  type EvalRun,
  type ProblemResult,
} from './eval.ts'

const problem: EvalProblem = {
  task_id: 'SingleLineInfilling/HumanEval/0/L0',
  prompt: 'def add(a, b):\n',
  suffix: '    return total\n',
  canonical_solution: '    total = a + b\n',
  test: 'def check(candidate):\n    assert candidate(1, 2) == 3\n',
  entry_point: 'add',
}

test('problems are parsed and checked line by line', () => {
  const jsonl = [JSON.stringify(problem), '', JSON.stringify({ ...problem, task_id: 'b' })].join('\n')
  expect(parseProblems(jsonl)).toHaveLength(2)
  expect(parseProblems(jsonl, 1)).toEqual([problem])
  expect(() => parseProblems('{"task_id": 1}')).toThrow(/task_id must be a string/)
  expect(() => parseProblems('nope')).toThrow(/not JSON/)
  expect(() => parseProblems(JSON.stringify({ ...problem, entry_point: 'x; import os' }))).toThrow(/entry_point/)
})

test('single-line output becomes one line with its newline; HumanEval output stops at the next top-level statement', () => {
  expect(completionFromOutput('single-line', problem, '    total = a + b\n    return total\n')).toBe(
    '    total = a + b\n',
  )
  expect(completionFromOutput('single-line', problem, '    total = a + b')).toBe('    total = a + b\n')
  const plain = { ...problem, suffix: undefined } as unknown as EvalProblem
  expect(completionFromOutput('humaneval', plain, '    return a + b\n\n\ndef other():\n    pass')).toBe(
    '    return a + b\n\n',
  )
  expect(completionFromOutput('humaneval', plain, '    return a + b\nif __name__ == "__main__":')).toBe(
    '    return a + b',
  )
})

test('the program is prefix, completion, suffix, tests and the call of check', () => {
  expect(buildProgram(problem, problem.canonical_solution)).toBe(
    'def add(a, b):\n    total = a + b\n    return total\n\n\ndef check(candidate):\n    assert candidate(1, 2) == 3\n\n\ncheck(add)\n',
  )
})

test('exact match ignores trailing whitespace and blank edges, nothing else', () => {
  expect(exactMatch('    total = a + b  \n', '    total = a + b\n')).toBe(true)
  expect(exactMatch('\n    total = a + b', '    total = a + b\n')).toBe(true)
  expect(exactMatch('  total = a + b\n', '    total = a + b\n')).toBe(false)
  expect(exactMatch('    total = b + a\n', '    total = a + b\n')).toBe(false)
})

const result = (task: string, passed: boolean, totalMs: number): ProblemResult => ({
  task_id: task,
  completion: 'x',
  exact: passed,
  passed,
  outcome: passed ? 'passed' : 'failed',
  firstTokenMs: totalMs / 2,
  totalMs,
})

test('percentiles by nearest rank, and the summary and table', () => {
  expect(percentile([], 50)).toBe(0)
  expect(percentile([5], 95)).toBe(5)
  expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5)
  expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10)
  const results = [
    result('a', true, 10),
    result('b', false, 30),
    result('c', true, 20),
    { ...result('d', false, 40), outcome: 'timeout' as const },
  ]
  const summary = summarize('single-line', results)
  expect(summary).toMatchObject({ problems: 4, passed: 2, exact: 2, timeouts: 1, pass_at_1: 0.5, exact_match: 0.5 })
  expect(summary.latency_ms).toEqual({ first_token_p50: 10, first_token_p95: 20, total_p50: 20, total_p95: 40 })
  const table = formatTable(summary, results, 3)
  expect(table).toContain('pass@1 50.0% (2)')
  expect(table).toContain('… 1 more in the JSON result')
})

test('a run signed as EIP-712 typed data recovers to the evaluator and commits to every result', async () => {
  const results = [result('a', true, 10)]
  const run: EvalRun = {
    version: 1,
    set: 'single-line',
    target: 'canonical',
    model: 'canonical',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
    summary: summarize('single-line', results),
    results,
  }
  const account = privateKeyToAccount(generatePrivateKey())
  const signature = await account.signTypedData(evalTypedData(run))
  expect(await recoverTypedDataAddress({ ...evalTypedData(run), signature })).toBe(account.address)
  const tampered = { ...run, results: [{ ...result('a', true, 10), completion: 'y' }] }
  expect(resultsHash(tampered.results)).not.toBe(resultsHash(run.results))
  expect(evalDigest(tampered)).not.toBe(evalDigest(run))
})

test("a single-line answer equal to the suffix's first line is kept (the suffix starts on the next line)", () => {
  const p = {
    ...problem,
    prompt: 'def f(x):\n    if x:\n        return True\n',
    suffix: '    return False\n',
    canonical_solution: '        return False\n',
  }
  expect(completionFromOutput('single-line', p, '        return False\n')).toBe('        return False\n')
})
