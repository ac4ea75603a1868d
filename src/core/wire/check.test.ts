import { expect, test } from 'vitest'
import { MalformedMessageError } from '../errors/p2p.ts'
import { decodeJson, finite, integer } from './check.ts'

test('-0 in a message reads as 0, so what decodes re-encodes to the same bytes', () => {
  const parsed = decodeJson(new TextEncoder().encode('{"a":-0,"b":-0.0}')) as { a: unknown; b: unknown }
  expect(Object.is(integer(parsed.a, 'm.a', 0, 10), 0)).toBe(true)
  expect(Object.is(finite(parsed.b, 'm.b', -1, 1), 0)).toBe(true)
  expect(JSON.stringify({ a: integer(parsed.a, 'm.a', 0, 10) })).toBe('{"a":0}')
})

test('numbers out of range or not integers are refused with MalformedMessageError', () => {
  expect(() => integer(1.5, 'm.a', 0, 10)).toThrow(MalformedMessageError)
  expect(() => integer(11, 'm.a', 0, 10)).toThrow(MalformedMessageError)
  expect(() => finite(Number.NaN, 'm.b', 0, 1)).toThrow(MalformedMessageError)
})
