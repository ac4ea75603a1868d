import fc from 'fast-check'
import { expect, test } from 'vitest'
import { applyStopRule, indentWidth, type StopRuleContext } from './stop-rules.ts'

const line = (prefix: string, suffix = ''): StopRuleContext => ({ rule: 'line', prefix, suffix })
const block = (prefix: string, suffix = ''): StopRuleContext => ({ rule: 'block', prefix, suffix })

test('single line: ends at the first newline after code', () => {
  expect(applyStopRule('    for x in xs:\n        y', line('def f(xs):\n'))).toEqual({ text: '    for x in xs:', done: true })
  expect(applyStopRule('return a +', line('    '))).toEqual({ text: 'return a +', done: false })
  expect(applyStopRule('   ', line('x = '))).toEqual({ text: '', done: false })
})

test('single line: at the end of a line with code, the next line is the suggestion', () => {
  expect(applyStopRule('\n    return a + b\n\ndef g', line('def add(a, b):'))).toEqual({ text: '\n    return a + b', done: true })
  expect(applyStopRule('\n', line('def add(a, b):'))).toEqual({ text: '', done: false })
})

test('single line: text that repeats the rest of the cursor line is dropped', () => {
  expect(applyStopRule('a, b)\nmore', line('print(', ')'))).toEqual({ text: 'a, b', done: true })
  expect(applyStopRule('a, b', line('print(', ')\nnext'))).toEqual({ text: 'a, b', done: false })
})

test('block (Python): the body of the block opened on the cursor line, up to the dedent', () => {
  const output = '\n    total = a + b\n    return total\n\ndef g():\n    pass'
  expect(applyStopRule(output, block('def add(a, b):'))).toEqual({ text: '\n    total = a + b\n    return total', done: true })
})

test('block (Python): on a blank line inside a body, statements at that level until the dedent', () => {
  expect(applyStopRule('y = x + 1\n    return y\nprint(f(1))', block('def f(x):\n    '))).toEqual({ text: 'y = x + 1\n    return y', done: true })
  expect(applyStopRule('y = x + 1\n    if y:\n        y -= 1\n    return y\n', block('def f(x):\n    '), true)).toEqual({ text: 'y = x + 1\n    if y:\n        y -= 1\n    return y', done: false })
})

test('block (JavaScript): the closing brace at the block level is kept and ends it', () => {
  expect(applyStopRule('\n  return a + b\n}\n\nfunction g() {', block('function add(a, b) {'))).toEqual({ text: '\n  return a + b\n}', done: true })
  // While the closer may still grow (`} else {`), it is held back and the rule is not done.
  expect(applyStopRule('\n  return a + b\n}', block('function add(a, b) {'))).toEqual({ text: '\n  return a + b', done: false })
  expect(applyStopRule('\n  return a + b\n}', block('function add(a, b) {'), true)).toEqual({ text: '\n  return a + b\n}', done: true })
})

test('block: a line that repeats what follows the cursor ends the suggestion', () => {
  const suffix = '\n    return y\n'
  expect(applyStopRule('y = 2 * x\n    return y\n', block('def f(x):\n    ', suffix))).toEqual({ text: 'y = 2 * x', done: true })
})

test('block: at most maxLines lines', () => {
  const output = Array.from({ length: 50 }, (_, i) => `x${i} = ${i}`).join('\n')
  const decision = applyStopRule(output, { ...block(''), maxLines: 5 })
  expect(decision.text.split('\n')).toHaveLength(5)
  expect(decision.done).toBe(true)
})

test('indentation counts tabs to the next tab stop', () => {
  expect(indentWidth('\t  x')).toBe(6)
  expect(indentWidth('  \tx', 8)).toBe(8)
  expect(indentWidth('x')).toBe(0)
})

test('property: the suggestion is a prefix of the output (up to a dropped repeat of the line rest), and once done, more output changes nothing', () => {
  const code = fc.string({ unit: fc.constantFrom('a', ' ', '\n', '    ', '}', ':', '('), maxLength: 120 })
  fc.assert(
    fc.property(code, code, fc.constantFrom<'line' | 'block'>('line', 'block'), code, (output, more, rule, prefix) => {
      const context = { rule, prefix, suffix: '' }
      const decision = applyStopRule(output, context)
      expect(output.startsWith(decision.text)).toBe(true)
      if (decision.done) expect(applyStopRule(output + more, context).text).toBe(decision.text)
    }),
    { numRuns: 500 },
  )
})

test('the rule for a spot: a block after an opener or on a blank line, else one line', async () => {
  const { chooseStopRule } = await import('./stop-rules.ts')
  expect(chooseStopRule('def f(x):', '')).toBe('block')
  expect(chooseStopRule('function f() {', '\n}')).toBe('block')
  expect(chooseStopRule('def f(x):\n    ', '')).toBe('block')
  expect(chooseStopRule('x = ', '')).toBe('line')
  expect(chooseStopRule('print(', ')')).toBe('line')
  expect(chooseStopRule('', '')).toBe('line')
})
