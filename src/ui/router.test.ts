import { expect, test } from 'vitest'
import { APP_ROUTES, Router, type RouterLocation } from './router.svelte.ts'

function memoryLocation(initial: string): RouterLocation & { listeners: Set<() => void> } {
  let hash = initial
  const listeners = new Set<() => void>()
  return {
    listeners,
    getHash: () => hash,
    setHash: (next) => {
      hash = next
      for (const listener of listeners) listener()
    },
    onChange: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

const routes = [
  { id: 'overview', title: 'Overview' },
  { id: 'models', title: 'Models' },
]

test('resolves the hash, falls back to the first route, follows changes and stops listening', () => {
  const location = memoryLocation('#/models')
  const router = new Router(routes, location)
  expect(router.current.id).toBe('models')
  router.go('nowhere')
  expect(router.current.id).toBe('overview')
  router.go('models')
  expect(router.current.id).toBe('models')
  router.destroy()
  expect(location.listeners.size).toBe(0)
})

test('a router needs routes', () => {
  expect(() => new Router([], memoryLocation(''))).toThrow(/at least one route/)
})

test("the app's routes include every view, the Evaluate view last", () => {
  expect(APP_ROUTES.map((r) => r.id)).toEqual([
    'overview',
    'models',
    'network',
    'node',
    'chat',
    'code',
    'spending',
    'prompts',
    'evaluate',
  ])
  const router = new Router(APP_ROUTES, memoryLocation('#/evaluate'))
  expect(router.current).toEqual({ id: 'evaluate', title: 'Evaluate' })
})
