/**
 * Scoring a code model on HumanEval and its fill-in-the-middle variants: problem records and their checks, how a
 * raw model output becomes the completion that is scored (the single-line set takes one line; plain HumanEval stops
 * where the function ends), the program that runs a completion against its tests, exact match, the summary and its
 * table, and the result document that an evaluator signs (EIP-712). Running the programs (Python in Pyodide) and
 * asking a model are adapters in `src/server/evals/`.
 */
import { hashTypedData, keccak256, toBytes, type Address, type Hex, type TypedDataDefinition } from 'viem'
import { applyStopRule } from './stop-rules.ts'

export type EvalSet = 'single-line' | 'humaneval' | 'random-span'

/** The data files of each set, in the repo's `data/` (or a `--data-dir`). */
export const EVAL_SET_FILES: Record<EvalSet, string> = {
  'single-line': 'HumanEval-SingleLineInfilling.jsonl.gz',
  humaneval: 'HumanEval.jsonl.gz',
  'random-span': 'HumanEval-RandomSpanInfillingLight.jsonl.gz',
}

export type EvalProblem = {
  task_id: string
  /** The text before the gap (for plain HumanEval: the signature and docstring). */
  prompt: string
  /** The text after the gap; absent for plain HumanEval. */
  suffix?: string
  canonical_solution: string
  test: string
  entry_point: string
}

export function isFimSet(set: EvalSet): boolean {
  return set !== 'humaneval'
}

/** Parses JSON lines of problems, checking every field; `limit` keeps the first N. */
export function parseProblems(jsonl: string, limit = Infinity): EvalProblem[] {
  const problems: EvalProblem[] = []
  for (const [index, line] of jsonl.split('\n').entries()) {
    if (problems.length >= limit) break
    if (line.trim() === '') continue
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      throw new Error(`Line ${index + 1} of the problem file is not JSON.`)
    }
    problems.push(checkProblem(value, index + 1))
  }
  return problems
}

function checkProblem(value: unknown, line: number): EvalProblem {
  if (typeof value !== 'object' || value === null) throw new Error(`Line ${line}: a problem must be an object.`)
  const record = value as Record<string, unknown>
  const text = (field: string, optional = false): string | undefined => {
    const v = record[field]
    if (v === undefined && optional) return undefined
    if (typeof v !== 'string') throw new Error(`Line ${line}: field ${field} must be a string.`)
    return v
  }
  const problem: EvalProblem = {
    task_id: text('task_id') as string,
    prompt: text('prompt') as string,
    canonical_solution: text('canonical_solution') as string,
    test: text('test') as string,
    entry_point: text('entry_point') as string,
  }
  const suffix = text('suffix', true)
  if (suffix !== undefined) problem.suffix = suffix
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(problem.entry_point))
    throw new Error(`Line ${line}: entry_point is not a Python name.`)
  return problem
}

/** Where plain HumanEval completions end: the next top-level statement. */
export const HUMANEVAL_STOPS = ['\ndef ', '\nclass ', '\nif __name__', '\nprint(', '\n#', '\nassert ']

/** Turns raw model output into the completion that is scored, the way each set is defined. */
export function completionFromOutput(set: EvalSet, problem: EvalProblem, output: string): string {
  if (set === 'single-line') {
    // The missing line includes its newline (the prompt ends with one and the suffix starts on the next line), so
    // the suffix is not the rest of the cursor's line here, unlike in the editor: no overlap to drop.
    const { text } = applyStopRule(output, { rule: 'line', prefix: problem.prompt, suffix: '' })
    return `${text.replace(/^\n+/, '')}\n`
  }
  if (set === 'humaneval') {
    let end = output.length
    for (const stop of HUMANEVAL_STOPS) {
      const at = output.indexOf(stop)
      if (at !== -1 && at < end) end = at
    }
    return output.slice(0, end)
  }
  return output
}

/** The program that checks a completion: prefix + completion + suffix, the tests, and the call of `check`. */
export function buildProgram(problem: EvalProblem, completion: string): string {
  return `${problem.prompt}${completion}${problem.suffix ?? ''}\n\n${problem.test}\n\ncheck(${problem.entry_point})\n`
}

/** Exact match up to trailing whitespace on each line and blank lines at either end. */
export function exactMatch(completion: string, canonical: string): boolean {
  const normalize = (text: string) =>
    text
      .split('\n')
      .map((line) => line.trimEnd())
      .join('\n')
      .replace(/^\n+|\n+$/g, '')
  return normalize(completion) === normalize(canonical)
}

export type ProgramOutcome =
  { status: 'passed' } | { status: 'failed'; error: string } | { status: 'timeout'; limitMs: number }

export type ProblemResult = {
  task_id: string
  completion: string
  exact: boolean
  passed: boolean
  outcome: ProgramOutcome['status']
  /** The Python error or the timeout, shortened. */
  error?: string
  firstTokenMs: number
  totalMs: number
}

export type EvalSummary = {
  set: EvalSet
  problems: number
  passed: number
  exact: number
  timeouts: number
  pass_at_1: number
  exact_match: number
  latency_ms: { first_token_p50: number; first_token_p95: number; total_p50: number; total_p95: number }
}

/** The p-th percentile (0..100) by nearest rank; 0 for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number
}

export function summarize(set: EvalSet, results: readonly ProblemResult[]): EvalSummary {
  const count = results.length
  const passed = results.filter((r) => r.passed).length
  const exact = results.filter((r) => r.exact).length
  const round = (n: number) => Math.round(n * 10) / 10
  return {
    set,
    problems: count,
    passed,
    exact,
    timeouts: results.filter((r) => r.outcome === 'timeout').length,
    pass_at_1: count ? passed / count : 0,
    exact_match: count ? exact / count : 0,
    latency_ms: {
      first_token_p50: round(
        percentile(
          results.map((r) => r.firstTokenMs),
          50,
        ),
      ),
      first_token_p95: round(
        percentile(
          results.map((r) => r.firstTokenMs),
          95,
        ),
      ),
      total_p50: round(
        percentile(
          results.map((r) => r.totalMs),
          50,
        ),
      ),
      total_p95: round(
        percentile(
          results.map((r) => r.totalMs),
          95,
        ),
      ),
    },
  }
}

/** A fixed-width table: one row per problem (up to `maxRows`), then the totals. */
export function formatTable(summary: EvalSummary, results: readonly ProblemResult[], maxRows = 40): string {
  const rows = results
    .slice(0, maxRows)
    .map((r) => [r.task_id, r.exact ? 'yes' : 'no', r.outcome, `${Math.round(r.totalMs)}`])
  const header = ['problem', 'exact', 'pass@1', 'ms']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)))
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ')
  const percent = (x: number) => `${(x * 100).toFixed(1)}%`
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    ...(results.length > maxRows ? [`… ${results.length - maxRows} more in the JSON result`] : []),
    '',
    `${summary.set}: ${summary.problems} problems, pass@1 ${percent(summary.pass_at_1)} (${summary.passed}), exact match ${percent(summary.exact_match)} (${summary.exact}), timeouts ${summary.timeouts}`,
    `latency ms: first token p50 ${summary.latency_ms.first_token_p50} p95 ${summary.latency_ms.first_token_p95}; total p50 ${summary.latency_ms.total_p50} p95 ${summary.latency_ms.total_p95}`,
  ].join('\n')
}

export type EvalRun = {
  version: 1
  set: EvalSet
  /** What was asked: `local:<model>`, a gateway URL, a peer id, or `canonical`. */
  target: string
  model: string
  startedAt: string
  finishedAt: string
  summary: EvalSummary
  results: ProblemResult[]
}

export type SignedEvalRun = EvalRun & {
  signature: { evaluator: Address; resultsHash: Hex; typedData: 'EvalResult'; signature: Hex }
}

/** keccak256 of the per-problem results as canonical JSON: what the signature commits to besides the totals. */
export function resultsHash(results: readonly ProblemResult[]): Hex {
  return keccak256(toBytes(JSON.stringify(results)))
}

export const EVAL_TYPES = {
  EvalResult: [
    { name: 'set', type: 'string' },
    { name: 'target', type: 'string' },
    { name: 'model', type: 'string' },
    { name: 'problems', type: 'uint32' },
    { name: 'passed', type: 'uint32' },
    { name: 'exact', type: 'uint32' },
    { name: 'resultsHash', type: 'bytes32' },
    { name: 'finishedAt', type: 'string' },
  ],
} as const

/** EIP-712 typed data of a run (domain "Modelex Eval" v1, no chain: an attestation, not a transaction). */
export function evalTypedData(run: EvalRun): TypedDataDefinition<typeof EVAL_TYPES, 'EvalResult'> {
  return {
    domain: { name: 'Modelex Eval', version: '1' },
    types: EVAL_TYPES,
    primaryType: 'EvalResult',
    message: {
      set: run.set,
      target: run.target,
      model: run.model,
      problems: run.summary.problems,
      passed: run.summary.passed,
      exact: run.summary.exact,
      resultsHash: resultsHash(run.results),
      finishedAt: run.finishedAt,
    },
  }
}

export function evalDigest(run: EvalRun): Hex {
  return hashTypedData(evalTypedData(run))
}
