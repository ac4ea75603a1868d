/**
 * Worker thread of the Python runner: loads Pyodide (Python compiled to WebAssembly, shipped with its standard
 * library in the `pyodide` npm package, so it runs offline) once, then runs each program it is sent in a fresh
 * namespace and answers passed or failed. Time limits are the parent's job: a program that hangs is ended by
 * terminating this thread.
 */
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { parentPort } from 'node:worker_threads'
import { loadPyodide } from 'pyodide'

type Job = { id: number; code: string }

const port = parentPort
if (!port) throw new Error('eval-python-worker runs as a worker thread.')

// Pyodide finds its files from the caller's stack unless told; under a loader that guess is wrong.
const indexURL = `${dirname(createRequire(import.meta.url).resolve('pyodide/package.json'))}/`
const pyodide = await loadPyodide({ indexURL })
// Programs print; nobody reads it.
pyodide.setStdout({ batched: () => {} })
pyodide.setStderr({ batched: () => {} })
port.postMessage({ type: 'ready' })

port.on('message', (job: Job) => {
  const namespace = pyodide.globals.get('dict')()
  try {
    pyodide.runPython(job.code, { globals: namespace })
    port.postMessage({ type: 'result', id: job.id, ok: true })
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    // Python tracebacks are long; the last lines say what failed.
    port.postMessage({ type: 'result', id: job.id, ok: false, error: message.trim().split('\n').slice(-3).join('\n').slice(0, 500) })
  } finally {
    namespace.destroy()
  }
})
