/**
 * Runs Python programs (a HumanEval completion with its tests) where model-written code cannot reach Node, the
 * file system or the network: in Pyodide inside a separate Node process (src/server/evals/python-child.mjs) started
 * with Node's permission model (it may read only Pyodide's folder and its own file: no writes, no child processes,
 * no worker threads, no native addons, no WASI), code generation from strings disabled (no `Function('return
 * process')` from a JS object Python got hold of), an empty environment, a V8 heap limit and a cap on WebAssembly
 * memory. Inside, Pyodide gets an empty `js` module and the lockdown preamble (src/core/python-lockdown.ts) runs
 * before every program.
 *
 * One child serves program after program (loading Pyodide takes seconds). A program past its time limit, a crash
 * (memory, a fatal Pyodide error), or a program that changed shared interpreter state ("tainted", which could sway
 * the next program's result) ends that child by PID and a fresh one starts loading at once for the next program.
 * Children are also killed when this process exits; a child whose parent died exits by itself (stdin closed, and its
 * own deadline interrupts a running program).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import type { ProgramOutcome } from '../../core/eval.ts'
import { PYTHON_LOCKDOWN } from '../../core/python-lockdown.ts'

export type PythonRunner = {
  run(code: string, timeoutMs: number): Promise<ProgramOutcome>
  close(): Promise<void>
}

export type PythonRunnerOptions = {
  /** Most WebAssembly memory Python may use (bytes); past it, allocations raise MemoryError. Default 1 GiB. */
  memoryLimitBytes?: number
  /** V8 heap limit of the child (`--max-old-space-size`, MiB). Default 256. */
  heapLimitMb?: number
  /** How long loading Pyodide in a fresh child may take. Default 120 s. */
  loadTimeoutMs?: number
}

export const DEFAULT_MEMORY_LIMIT_BYTES = 1024 * 1024 * 1024
export const DEFAULT_HEAP_LIMIT_MB = 256
const DEFAULT_LOAD_TIMEOUT_MS = 120_000

const CHILD_FILE = fileURLToPath(new URL('./python-child.mjs', import.meta.url))
const PYODIDE_DIR = `${dirname(createRequire(import.meta.url).resolve('pyodide/package.json'))}/`

type Reply =
  { type: 'ready' } | { type: 'result'; id: number; ok: boolean; error?: string; fatal?: boolean; tainted?: boolean }
type Child = ChildProcessByStdio<Writable, Readable, Readable>

/** The command line of a sandboxed child: node, its flags, the runner file and its arguments. */
export function sandboxArgs({
  memoryLimitBytes = DEFAULT_MEMORY_LIMIT_BYTES,
  heapLimitMb = DEFAULT_HEAP_LIMIT_MB,
}: PythonRunnerOptions = {}): string[] {
  // Node 22.13+/23.5+ name the flag --permission; 20 knows only the experimental name.
  const permission = process.allowedNodeEnvironmentFlags.has('--permission')
    ? '--permission'
    : '--experimental-permission'
  return [
    permission,
    `--allow-fs-read=${PYODIDE_DIR}`,
    `--allow-fs-read=${CHILD_FILE}`,
    '--disallow-code-generation-from-strings',
    `--max-old-space-size=${heapLimitMb}`,
    '--no-warnings',
    CHILD_FILE,
    PYODIDE_DIR,
    String(memoryLimitBytes),
    Buffer.from(PYTHON_LOCKDOWN).toString('base64'),
  ]
}

const live = new Set<Child>()
let exitHookInstalled = false
function killAllOnExit(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of live) killChild(child)
  })
}

function killChild(child: Child): void {
  live.delete(child)
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  try {
    process.kill(child.pid, 'SIGKILL')
  } catch {
    // Already gone.
  }
}

export function createPythonRunner(options: PythonRunnerOptions = {}): PythonRunner {
  const loadTimeoutMs = options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS
  let current: { child: Child; ready: Promise<Child>; replies: EventTarget; stderr: string[] } | null = null
  let nextId = 1
  let queue: Promise<unknown> = Promise.resolve()
  killAllOnExit()

  const start = () => {
    const child = spawn(process.execPath, sandboxArgs(options), { stdio: ['pipe', 'pipe', 'pipe'], env: {} })
    live.add(child)
    const replies = new EventTarget()
    const stderr: string[] = []
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr.push(chunk)
      if (stderr.length > 20) stderr.shift()
    })
    createInterface({ input: child.stdout }).on('line', (line) => {
      let reply: Reply
      try {
        reply = JSON.parse(line) as Reply
      } catch {
        return
      }
      replies.dispatchEvent(Object.assign(new Event('reply'), { reply }))
    })
    child.stdin.on('error', () => {})
    child.once('exit', () => live.delete(child))
    const ready = new Promise<Child>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer)
        replies.removeEventListener('reply', onReply)
        child.off('exit', onExit)
      }
      const onReply = (event: Event) => {
        if ((event as Event & { reply: Reply }).reply.type !== 'ready') return
        done()
        resolve(child)
      }
      const onExit = (code: number | null, signal: string | null) => {
        done()
        reject(
          new Error(
            `The Python sandbox exited while loading (${signal ?? `code ${code}`}): ${stderr.join('').trim().slice(-500)}`,
          ),
        )
      }
      const timer = setTimeout(() => {
        done()
        killChild(child)
        reject(new Error(`Pyodide did not load within ${loadTimeoutMs} ms.`))
      }, loadTimeoutMs)
      replies.addEventListener('reply', onReply)
      child.once('exit', onExit)
    })
    current = { child, ready, replies, stderr }
    ready.catch(() => {
      if (current?.child === child) current = null
    })
    return current
  }

  const stop = () => {
    if (current) killChild(current.child)
    current = null
  }

  const runNow = async (code: string, timeoutMs: number): Promise<ProgramOutcome> => {
    const sandbox = current ?? start()
    const child = await sandbox.ready
    const id = nextId++
    return new Promise<ProgramOutcome>((resolve) => {
      const finish = (outcome: ProgramOutcome, replace: boolean) => {
        clearTimeout(timer)
        sandbox.replies.removeEventListener('reply', onReply)
        child.off('exit', onExit)
        if (replace && current === sandbox) {
          stop()
          // The next program should not wait for Pyodide to load, nor have that load counted in its time limit.
          start()
        }
        resolve(outcome)
      }
      const onReply = (event: Event) => {
        const reply = (event as Event & { reply: Reply }).reply
        if (reply.type !== 'result' || reply.id !== id) return
        finish(
          reply.ok ? { status: 'passed' } : { status: 'failed', error: reply.error ?? 'failed' },
          Boolean(reply.fatal || reply.tainted),
        )
      }
      const onExit = (exitCode: number | null, signal: string | null) => {
        const why = sandbox.stderr.join('').trim().split('\n').slice(-3).join('\n').slice(0, 500)
        finish(
          {
            status: 'failed',
            error: `the Python sandbox exited (${signal ?? `code ${exitCode}`})${why ? `: ${why}` : ''}`,
          },
          true,
        )
      }
      const timer = setTimeout(() => finish({ status: 'timeout', limitMs: timeoutMs }, true), timeoutMs)
      sandbox.replies.addEventListener('reply', onReply)
      child.once('exit', onExit)
      child.stdin.write(`${JSON.stringify({ id, code, timeoutMs })}\n`)
    })
  }

  return {
    run(code, timeoutMs) {
      const result = queue.then(() => runNow(code, timeoutMs))
      queue = result.catch(() => {})
      return result
    },
    async close() {
      await queue
      const child = current?.child
      stop()
      if (child && child.exitCode === null && child.signalCode === null)
        await new Promise((resolve) => child.once('exit', resolve))
    },
  }
}
