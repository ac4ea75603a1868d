/**
 * The sandboxed child process of the Python runner (src/server/evals/python.ts starts it; see there for the flags).
 * Plain JavaScript on purpose: it runs under Node's permission model, which may read only Pyodide's folder and
 * this file, so no TypeScript loader can run here (tsx would spawn esbuild, a child process the model refuses).
 *
 * It loads Pyodide once with an empty `js` module, takes away what Python could still use to reach Node (the
 * `require` Pyodide puts on globalThis, fetch, WebSocket, Node's socket file system, process.binding), runs the
 * lockdown preamble, and then runs each program it reads on stdin (one JSON line: `{ id, code, timeoutMs }`),
 * answering one JSON line on stdout: `{ type: 'result', id, ok, error?, fatal?, tainted? }`. Python's own output
 * is dropped, so only this file writes to stdout.
 *
 * Limits it keeps itself: WebAssembly memory may not grow past argv[4] bytes (Python sees MemoryError), and a
 * program past its time raises KeyboardInterrupt through Pyodide's interrupt check. The parent kills this process
 * when a program runs past its limit anyway; this is the stop for when the parent is gone.
 */
import { constants as fsConstants } from 'node:fs'
import { createInterface } from 'node:readline'

const [, , indexURL, memoryLimitArg, lockdownBase64] = process.argv
const memoryLimitBytes = Number(memoryLimitArg)
const lockdown = Buffer.from(lockdownBase64 ?? '', 'base64').toString('utf8')
const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`)

if (!indexURL || !(memoryLimitBytes > 0) || !lockdown) {
  process.stderr.write('usage: python-child.mjs <pyodide dir/> <memory limit bytes> <lockdown preamble, base64>\n')
  process.exit(2)
}

// Emscripten grows its heap through Memory.prototype.grow and reads a thrown error as "out of memory" (malloc
// returns NULL, Python raises MemoryError), so this caps Python's memory without touching the interpreter.
const realGrow = WebAssembly.Memory.prototype.grow
WebAssembly.Memory.prototype.grow = function grow(pages) {
  if (this.buffer.byteLength + pages * 65536 > memoryLimitBytes)
    throw new RangeError('memory limit of the evaluation sandbox')
  return realGrow.call(this, pages)
}

// Pyodide's Node file system asks process.binding('constants') for open flags; the permission model refuses
// process.binding, and node:fs has the same constants.
const realBinding = process.binding
process.binding = (name) => (name === 'constants' ? { fs: fsConstants } : realBinding.call(process, name))

const { loadPyodide } = await import(new URL('pyodide.mjs', `file://${indexURL}`).href)
const pyodide = await loadPyodide({
  indexURL,
  jsglobals: Object.create(null),
  env: { HOME: '/home/pyodide' },
  stdout: () => {},
  stderr: () => {},
})
pyodide.setStdout({ batched: () => {} })
pyodide.setStderr({ batched: () => {} })
pyodide.setStdin({ error: true })

// What Python could still call to leave the process, taken away now that loading is over.
const refuse = (what) => () => {
  throw new Error(`${what} is not available in the evaluation sandbox`)
}
globalThis.require = refuse('require')
process.binding = refuse('process.binding')
process._linkedBinding = refuse('process._linkedBinding')
process.dlopen = refuse('process.dlopen')
if ('getBuiltinModule' in process) process.getBuiltinModule = refuse('process.getBuiltinModule')
for (const name of ['fetch', 'WebSocket', 'EventSource', 'XMLHttpRequest', 'Request', 'Response', 'Headers'])
  delete globalThis[name]
pyodide._api.initializeNodeSockFS = refuse('Node sockets')
pyodide._api.loadBinaryFile = refuse('file loading')
for (const name of [
  'loadPackage',
  'loadPackagesFromImports',
  'mountNodeFS',
  'mountNativeFS',
  'useNodeSockFS',
  'registerJsModule',
  'runPythonAsync',
]) {
  try {
    pyodide[name] = refuse(name)
  } catch {
    // A getter-only member stays; the permission model still bounds what it can do.
  }
}

pyodide.runPython(lockdown)
// Modules the problem sets import, and a failing program (tracebacks import their own), loaded before the
// fingerprint below is taken, so that ordinary programs leave it as it was.
pyodide.runPython(
  'import typing, math, random, copy, string, collections, re, hashlib, itertools, functools, heapq, bisect, fractions, statistics, decimal, operator, json, datetime',
)
for (const warmUp of [
  'assert False',
  'raise ValueError()',
  '1 / 0',
  'import js',
  'undefined_name',
  'object().missing',
  '  x = 1',
  'def f(:',
  '[].pop()',
  '{}[0]',
  'int("x")',
  'def f(): f()\nf()',
]) {
  try {
    pyodide.runPython(warmUp, { globals: pyodide.globals.get('dict')() })
  } catch {
    // Expected.
  }
}

// Pyodide polls buffer[0] between bytecodes; 2 means SIGINT, which Python raises as KeyboardInterrupt.
let deadline = Infinity
pyodide.setInterruptBuffer({
  get 0() {
    return Date.now() > deadline ? 2 : 0
  },
  set 0(_value) {},
})

// A program that changes shared interpreter state (builtins, an imported module, sys.path) could change the next
// program's result; the parent starts a fresh child when this fingerprint moves.
const fingerprint = pyodide.runPython(`
def __modelex_fingerprint():
    import sys, builtins
    parts = [id(v) for v in builtins.__dict__.values()]
    parts.append(len(builtins.__dict__))
    parts.append(tuple(sys.path))
    parts.append(tuple(id(f) for f in sys.meta_path))
    for name in sorted(k for k in sys.modules):
        module = sys.modules[name]
        parts.append((name, id(module)))
        for key, value in list(getattr(module, '__dict__', {}).items()):
            if module is sys and key.startswith('last_'):
                continue  # the last exception, which Pyodide keeps
            parts.append((key, id(value)))
            if isinstance(value, type) and getattr(value, '__module__', None) == name:
                parts.append(tuple((k, id(v)) for k, v in list(value.__dict__.items())))
    return hash(tuple(parts))
__modelex_fingerprint
`)
const baseline = fingerprint()
send({ type: 'ready' })

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  let job
  try {
    job = JSON.parse(line)
  } catch {
    return
  }
  const namespace = pyodide.globals.get('dict')()
  deadline = Date.now() + Number(job.timeoutMs ?? 10_000) + 1_000
  try {
    pyodide.runPython(job.code, { globals: namespace })
    deadline = Infinity
    send({ type: 'result', id: job.id, ok: true, ...tainted() })
  } catch (error) {
    deadline = Infinity
    const message = error instanceof Error ? error.message : String(error)
    const fatal = Boolean(error && error.pyodide_fatal_error)
    // Python tracebacks are long; the last lines say what failed.
    send({
      type: 'result',
      id: job.id,
      ok: false,
      error: message.trim().split('\n').slice(-3).join('\n').slice(0, 500),
      ...(fatal ? { fatal } : tainted()),
    })
  } finally {
    try {
      namespace.destroy()
    } catch {
      // A fatally failed interpreter cannot destroy proxies; the parent replaces this process.
    }
  }
})
lines.on('close', () => process.exit(0))

function tainted() {
  try {
    return fingerprint() === baseline ? {} : { tainted: true }
  } catch {
    return { tainted: true }
  }
}
