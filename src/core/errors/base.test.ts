import { describe, expect, test } from 'vitest'
import {
  BaseError,
  deserializeError,
  registerErrorClass,
  serializeError,
  walkCauses,
  WebGpuUnavailableError,
} from './index.ts'

class TestError extends BaseError {
  override name = 'TestError' as const
}
registerErrorClass('TestError', TestError)

describe('BaseError', () => {
  test('composes the message from the short message and details', () => {
    const error = new TestError('Do this instead.', { details: 'what was seen' })
    expect(error.message).toBe('Do this instead.\n\nDetails: what was seen')
    expect(error.shortMessage).toBe('Do this instead.')
    expect(error.name).toBe('TestError')
    expect(error).toBeInstanceOf(BaseError)
  })

  test('walk finds a cause by predicate, or the deepest cause', () => {
    const root = new RangeError('root')
    const error = new TestError('top', { cause: new TestError('middle', { cause: root }) })
    expect(error.walk()).toBe(root)
    expect(error.walk((e) => e instanceof RangeError)).toBe(root)
    expect(error.walk((e) => e instanceof SyntaxError)).toBeNull()
  })

  test('walk stops on a cause cycle', () => {
    const a = new TestError('a')
    const b = new TestError('b', { cause: a })
    Object.defineProperty(a, 'cause', { value: b })
    expect(walkCauses(a, () => false)).toBeNull()
  })

  test('subclass facts live in data and survive a round trip', () => {
    const error = new WebGpuUnavailableError({ reason: 'no-api' })
    const back = deserializeError(serializeError(error))
    expect(back).toBeInstanceOf(WebGpuUnavailableError)
    expect((back as WebGpuUnavailableError).reason).toBe('no-api')
  })
})

describe('serializeError / deserializeError', () => {
  test('round-trips class, fields and the cause chain through structuredClone and JSON', () => {
    const error = new TestError('outer', {
      details: 'd',
      data: { code: 'X', n: 1, list: [1, 'a'] },
      cause: new TypeError('inner'),
    })
    for (const carry of [structuredClone, (v: unknown) => JSON.parse(JSON.stringify(v))]) {
      const back = deserializeError(carry(serializeError(error)))
      expect(back).toBeInstanceOf(TestError)
      expect(back.name).toBe('TestError')
      expect(back.message).toBe(error.message)
      expect((back as TestError).shortMessage).toBe('outer')
      expect((back as TestError).details).toBe('d')
      expect((back as TestError).data).toEqual({ code: 'X', n: 1, list: [1, 'a'] })
      expect(back.cause).toBeInstanceOf(TypeError)
      expect((back.cause as Error).message).toBe('inner')
    }
  })

  test('unknown names come back as BaseError with the name kept', () => {
    const back = deserializeError({ name: 'FromTheFuture', message: 'm', shortMessage: 's' })
    expect(back).toBeInstanceOf(BaseError)
    expect(back.name).toBe('FromTheFuture')
    expect((back as BaseError).shortMessage).toBe('s')
  })

  test('non-errors are described, not lost', () => {
    expect(serializeError('text')).toEqual({ name: 'NonError', message: 'text' })
    expect(serializeError({ a: 1 })).toEqual({ name: 'NonError', message: '{"a":1}' })
    const cyclic: Record<string, unknown> = {}
    cyclic['self'] = cyclic
    expect(serializeError(cyclic).message).toBe('[object Object]')
  })

  test('a very deep cause chain is cut, not followed forever', () => {
    let error: Error = new Error('0')
    for (let i = 1; i < 100; i++) error = new Error(String(i), { cause: error })
    let depth = 0
    for (let s: { cause?: unknown } | undefined = serializeError(error); s; s = s.cause as typeof s) depth++
    expect(depth).toBe(17)
  })

  test('registering two classes under one name is refused', () => {
    class Other extends BaseError {}
    expect(() => registerErrorClass('TestError', Other)).toThrow(/Two error classes/)
  })
})
