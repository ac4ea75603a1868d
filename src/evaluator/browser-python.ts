/**
 * `runPython` for the browser: programs run one at a time in the Pyodide worker (`python-worker.ts`), each within a
 * time limit. A program past its limit fails with a timeout and the worker is terminated (the only way to stop
 * Python mid-loop); the next program gets a fresh worker, so only timeouts pay the few seconds of loading again.
 *
 * @example
 * const python = createBrowserPython({ timeoutMs: 10_000 })
 * const { passed, error } = await python.run('assert 1 + 1 == 2')
 * python.close()
 */
import { EVALUATOR_DEFAULTS } from './constants.ts'
import type { PythonOutcome, RunPython } from './types.ts'
import type { PythonWorkerReply } from './python-worker.ts'

export type BrowserPython = { run: RunPython; close(): void }

export type BrowserPythonOptions = {
  /** Per program (default 10 s). */
  timeoutMs?: number
  /** How long the first load may take (Pyodide's wasm and standard library: ~12 MB). */
  loadTimeoutMs?: number
  /** Makes the worker (tests inject; default the module worker beside this file). */
  createWorker?: () => Worker
}

export function createBrowserPython({
  timeoutMs = EVALUATOR_DEFAULTS.pythonTimeoutMs,
  loadTimeoutMs = 120_000,
  createWorker = () =>
    new Worker(new URL('./python-worker.ts', import.meta.url), { type: 'module', name: 'modelex-python' }),
}: BrowserPythonOptions = {}): BrowserPython {
  let worker: Worker | null = null
  let loaded: Promise<Worker> | null = null
  let nextId = 1
  let queue: Promise<unknown> = Promise.resolve()

  const kill = () => {
    worker?.terminate()
    worker = null
    loaded = null
  }

  const load = (): Promise<Worker> => {
    const w = createWorker()
    worker = w
    return new Promise<Worker>((resolve, reject) => {
      const timer = setTimeout(() => fail(`Pyodide did not load within ${loadTimeoutMs} ms.`), loadTimeoutMs)
      function fail(message: string) {
        clearTimeout(timer)
        w.removeEventListener('message', onMessage)
        kill()
        reject(new Error(message))
      }
      function onMessage(event: MessageEvent<PythonWorkerReply>) {
        if (event.data.type === 'ready') {
          clearTimeout(timer)
          w.removeEventListener('message', onMessage)
          resolve(w)
        } else if (event.data.type === 'load-failed') fail(`Pyodide did not load: ${event.data.error}`)
      }
      w.addEventListener('message', onMessage)
      w.addEventListener('error', (event) => fail(`the Python worker failed: ${event.message}`), { once: true })
    })
  }

  const runNow = async (program: string): Promise<PythonOutcome> => {
    loaded ??= load()
    const w = await loaded
    const id = nextId++
    return new Promise<PythonOutcome>((resolve) => {
      const timer = setTimeout(() => {
        w.removeEventListener('message', onMessage)
        kill()
        resolve({ passed: false, error: `no result within ${timeoutMs} ms` })
      }, timeoutMs)
      function onMessage(event: MessageEvent<PythonWorkerReply>) {
        const reply = event.data
        if (reply.type !== 'result' || reply.id !== id) return
        clearTimeout(timer)
        w.removeEventListener('message', onMessage)
        resolve(reply.passed ? { passed: true } : { passed: false, error: reply.error ?? 'failed' })
      }
      w.addEventListener('message', onMessage)
      w.postMessage({ type: 'run', id, program })
    })
  }

  return {
    run(program) {
      const result = queue.then(() => runNow(program))
      queue = result.catch(() => {})
      return result
    },
    close: kill,
  }
}
