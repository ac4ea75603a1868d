import { expect, test } from 'vitest'
import { AutocompleteMachine, shouldSuggestAt, type CursorContext } from './autocomplete.ts'

let version = 0
const at = (prefix: string, suffix = ''): CursorContext => ({
  version: ++version,
  prefix,
  suffix,
  cursor: prefix.length,
  rule: 'line',
})

test('an edit waits for the debounce, then requests; the answer is shown with its latency', () => {
  const machine = new AutocompleteMachine({ debounceMs: 100, model: 'm' })
  const context = at('def add(a, b):\n    ')
  expect(machine.dispatch({ type: 'edit', context })).toEqual([{ type: 'schedule', token: 1, delayMs: 100 }])
  expect(machine.dispatch({ type: 'timer', token: 1 })).toEqual([{ type: 'request', id: 1, context }])
  expect(machine.dispatch({ type: 'result', id: 1, text: 'return a + b', firstTokenMs: 5, totalMs: 20 })).toEqual([
    {
      type: 'show',
      suggestion: {
        text: 'return a + b',
        at: context.cursor,
        partial: false,
        cached: false,
        firstTokenMs: 5,
        totalMs: 20,
      },
    },
  ])
  expect(machine.state.phase).toBe('showing')
})

test('typing during the debounce restarts it; typing during a request cancels it at once', () => {
  const machine = new AutocompleteMachine({ debounceMs: 100 })
  machine.dispatch({ type: 'edit', context: at('x = ') })
  expect(machine.dispatch({ type: 'edit', context: at('x = 1') })).toEqual([
    { type: 'clear-timer', token: 1 },
    { type: 'schedule', token: 2, delayMs: 100 },
  ])
  // The old timer firing late does nothing.
  expect(machine.dispatch({ type: 'timer', token: 1 })).toEqual([])
  machine.dispatch({ type: 'timer', token: 2 })
  expect(machine.dispatch({ type: 'edit', context: at('x = 1 ') })).toEqual([
    { type: 'cancel', id: 1 },
    { type: 'schedule', token: 3, delayMs: 100 },
  ])
  // The stale request's answer and failure are dropped.
  expect(machine.dispatch({ type: 'result', id: 1, text: 'late', firstTokenMs: 1, totalMs: 1 })).toEqual([])
  expect(machine.dispatch({ type: 'failure', id: 1, message: 'aborted' })).toEqual([])
})

test('streamed text is shown as it grows; Tab mid-stream inserts it and cancels the rest', () => {
  const machine = new AutocompleteMachine({ debounceMs: 0 })
  const context = at('total = ')
  machine.dispatch({ type: 'edit', context })
  machine.dispatch({ type: 'timer', token: 1 })
  expect(machine.dispatch({ type: 'partial', id: 1, text: 'a +', firstTokenMs: 3 })).toEqual([
    { type: 'show', suggestion: { text: 'a +', at: 8, partial: true, cached: false, firstTokenMs: 3, totalMs: 0 } },
  ])
  expect(machine.dispatch({ type: 'accept' })).toEqual([
    { type: 'cancel', id: 1 },
    { type: 'hide' },
    { type: 'insert', text: 'a +', at: 8 },
  ])
  expect(machine.state.phase).toBe('idle')
})

test('Tab inserts a shown suggestion; Tab with nothing shown is not ours (the editor indents)', () => {
  const machine = new AutocompleteMachine({ debounceMs: 0 })
  expect(machine.dispatch({ type: 'accept' })).toEqual([])
  machine.dispatch({ type: 'edit', context: at('x = ') })
  machine.dispatch({ type: 'timer', token: 1 })
  machine.dispatch({ type: 'result', id: 1, text: '42', firstTokenMs: 1, totalMs: 2 })
  expect(machine.dispatch({ type: 'accept' })).toEqual([{ type: 'hide' }, { type: 'insert', text: '42', at: 4 }])
})

test('Esc hides the suggestion and cancels what is pending', () => {
  const machine = new AutocompleteMachine({ debounceMs: 0 })
  machine.dispatch({ type: 'edit', context: at('x = ') })
  machine.dispatch({ type: 'timer', token: 1 })
  machine.dispatch({ type: 'partial', id: 1, text: '4', firstTokenMs: 1 })
  expect(machine.dispatch({ type: 'dismiss' })).toEqual([{ type: 'cancel', id: 1 }, { type: 'hide' }])
  expect(machine.dispatch({ type: 'dismiss' })).toEqual([])
})

test('a spot seen before is answered from the cache without a request, also while typing through it', () => {
  const machine = new AutocompleteMachine({ debounceMs: 50, model: 'm' })
  const context = at('def f(x):\n    return ')
  machine.dispatch({ type: 'edit', context })
  machine.dispatch({ type: 'timer', token: 1 })
  machine.dispatch({ type: 'result', id: 1, text: 'x * 2', firstTokenMs: 1, totalMs: 9 })
  machine.dispatch({ type: 'dismiss' })
  const again = machine.dispatch({ type: 'edit', context: { ...context, version: 99 } })
  expect(again).toEqual([
    {
      type: 'show',
      suggestion: { text: 'x * 2', at: context.cursor, partial: false, cached: true, firstTokenMs: 0, totalMs: 0 },
    },
  ])
  const typed = machine.dispatch({ type: 'edit', context: at('def f(x):\n    return x ') })
  expect(typed).toEqual([
    { type: 'hide' },
    { type: 'show', suggestion: expect.objectContaining({ text: '* 2', cached: true }) },
  ])
  // Another model: the cache does not answer for it.
  machine.setModel('other')
  expect(machine.dispatch({ type: 'edit', context: { ...context, version: 100 } })[0]).toMatchObject({
    type: 'schedule',
  })
})

test('an empty answer shows nothing and is cached as nothing; a failure is reported', () => {
  const machine = new AutocompleteMachine({ debounceMs: 0 })
  const context = at('x = ')
  machine.dispatch({ type: 'edit', context })
  machine.dispatch({ type: 'timer', token: 1 })
  expect(machine.dispatch({ type: 'result', id: 1, text: '', firstTokenMs: 0, totalMs: 1 })).toEqual([])
  expect(machine.dispatch({ type: 'edit', context: { ...context, version: 50 } })).toEqual([])
  machine.dispatch({ type: 'edit', context: at('y = ') })
  machine.dispatch({ type: 'timer', token: 2 })
  expect(machine.dispatch({ type: 'failure', id: 2, message: 'engine gone' })).toEqual([
    { type: 'error', message: 'engine gone' },
  ])
})

test('suggestions only where the rest of the line is empty or closing brackets', () => {
  expect(shouldSuggestAt({ prefix: 'print(', suffix: ')' })).toBe(true)
  expect(shouldSuggestAt({ prefix: 'pri', suffix: 'nt(x)' })).toBe(false)
  expect(shouldSuggestAt({ prefix: 'x = 1\n', suffix: '\ny = 2' })).toBe(true)
  expect(shouldSuggestAt({ prefix: '', suffix: '' })).toBe(false)
  const machine = new AutocompleteMachine()
  expect(machine.dispatch({ type: 'edit', context: at('pri', 'nt(x)') })).toEqual([])
})
