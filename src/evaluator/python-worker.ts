/**
 * The Evaluate view's Python worker: Pyodide (from the app's own `/pyodide/` files, see `vite.config.ts`) started
 * with an empty `js` module (`jsglobals: {}`), so model-written code cannot reach this worker's globals — no fetch,
 * no postMessage, no importScripts — and every program runs behind the lockdown preamble
 * (`src/core/python-lockdown.ts`), in a fresh namespace. A program that hangs is the host's to end: it terminates
 * this worker (`browser-python.ts`). Messages are a discriminated union on `type`.
 */
/// <reference lib="webworker" />
import type { loadPyodide as LoadPyodide, PyodideAPI } from 'pyodide'
import { lockedProgram } from '../core/python-lockdown.ts'

export type PythonWorkerRequest = { type: 'run'; id: number; program: string }
export type PythonWorkerReply =
  | { type: 'ready' }
  | { type: 'load-failed'; error: string }
  | { type: 'result'; id: number; passed: boolean; error?: string }

declare const self: DedicatedWorkerGlobalScope

const base = new URL('/pyodide/', self.location.origin).href

async function start(): Promise<PyodideAPI> {
  // Imported from the served files at run time (not bundled): Pyodide finds its wasm and standard library beside it.
  const { loadPyodide } = (await import(/* @vite-ignore */ `${base}pyodide.mjs`)) as { loadPyodide: typeof LoadPyodide }
  const pyodide = await loadPyodide({ indexURL: base, jsglobals: {}, stdout: () => {}, stderr: () => {} })
  pyodide.setStdout({ batched: () => {} })
  pyodide.setStderr({ batched: () => {} })
  return pyodide
}

const post = (reply: PythonWorkerReply) => self.postMessage(reply)
// The listener is attached before loading, so no request sent meanwhile is lost; each waits for the load.
const ready = start()
ready.then(
  () => post({ type: 'ready' }),
  (error: unknown) => post({ type: 'load-failed', error: error instanceof Error ? error.message : String(error) }),
)

self.addEventListener('message', (event: MessageEvent<PythonWorkerRequest>) => {
  const request = event.data
  if (request?.type !== 'run') return
  void ready.then(
    (pyodide) => {
      const namespace = pyodide.globals.get('dict')()
      try {
        pyodide.runPython(lockedProgram(request.program), { globals: namespace })
        post({ type: 'result', id: request.id, passed: true })
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        // Python tracebacks are long; the last lines say what failed.
        post({
          type: 'result',
          id: request.id,
          passed: false,
          error: message.trim().split('\n').slice(-3).join('\n').slice(0, 500),
        })
      } finally {
        namespace.destroy()
      }
    },
    () => {},
  )
})
