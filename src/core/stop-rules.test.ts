import fc from 'fast-check'
import { expect, test } from 'vitest'
import { applyStopRule, indentWidth, type StopRuleContext } from './stop-rules.ts'

const line = (prefix: string, suffix = ''): StopRuleContext => ({ rule: 'line', prefix, suffix })
const block = (prefix: string, suffix = ''): StopRuleContext => ({ rule: 'block', prefix, suffix })

test('single line: ends at the first newline after code', () => {
  expect(applyStopRule('    for x in xs:\n        y', line('def f(xs):\n'))).toEqual({
    text: '    for x in xs:',
    done: true,
  })
  expect(applyStopRule('return a +', line('    '))).toEqual({ text: 'return a +', done: false })
  expect(applyStopRule('   ', line('x = '))).toEqual({ text: '', done: false })
})

test('single line: at the end of a line with code, the next line is the suggestion', () => {
  expect(applyStopRule('\n    return a + b\n\ndef g', line('def add(a, b):'))).toEqual({
    text: '\n    return a + b',
    done: true,
  })
  expect(applyStopRule('\n', line('def add(a, b):'))).toEqual({ text: '', done: false })
})

test('single line: text that repeats the rest of the cursor line is dropped', () => {
  expect(applyStopRule('a, b)\nmore', line('print(', ')'))).toEqual({ text: 'a, b', done: true })
  expect(applyStopRule('a, b', line('print(', ')\nnext'))).toEqual({ text: 'a, b', done: false })
})

test('block (Python): the body of the block opened on the cursor line, up to the dedent', () => {
  const output = '\n    total = a + b\n    return total\n\ndef g():\n    pass'
  expect(applyStopRule(output, block('def add(a, b):'))).toEqual({
    text: '\n    total = a + b\n    return total',
    done: true,
  })
})

test('block (Python): on a blank line inside a body, statements at that level until the dedent', () => {
  expect(applyStopRule('y = x + 1\n    return y\nprint(f(1))', block('def f(x):\n    '))).toEqual({
    text: 'y = x + 1\n    return y',
    done: true,
  })
  expect(applyStopRule('y = x + 1\n    if y:\n        y -= 1\n    return y\n', block('def f(x):\n    '), true)).toEqual(
    { text: 'y = x + 1\n    if y:\n        y -= 1\n    return y', done: false },
  )
})

test('block (JavaScript): the closing brace at the block level is kept and ends it', () => {
  expect(applyStopRule('\n  return a + b\n}\n\nfunction g() {', block('function add(a, b) {'))).toEqual({
    text: '\n  return a + b\n}',
    done: true,
  })
  // While the closer may still grow (`} else {`), it is held back and the rule is not done.
  expect(applyStopRule('\n  return a + b\n}', block('function add(a, b) {'))).toEqual({
    text: '\n  return a + b',
    done: false,
  })
  expect(applyStopRule('\n  return a + b\n}', block('function add(a, b) {'), true)).toEqual({
    text: '\n  return a + b\n}',
    done: true,
  })
})

test('block: the clauses that continue the statement (else, elif, except, finally; } else {) are part of it', () => {
  const python = '\n        return 1\n    elif n == 1:\n        return 2\n    else:\n        return 3\n    print(n)\n'
  expect(applyStopRule(python, block('def f(n):\n    if n == 0:'), true)).toEqual({
    text: '\n        return 1\n    elif n == 1:\n        return 2\n    else:\n        return 3',
    done: true,
  })
  const tried = '\n    x = g()\nexcept ValueError:\n    x = 0\nfinally:\n    done()\nnext_statement()'
  expect(applyStopRule(tried, block('try:'), true)).toEqual({
    text: '\n    x = g()\nexcept ValueError:\n    x = 0\nfinally:\n    done()',
    done: true,
  })
  const js = '\n  a()\n} else {\n  b()\n}\n\nnext()'
  expect(applyStopRule(js, block('if (x) {'), true)).toEqual({ text: '\n  a()\n} else {\n  b()\n}', done: true })
  // While it streams, a line at the block's level that may become a clause is waited for, not cut.
  expect(applyStopRule('\n        return 1\n    el', block('def f(n):\n    if n == 0:'))).toEqual({
    text: '\n        return 1',
    done: false,
  })
  // A new statement at that level still ends the block.
  expect(applyStopRule('\n        return 1\n    for i in x:\n', block('def f(n):\n    if n == 0:'))).toEqual({
    text: '\n        return 1',
    done: true,
  })
})

test('block: a line that repeats what follows the cursor ends the suggestion', () => {
  const suffix = '\n    return y\n'
  expect(applyStopRule('y = 2 * x\n    return y\n', block('def f(x):\n    ', suffix))).toEqual({
    text: 'y = 2 * x',
    done: true,
  })
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
