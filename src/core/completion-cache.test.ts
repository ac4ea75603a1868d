import { expect, test } from 'vitest'
import { CompletionCache } from './completion-cache.ts'

const key = (prefix: string, suffix = '', model = 'm') => ({ model, rule: 'line' as const, prefix, suffix })

test('an exact spot gives the suggestion back; another model or suffix does not', () => {
  const cache = new CompletionCache()
  cache.set(key('def f('), 'x):')
  expect(cache.get(key('def f('))).toBe('x):')
  expect(cache.get(key('def f(', '', 'other'))).toBeUndefined()
  expect(cache.get(key('def f(', 'tail'))).toBeUndefined()
  expect(cache.get({ ...key('def f('), rule: 'block' })).toBeUndefined()
  expect([cache.hits, cache.misses]).toEqual([1, 3])
})

test('typing what the suggestion says gives its rest', () => {
  const cache = new CompletionCache()
  cache.set(key('return '), 'a + b')
  expect(cache.get(key('return a'))).toBe(' + b')
  expect(cache.get(key('return a + '))).toBe('b')
  // Typed all of it, or something else: nothing.
  expect(cache.get(key('return a + b'))).toBeUndefined()
  expect(cache.get(key('return x'))).toBeUndefined()
})

test('least recently used entries go first, by count and by size', () => {
  const cache = new CompletionCache({ maxEntries: 2 })
  cache.set(key('a'), '1')
  cache.set(key('b'), '2')
  cache.get(key('a'))
  cache.set(key('c'), '3')
  expect(cache.get(key('b'))).toBeUndefined()
  expect(cache.get(key('a'))).toBe('1')
  expect(cache.size).toBe(2)
  const small = new CompletionCache({ maxChars: 10 })
  small.set(key('aaaa'), 'bbbb')
  small.set(key('cccc'), 'dddd')
  expect(small.size).toBe(1)
  small.set(key('x'.repeat(20)), 'y')
  expect(small.size).toBe(1)
  expect(small.get(key('cccc'))).toBe('dddd')
})

test('setting a spot again replaces it; clear empties', () => {
  const cache = new CompletionCache()
  cache.set(key('a'), '1')
  cache.set(key('a'), '2')
  expect(cache.size).toBe(1)
  expect(cache.get(key('a'))).toBe('2')
  cache.clear()
  expect(cache.size).toBe(0)
})
