/**
 * `npm test`: every suite of the project in one run — typecheck, lint, unit, contracts, integration, browser and
 * end-to-end — with one summary line at the end, `N passed, N failed`, that adds them all up. Exits non-zero if
 * anything failed. `--only unit,browser` runs a subset.
 *
 * Each suite is a child process; vitest suites report through their JSON reporter, forge through its summary line,
 * and single checks (typecheck, lint) count as one test each.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { ensureChromium } from '../lib/chromium.ts'

type Counts = { passed: number; failed: number; skipped: number }
type Suite = { name: string; run(): Promise<Counts> }

const root = resolve(import.meta.dirname, '../../..')
const bin = (name: string) => join(root, 'node_modules', '.bin', name)
const resultsDir = join(root, '.modelex', 'test-results')

function run(
  command: string,
  args: readonly string[],
  options: { capture?: boolean } = {},
): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.stdout.isTTY ? process.env : { ...process.env, NO_COLOR: '1' },
    })
    let output = ''
    const forward = (stream: NodeJS.WriteStream) => (chunk: Buffer) => {
      stream.write(chunk)
      if (options.capture) output += chunk.toString('utf8')
    }
    child.stdout.on('data', forward(process.stdout))
    child.stderr.on('data', forward(process.stderr))
    child.once('error', (error) => resolvePromise({ code: 127, output: `${output}\n${error.message}` }))
    child.once('close', (code, signal) => resolvePromise({ code: code ?? (signal ? 128 : 1), output }))
  })
}

/** Commands that pass or fail as a whole (typecheck; lint = ESLint and Prettier's check); each counts as one test. */
const check = (name: string, ...commands: [command: string, args: readonly string[]][]): Suite => ({
  name,
  async run() {
    let failed = 0
    for (const [command, args] of commands) if ((await run(command, args)).code !== 0) failed++
    return { passed: commands.length - failed, failed, skipped: 0 }
  },
})

type VitestJson = { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number }

const vitestProject = (project: string, prepare?: () => void): Suite => ({
  name: project,
  async run() {
    prepare?.()
    const report = join(resultsDir, `${project}.json`)
    await rm(report, { force: true })
    const { code } = await run(bin('vitest'), [
      'run',
      '--project',
      project,
      '--passWithNoTests',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${report}`,
    ])
    return vitestCounts(report, code)
  },
})

/**
 * The counts of a vitest JSON report. No report means vitest failed before running tests (a setup error); a failed
 * global setup, an unhandled error or the adversarial runner's loss check fails the run without failing a test:
 * either is counted as one failure.
 */
async function vitestCounts(report: string, code: number): Promise<Counts> {
  let counts: Counts = { passed: 0, failed: 0, skipped: 0 }
  try {
    const json = JSON.parse(await readFile(report, 'utf8')) as VitestJson
    counts = {
      passed: json.numPassedTests,
      failed: json.numFailedTests,
      skipped: json.numPendingTests + json.numTodoTests,
    }
  } catch {
    // Counted below.
  }
  if (code !== 0 && counts.failed === 0) counts.failed = 1
  return counts
}

const contracts: Suite = {
  name: 'contracts',
  async run() {
    if (!existsSync(join(root, 'contracts', 'foundry.toml'))) return { passed: 0, failed: 0, skipped: 0 }
    const { code, output } = await run('npm', ['run', '--silent', 'test:contracts'], { capture: true })
    const summary = [...output.matchAll(/(\d+) tests passed, (\d+) failed, (\d+) skipped/g)].at(-1)
    const counts: Counts = summary
      ? { passed: Number(summary[1]), failed: Number(summary[2]), skipped: Number(summary[3]) }
      : { passed: 0, failed: 0, skipped: 0 }
    if (code !== 0 && counts.failed === 0) counts.failed = 1
    return counts
  },
}

/** The adversarial suite through its own runner, which prints one line per attack and the wei lost. */
const adversarial: Suite = {
  name: 'adversarial',
  async run() {
    const report = join(resultsDir, 'adversarial.json')
    await rm(report, { force: true })
    const { code } = await run(bin('tsx'), ['src/server/testing/run-adversarial.ts', '--json', report])
    return vitestCounts(report, code)
  },
}

const needsChromium = () => {
  ensureChromium((line) => console.log(line))
}

const suites: Suite[] = [
  check('typecheck', [
    bin('svelte-check'),
    ['--tsconfig', './tsconfig.json', '--fail-on-warnings', '--output', 'human'],
  ]),
  check('lint', [bin('eslint'), ['--max-warnings', '0', '.']], [bin('prettier'), ['--check', '.']]),
  vitestProject('unit'),
  contracts,
  vitestProject('integration'),
  adversarial,
  vitestProject('browser', needsChromium),
  vitestProject('e2e', needsChromium),
]

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: 'string' } } })
  const only = values.only?.split(',').map((s) => s.trim())
  const selected = only ? suites.filter((suite) => only.includes(suite.name)) : suites
  if (only && selected.length !== only.length)
    throw new Error(`Unknown suite in --only. Suites: ${suites.map((s) => s.name).join(', ')}`)
  await mkdir(resultsDir, { recursive: true })

  const rows: { name: string; counts: Counts; seconds: number }[] = []
  for (const suite of selected) {
    console.log(`\n━━ ${suite.name} ━━`)
    const started = performance.now()
    let counts: Counts
    try {
      counts = await suite.run()
    } catch (error) {
      console.error(`${suite.name}: ${error instanceof Error ? error.message : String(error)}`)
      counts = { passed: 0, failed: 1, skipped: 0 }
    }
    rows.push({ name: suite.name, counts, seconds: (performance.now() - started) / 1000 })
  }

  const total = rows.reduce(
    (sum, { counts }) => ({
      passed: sum.passed + counts.passed,
      failed: sum.failed + counts.failed,
      skipped: sum.skipped + counts.skipped,
    }),
    {
      passed: 0,
      failed: 0,
      skipped: 0,
    },
  )
  console.log('\n━━ summary ━━')
  for (const { name, counts, seconds } of rows) {
    const status = counts.failed ? 'FAIL' : 'ok  '
    console.log(
      `${status} ${name.padEnd(12)} ${String(counts.passed).padStart(5)} passed ${String(counts.failed).padStart(4)} failed ${String(counts.skipped).padStart(4)} skipped  ${seconds.toFixed(1)} s`,
    )
  }
  console.log(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`)
  process.exitCode = total.failed > 0 ? 1 : 0
}

await main()
