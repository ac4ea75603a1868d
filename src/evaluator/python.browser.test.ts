/**
 * The Evaluate view's Python runner in headless Chromium: Pyodide from the app's own files in a module worker, with an
 * empty `js` module and the lockdown preamble. A passing program passes, a failing one fails with its error, escape
 * attempts (`import js`, `pyodide_js`, `run_js`) fail, and a program that hangs is stopped at its limit, after which
 * a fresh worker runs the next one.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { launchChromium } from '../server/lib/chromium.ts'
import { openFixture } from '../server/testing/fixture-page.ts'
import type { PythonOutcome } from './types.ts'

let browser: Browser
let page: Page
let errors: string[]

beforeAll(async () => {
  browser = await launchChromium()
  ;({ page, errors } = await openFixture(browser, 'src/evaluator/fixtures/python.html'))
})

afterAll(async () => {
  await browser?.close()
})

const run = (program: string): Promise<PythonOutcome> =>
  page.evaluate((code) => window.modelexPython.run(code), program)

test('a passing program passes and a failing one fails with its Python error', async () => {
  expect(await run('def add(a, b):\n    return a + b\n\nassert add(2, 3) == 5\n')).toEqual({ passed: true })
  const failed = await run('def add(a, b):\n    return a - b\n\nassert add(2, 3) == 5, "wrong sum"\n')
  expect(failed.passed).toBe(false)
  expect(failed.error).toMatch(/AssertionError: wrong sum/)
})

test('escape attempts fail: import js, pyodide_js, run_js, and the js module Pyodide was given is empty', async () => {
  for (const program of [
    'import js\njs.postMessage("out")\n',
    'import pyodide_js\n',
    'from pyodide.code import run_js\nrun_js("self.postMessage(1)")\n',
    'import os\nos.system("id")\n',
  ]) {
    const outcome = await run(program)
    expect(outcome.passed, program).toBe(false)
    expect(outcome.error, program).toMatch(/not available in the evaluation sandbox|ModuleNotFoundError|ImportError/)
  }
  // After all that, plain programs still pass.
  expect(await run('assert sum(range(4)) == 6\n')).toEqual({ passed: true })
})

test('a program that hangs is stopped at its limit, and the next one runs in a fresh worker', async () => {
  const outcome = await run('while True:\n    pass\n')
  expect(outcome).toEqual({ passed: false, error: 'no result within 5000 ms' })
  expect(await run('assert 2 ** 10 == 1024\n')).toEqual({ passed: true })
  expect(errors).toEqual([])
})
