/**
 * Runs Python programs (a HumanEval completion with its tests) in Pyodide in a worker thread, one at a time, each
 * with a time limit. A program past its limit is stopped by terminating the worker; the next program gets a fresh
 * one (loading Pyodide takes a few seconds, and only timeouts pay it).
 */
import { Worker } from 'node:worker_threads'
import type { ProgramOutcome } from '../core/eval.ts'

export type PythonRunner = {
  run(code: string, timeoutMs: number): Promise<ProgramOutcome>
  close(): Promise<void>
}

type Reply = { type: 'ready' } | { type: 'result'; id: number; ok: boolean; error?: string }

const WORKER_URL = new URL('./eval-python-worker.ts', import.meta.url)
const LOAD_TIMEOUT_MS = 120_000

export function createPythonRunner(): PythonRunner {
  let worker: Worker | null = null
  let ready: Promise<Worker> | null = null
  let nextId = 1
  let queue: Promise<unknown> = Promise.resolve()

  const start = (): Promise<Worker> => {
    // The worker is TypeScript: a two-line bootstrap loads it through tsx, as our programs are loaded.
    const bootstrap = `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(WORKER_URL.href)}, ${JSON.stringify(import.meta.url)}))`
    const thread = new Worker(bootstrap, { eval: true })
    worker = thread
    return new Promise<Worker>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Pyodide did not load within ${LOAD_TIMEOUT_MS} ms.`)), LOAD_TIMEOUT_MS)
      thread.once('error', (error) => (clearTimeout(timer), reject(error)))
      thread.once('exit', (code) => (clearTimeout(timer), reject(new Error(`The Python worker exited (code ${code}) while loading.`))))
      thread.on('message', function onReady(message: Reply) {
        if (message.type !== 'ready') return
        clearTimeout(timer)
        thread.off('message', onReady)
        resolve(thread)
      })
    })
  }

  const kill = async () => {
    const thread = worker
    worker = null
    ready = null
    await thread?.terminate()
  }

  const runNow = async (code: string, timeoutMs: number): Promise<ProgramOutcome> => {
    ready ??= start()
    const thread = await ready
    const id = nextId++
    return new Promise<ProgramOutcome>((resolve) => {
      const finish = (outcome: ProgramOutcome) => {
        clearTimeout(timer)
        thread.off('message', onMessage)
        thread.off('exit', onExit)
        resolve(outcome)
      }
      const onMessage = (message: Reply) => {
        if (message.type === 'result' && message.id === id) finish(message.ok ? { status: 'passed' } : { status: 'failed', error: message.error ?? 'failed' })
      }
      const onExit = (exitCode: number) => {
        worker = null
        ready = null
        finish({ status: 'failed', error: `the Python worker exited (code ${exitCode})` })
      }
      const timer = setTimeout(() => {
        finish({ status: 'timeout', limitMs: timeoutMs })
        void kill()
      }, timeoutMs)
      thread.on('message', onMessage)
      thread.once('exit', onExit)
      thread.postMessage({ id, code })
    })
  }

  return {
    run(code, timeoutMs) {
      const result = queue.then(() => runNow(code, timeoutMs))
      queue = result.catch(() => {})
      return result
    },
    close: kill,
  }
}
