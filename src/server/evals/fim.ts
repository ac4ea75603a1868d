/**
 * `npm run eval:fim -- --target <local|canonical|gateway URL|peer id> --set <single-line|humaneval|random-span>
 * --limit N`: scores a code model on HumanEval-SingleLineInfilling (or plain HumanEval, or the random-span set) from
 * the repo's `data/` (MIT, copied there with their notice; `--data-dir` for another folder). Each completion is
 * scored by exact match and by pass@1 — the completed program runs with its tests in Pyodide in a sandboxed child
 * process (src/server/evals/python.ts: Node's permission model, no `js` module, a lockdown preamble, time and memory
 * limits), so a completion cannot reach this machine. Prints a table and writes the run as JSON, signed (EIP-712) by the evaluator's
 * secp256k1 key, kept in a file (created on first use, mode 0600).
 *
 * Options: --model (local: catalog id, default modelex-demo-tiny; gateway/peer: default the first served),
 * --model-file (local: a GGUF file on this machine), --api-key (gateway; or MODELEX_GATEWAY_TOKEN), --token or
 * --target <peer>:<token> (peer: the pairing token), --relay (peer; default the local stack's), --timeout-ms (per
 * problem, 10000), --data-dir, --key-file (.modelex/evaluator.key), --out (.modelex/eval/<set>-<time>.json).
 */
import '../lib/node-shims.ts'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { isHex, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { parsePairingLine } from '../../core/autocomplete-pairing.ts'
import {
  completionFromOutput,
  EVAL_SET_FILES,
  evalTypedData,
  exactMatch,
  formatTable,
  parseProblems,
  resultsHash,
  summarize,
  type EvalProblem,
  type EvalRun,
  type EvalSet,
  type ProblemResult,
  type SignedEvalRun,
} from '../../core/eval.ts'
import { EvalSetupError } from '../../core/errors/autocomplete.ts'
import { buildLockedProgram } from '../../core/python-lockdown.ts'
import { createPythonRunner, type PythonRunner } from './python.ts'
import { canonicalTarget, gatewayTarget, localTarget, peerTarget, type EvalTarget } from './targets.ts'

const root = resolve(import.meta.dirname, '../../..')
/** The MIT HumanEval sets ship in the repo's `data/`; `--data-dir` points elsewhere. */
export const DEFAULT_DATA_DIR = resolve(root, 'data')
export const DEFAULT_KEY_FILE = resolve(root, '.modelex/evaluator.key')
export const DEFAULT_TIMEOUT_MS = 10_000

export async function loadProblems(
  set: EvalSet,
  { dataDir = DEFAULT_DATA_DIR, limit = Infinity }: { dataDir?: string; limit?: number } = {},
): Promise<EvalProblem[]> {
  const file = join(dataDir, EVAL_SET_FILES[set])
  let bytes: Buffer
  try {
    bytes = await readFile(file)
  } catch (error) {
    throw new EvalSetupError(
      `The data file ${file} is missing. The harness reads the repo's data/ folder; pass --data-dir if the file lives elsewhere.`,
      { cause: error },
    )
  }
  return parseProblems(gunzipSync(bytes).toString('utf8'), limit)
}

export type RunEvalParameters = {
  set: EvalSet
  problems: readonly EvalProblem[]
  target: EvalTarget
  runner: PythonRunner
  timeoutMs?: number
  log?: (line: string) => void
}

/** Asks the target for each problem in turn, scores it, and returns the (unsigned) run. */
export async function runEval({
  set,
  problems,
  target,
  runner,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  log = () => {},
}: RunEvalParameters): Promise<EvalRun> {
  const startedAt = new Date().toISOString()
  const results: ProblemResult[] = []
  for (const [index, problem] of problems.entries()) {
    const answer = await target.complete(problem, set)
    const completion = completionFromOutput(set, problem, answer.output)
    const outcome = await runner.run(buildLockedProgram(problem, completion), timeoutMs)
    const result: ProblemResult = {
      task_id: problem.task_id,
      completion,
      exact: exactMatch(completion, problem.canonical_solution),
      passed: outcome.status === 'passed',
      outcome: outcome.status,
      firstTokenMs: Math.round(answer.firstTokenMs * 10) / 10,
      totalMs: Math.round(answer.totalMs * 10) / 10,
    }
    if (outcome.status === 'failed') result.error = outcome.error
    if (outcome.status === 'timeout') result.error = `no result within ${outcome.limitMs} ms`
    results.push(result)
    log(
      `[${index + 1}/${problems.length}] ${problem.task_id}: ${result.passed ? 'passed' : result.outcome}${result.exact ? ', exact' : ''}`,
    )
  }
  return {
    version: 1,
    set,
    target: target.name,
    model: target.model,
    startedAt,
    finishedAt: new Date().toISOString(),
    summary: summarize(set, results),
    results,
  }
}

/** The evaluator's key from its file, or a new one written there (0600). */
export async function loadOrCreateEvaluatorKey(path: string): Promise<Hex> {
  try {
    const text = (await readFile(path, 'utf8')).trim()
    if (!isHex(text) || text.length !== 66)
      throw new EvalSetupError(
        `${path} does not hold a 32-byte hex private key. Move it away to make a new evaluator key.`,
      )
    return text
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const key = generatePrivateKey()
  await mkdir(dirname(path), { recursive: true })
  await writeFile(`${path}.tmp`, `${key}\n`, { mode: 0o600 })
  await rename(`${path}.tmp`, path)
  return key
}

export async function signRun(run: EvalRun, privateKey: Hex): Promise<SignedEvalRun> {
  const account = privateKeyToAccount(privateKey)
  const signature = await account.signTypedData(evalTypedData(run))
  return {
    ...run,
    signature: {
      evaluator: account.address,
      resultsHash: resultsHash(run.results),
      typedData: 'EvalResult',
      signature,
    },
  }
}

type Options = {
  target: string
  set: EvalSet
  limit: number
  model?: string
  modelFile?: string
  apiKey?: string
  token?: string
  relay?: string
  timeoutMs: number
  dataDir: string
  keyFile: string
  out?: string
}

export function readEvalOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      target: { type: 'string' },
      set: { type: 'string' },
      limit: { type: 'string' },
      model: { type: 'string' },
      'model-file': { type: 'string' },
      'api-key': { type: 'string' },
      token: { type: 'string' },
      relay: { type: 'string' },
      'timeout-ms': { type: 'string' },
      'data-dir': { type: 'string' },
      'key-file': { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  })
  const set = values.set ?? 'single-line'
  if (!(set in EVAL_SET_FILES))
    throw new EvalSetupError(`--set must be one of ${Object.keys(EVAL_SET_FILES).join(', ')}, not ${set}.`)
  const positive = (flag: string, value: string | undefined, fallback: number) => {
    const n = value === undefined ? fallback : Number(value)
    if (!(n > 0) || (!Number.isFinite(n) && n !== Infinity))
      throw new EvalSetupError(`--${flag} must be a positive number, got ${value}.`)
    return n
  }
  if (!values.target)
    throw new EvalSetupError(
      '--target is required: local, canonical, a gateway URL (http://127.0.0.1:8080) or a peer id.',
    )
  const options: Options = {
    target: values.target,
    set: set as EvalSet,
    limit: Math.floor(positive('limit', values.limit, Infinity)),
    timeoutMs: positive('timeout-ms', values['timeout-ms'], DEFAULT_TIMEOUT_MS),
    dataDir: resolve(values['data-dir'] ?? env['MODELEX_DATA_DIR'] ?? DEFAULT_DATA_DIR),
    keyFile: resolve(values['key-file'] ?? env['MODELEX_EVALUATOR_KEY_FILE'] ?? DEFAULT_KEY_FILE),
  }
  const apiKey = values['api-key'] ?? env['MODELEX_GATEWAY_TOKEN']
  for (const [key, value] of [
    ['model', values.model],
    ['modelFile', values['model-file']],
    ['apiKey', apiKey],
    ['token', values.token],
    ['relay', values.relay],
    ['out', values.out],
  ] as const) {
    if (value !== undefined) options[key] = value
  }
  return options
}

async function localRelay(): Promise<string> {
  const text = await readFile(resolve(root, '.modelex/deployment.json'), 'utf8').catch(() => null)
  const relay = text ? (JSON.parse(text) as { relay?: string | null }).relay : null
  if (!relay)
    throw new EvalSetupError(
      'A peer id target needs a relay: pass --relay <multiaddr>, or start the local stack (npm start).',
    )
  return relay
}

export async function openTarget(options: Options, log: (line: string) => void): Promise<EvalTarget> {
  const { target } = options
  if (target === 'canonical') return canonicalTarget()
  if (target === 'local')
    return localTarget({
      model: options.model ?? 'modelex-demo-tiny',
      ...(options.modelFile ? { modelFile: options.modelFile } : {}),
      log,
    })
  if (/^https?:\/\//.test(target)) {
    if (!options.apiKey)
      throw new EvalSetupError(
        'A gateway target needs its bearer token: --api-key <token> (printed by npm run gateway) or MODELEX_GATEWAY_TOKEN.',
      )
    return gatewayTarget({ url: target, apiKey: options.apiKey, ...(options.model ? { model: options.model } : {}) })
  }
  const line = parsePairingLine(target)
  const peer = line?.peer ?? target
  const token = line?.token ?? options.token
  if (!token)
    throw new EvalSetupError(
      "A peer id target needs the pairing token shown in the app's Code view: --target <peer id>:<token> or --token <token>.",
    )
  return peerTarget({
    peer,
    token,
    relay: options.relay ?? (await localRelay()),
    ...(options.model ? { model: options.model } : {}),
  })
}

async function main(): Promise<void> {
  const log = (line: string) => console.error(line)
  let options: Options
  try {
    options = readEvalOptions(process.argv.slice(2), process.env)
  } catch (error) {
    console.error((error as Error).message)
    process.exit(2)
  }
  const problems = await loadProblems(options.set, { dataDir: options.dataDir, limit: options.limit })
  const privateKey = await loadOrCreateEvaluatorKey(options.keyFile)
  const target = await openTarget(options, log)
  const runner = createPythonRunner()
  try {
    const run = await runEval({ set: options.set, problems, target, runner, timeoutMs: options.timeoutMs, log })
    const signed = await signRun(run, privateKey)
    const out = resolve(
      options.out ?? join(root, '.modelex/eval', `${options.set}-${run.finishedAt.replace(/[:.]/g, '-')}.json`),
    )
    await mkdir(dirname(out), { recursive: true })
    await writeFile(out, `${JSON.stringify(signed, null, 2)}\n`)
    console.log(formatTable(run.summary, run.results))
    console.log(`model ${run.model} via ${run.target}; signed by ${signed.signature.evaluator}; written to ${out}`)
  } finally {
    await runner.close()
    await target.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error))
      process.exit(1)
    },
  )
}
