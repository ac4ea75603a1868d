/**
 * The Python side of the evaluation sandbox: a preamble that runs before any model-written code and takes away
 * what Pyodide gives Python to reach its host — the `js` and `pyodide_js` modules, `pyodide.code.run_js`, the FFI,
 * `pyodide.http`, `micropip`, `ctypes` and Pyodide's internals — plus sockets and process spawning (Pyodide in
 * Node runs `os.system` through `child_process`). Both evaluators use it: the Node harness's sandboxed child
 * process (src/server/evals/python.ts) and the browser's Evaluate worker.
 *
 * Python cannot sandbox Python: a determined program can dig a live reference back out of the interpreter's object
 * graph. So this is the first of several walls, not the only one; the hosts also give Pyodide an empty `js`
 * (`jsglobals`), and the Node host runs it in a child process under Node's permission model with code generation
 * from strings disabled. The preamble is idempotent (running it twice changes nothing more) and leaves no names
 * behind in the program's namespace.
 */
import { buildProgram, type EvalProblem } from './eval.ts'

/**
 * Modules model code may not import (a name here also blocks its submodules). Sockets and `select` go too: on
 * Node, Emscripten carries a socket over a WebSocket without any `js` import.
 */
export const BLOCKED_PYTHON_MODULES: readonly string[] = [
  'js',
  'pyodide_js',
  'pyodide',
  '_pyodide',
  '_pyodide_core',
  'micropip',
  'ctypes',
  '_ctypes',
  'subprocess',
  '_posixsubprocess',
  'multiprocessing',
  'socket',
  '_socket',
  'ssl',
  '_ssl',
  'select',
  'selectors',
  'asyncio',
  'urllib.request',
  'http.client',
  'webbrowser',
]

/** The `os` / `posix` functions that start or signal processes; each is replaced by one that raises. */
export const BLOCKED_OS_FUNCTIONS: readonly string[] = [
  'system',
  'popen',
  'fork',
  'forkpty',
  'kill',
  'killpg',
  'execl',
  'execle',
  'execlp',
  'execlpe',
  'execv',
  'execve',
  'execvp',
  'execvpe',
  'spawnl',
  'spawnle',
  'spawnlp',
  'spawnlpe',
  'spawnv',
  'spawnve',
  'spawnvp',
  'spawnvpe',
  'posix_spawn',
  'posix_spawnp',
]

const pythonList = (names: readonly string[]) => `(${names.map((name) => `'${name}'`).join(', ')},)`

/**
 * Run before the program, in the same namespace. It (1) puts a finder first on `sys.meta_path` that refuses the
 * blocked modules, (2) drops Pyodide's JS finder and empties its table of JS modules (where `js` and `pyodide_js`
 * live), (3) sets every blocked module to `None` in `sys.modules` (so `import` fails even past the finder), and
 * (4) replaces the process functions of `os` and `posix`.
 */
export const PYTHON_LOCKDOWN = `def __modelex_lockdown():
    import sys
    blocked = ${pythonList(BLOCKED_PYTHON_MODULES)}

    def is_blocked(name):
        return any(name == b or name.startswith(b + '.') for b in blocked)

    class ModelexSandboxFinder:
        @staticmethod
        def find_spec(name, path=None, target=None):
            if is_blocked(name):
                raise ImportError(name + ' is not available in the evaluation sandbox', name=name)
            return None

    # A second run keeps the finder and the refusing functions of the first, so shared state stays the same.
    kept = []
    for finder in sys.meta_path:
        if getattr(finder, '__name__', '') == 'ModelexSandboxFinder':
            ModelexSandboxFinder = finder
            continue
        table = getattr(finder, 'jsproxies', None)
        if isinstance(table, dict):
            table.clear()
            continue
        kept.append(finder)
    sys.meta_path[:] = [ModelexSandboxFinder] + kept
    for name in list(sys.modules):
        if is_blocked(name):
            sys.modules[name] = None
    for name in blocked:
        sys.modules[name] = None

    def refuse(name):
        def refused(*args, **kwargs):
            raise PermissionError(name + ' is not available in the evaluation sandbox')
        return refused

    import os
    import posix
    for module in (os, posix):
        for name in ${pythonList(BLOCKED_OS_FUNCTIONS)}:
            if hasattr(module, name) and getattr(getattr(module, name), '__name__', '') != 'refused':
                setattr(module, name, refuse(name))

__modelex_lockdown()
del __modelex_lockdown
`

/** The preamble followed by a program. */
export function lockedProgram(code: string): string {
  return `${PYTHON_LOCKDOWN}\n${code}`
}

/** The program that checks a completion against its problem's tests, behind the lockdown preamble. */
export function buildLockedProgram(problem: EvalProblem, completion: string): string {
  return lockedProgram(buildProgram(problem, completion))
}
