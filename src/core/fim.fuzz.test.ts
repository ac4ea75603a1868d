import fc from 'fast-check'
import { expect, test } from 'vitest'
import { fimPrefixStart, LOCAL_FIM_BUDGET, trimFimContext, type FimBudget } from './fim.ts'

// Text made of short lines, long lines and blank lines, so cuts, cursor lines longer than the budget and grid points
// inside long lines all occur.
const code = (maxLength: number) =>
  fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\n', '\n', 'x'.repeat(7)), maxLength })
const budgets = fc
  .record({
    maxPrefixChars: fc.integer({ min: 1, max: 120 }),
    maxSuffixChars: fc.integer({ min: 1, max: 120 }),
    prefixStepChars: fc.option(fc.integer({ min: 1, max: 120 }), { nil: undefined }),
  })
  .map((b) => {
    const budget: FimBudget = { maxPrefixChars: b.maxPrefixChars, maxSuffixChars: b.maxSuffixChars }
    if (b.prefixStepChars !== undefined) budget.prefixStepChars = b.prefixStepChars
    return budget
  })
const stepOf = (budget: FimBudget) => Math.max(1, Math.floor(budget.prefixStepChars ?? budget.maxPrefixChars / 2))
const cursorLineStartOf = (prefix: string) => prefix.lastIndexOf('\n') + 1

test('property: the window holds the cursor context, starts at a line start and is bounded', () => {
  fc.assert(
    fc.property(code(400), code(400), budgets, (prefix, suffix, budget) => {
      const out = trimFimContext({ prefix, suffix }, budget)
      const start = prefix.length - out.prefix.length
      expect(prefix.slice(start)).toBe(out.prefix)
      expect(suffix.startsWith(out.suffix)).toBe(true)
      // The cursor's own line, both halves, is always in.
      const cursorLineStart = cursorLineStartOf(prefix)
      expect(start).toBeLessThanOrEqual(cursorLineStart)
      const restOfLine = suffix.includes('\n') ? suffix.slice(0, suffix.indexOf('\n') + 1) : suffix
      expect(out.suffix.startsWith(restOfLine)).toBe(true)
      // Cuts at line boundaries.
      if (start > 0) expect(prefix[start - 1]).toBe('\n')
      if (out.suffix.length < suffix.length) expect(out.suffix.endsWith('\n')).toBe(true)
      // Upper bound: the budget, or the cursor line alone when it does not fit.
      expect(out.prefix.length <= budget.maxPrefixChars || start === cursorLineStart).toBe(true)
      expect(out.suffix.length <= budget.maxSuffixChars || out.suffix === restOfLine).toBe(true)
      // Lower bound: nothing is cut while it fits; else the window starts at the first line start at or after the
      // grid point, so it is never shorter than the budget less one step and the line that straddles the grid point.
      if (prefix.length <= budget.maxPrefixChars) expect(start).toBe(0)
      else if (start !== cursorLineStart) {
        const grid = Math.ceil((prefix.length - budget.maxPrefixChars) / stepOf(budget)) * stepOf(budget)
        expect(start).toBeGreaterThanOrEqual(grid)
        expect(prefix.slice(grid - 1, start - 1)).not.toContain('\n')
      }
    }),
    { numRuns: 500 },
  )
})

test('property: typing at the cursor moves the window start only forward, and only in steps', () => {
  fc.assert(
    fc.property(code(300), code(200), budgets, (document, typed, budget) => {
      const step = stepOf(budget)
      let previous: { start: number; grid: number; cursorLine: boolean } | null = null
      const starts = new Set<number>()
      for (let i = 0; i <= typed.length; i++) {
        const prefix = document + typed.slice(0, i)
        const start = fimPrefixStart(prefix, budget)
        const cursorLine = start === cursorLineStartOf(prefix) && prefix.length > budget.maxPrefixChars
        const grid =
          prefix.length <= budget.maxPrefixChars ? 0 : Math.ceil((prefix.length - budget.maxPrefixChars) / step) * step
        if (previous) {
          // Offsets are document offsets: typing after the window never moves its start back.
          expect(start).toBeGreaterThanOrEqual(previous.start)
          // Same grid point, both windows cut at a line start before the cursor line: the very same start.
          if (grid === previous.grid && !cursorLine && !previous.cursorLine) expect(start).toBe(previous.start)
        }
        if (!cursorLine) starts.add(start)
        previous = { start, grid, cursorLine }
      }
      // Typed characters move the grid point once per step at most.
      expect(starts.size).toBeLessThanOrEqual(Math.ceil(typed.length / step) + 1)
    }),
    { numRuns: 300 },
  )
})

test('property: an edit inside the window or after it leaves the text before the edit unchanged in the prompt', () => {
  // What makes the cached KV reusable: the prompt of the edited document shares everything up to the edit.
  fc.assert(
    fc.property(code(300), code(30), code(100), fc.nat(), budgets, (before, inserted, after, at, budget) => {
      const document = before + after
      const cut = Math.min(at % (before.length + 1), before.length)
      const edited = document.slice(0, cut) + inserted + document.slice(cut)
      const cursor = cut + inserted.length
      const old = fimPrefixStart(document.slice(0, cut), budget)
      const now = fimPrefixStart(edited.slice(0, cursor), budget)
      if (now === old) expect(edited.slice(now, cut)).toBe(document.slice(old, cut))
    }),
    { numRuns: 300 },
  )
})

test('the local budget keeps the window start while a whole function is typed into a long file', () => {
  const line = (i: number) => `    total_${i} = compute(values[${i}], weights[${i}])  # step ${i}\n`
  const document = 'def long_function(values, weights):\n' + Array.from({ length: 120 }, (_, i) => line(i)).join('')
  expect(document.length).toBeGreaterThan(LOCAL_FIM_BUDGET.maxPrefixChars)
  const typed = '    return sum(total for total in (total_0, total_1))\n\n\ndef next_function(x):\n    return x * 2\n'
  const starts = new Set(
    Array.from({ length: typed.length + 1 }, (_, i) => fimPrefixStart(document + typed.slice(0, i), LOCAL_FIM_BUDGET)),
  )
  expect(starts.size).toBe(1)
  const [start] = starts
  expect(document.length - (start ?? 0)).toBeLessThanOrEqual(LOCAL_FIM_BUDGET.maxPrefixChars)
  expect(document.length - (start ?? 0)).toBeGreaterThan(
    LOCAL_FIM_BUDGET.maxPrefixChars - (LOCAL_FIM_BUDGET.prefixStepChars ?? 0) - line(0).length,
  )
})
