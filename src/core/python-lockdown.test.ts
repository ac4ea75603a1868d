import { expect, test } from 'vitest'
import { buildProgram, type EvalProblem } from './eval.ts'
import {
  BLOCKED_OS_FUNCTIONS,
  BLOCKED_PYTHON_MODULES,
  buildLockedProgram,
  lockedProgram,
  PYTHON_LOCKDOWN,
} from './python-lockdown.ts'

const problem: EvalProblem = {
  task_id: 'Test/0',
  prompt: 'def add(a, b):\n',
  canonical_solution: '    return a + b\n',
  test: 'def check(candidate):\n    assert candidate(1, 2) == 3\n',
  entry_point: 'add',
}

test('the preamble blocks every way to JavaScript the issue names, and process spawning and sockets', () => {
  for (const name of [
    'js',
    'pyodide_js',
    'pyodide',
    '_pyodide',
    '_pyodide_core',
    'micropip',
    'ctypes',
    'subprocess',
    'socket',
    '_socket',
    'urllib.request',
  ]) {
    expect(BLOCKED_PYTHON_MODULES).toContain(name)
    expect(PYTHON_LOCKDOWN).toContain(`'${name}'`)
  }
  for (const name of ['system', 'popen', 'execv', 'fork', 'posix_spawn']) {
    expect(BLOCKED_OS_FUNCTIONS).toContain(name)
    expect(PYTHON_LOCKDOWN).toContain(`'${name}'`)
  }
  // pyodide.code.run_js, pyodide.ffi and pyodide.http are submodules of a blocked package.
  expect(PYTHON_LOCKDOWN).toContain("name.startswith(b + '.')")
})

test('the preamble leaves no names behind and ends before the program starts', () => {
  expect(PYTHON_LOCKDOWN.startsWith('def __modelex_lockdown():\n')).toBe(true)
  expect(PYTHON_LOCKDOWN.endsWith('__modelex_lockdown()\ndel __modelex_lockdown\n')).toBe(true)
  // Every line of the function body is indented, so nothing but the call runs at top level.
  const topLevel = PYTHON_LOCKDOWN.split('\n').filter((line) => line !== '' && !line.startsWith(' '))
  expect(topLevel).toEqual(['def __modelex_lockdown():', '__modelex_lockdown()', 'del __modelex_lockdown'])
  expect(PYTHON_LOCKDOWN).not.toContain('\t')
})

test('the locked program is the preamble, then the problem, the completion, the tests and the check call', () => {
  expect(lockedProgram('x = 1\n')).toBe(`${PYTHON_LOCKDOWN}\nx = 1\n`)
  const program = buildLockedProgram(problem, problem.canonical_solution)
  expect(program).toBe(`${PYTHON_LOCKDOWN}\n${buildProgram(problem, problem.canonical_solution)}`)
  expect(
    program.endsWith(
      'def add(a, b):\n    return a + b\n\n\ndef check(candidate):\n    assert candidate(1, 2) == 3\n\n\ncheck(add)\n',
    ),
  ).toBe(true)
})
