/**
 * Small shape checks for wire messages. Each throws `MalformedMessageError` naming the path of the first bad field,
 * so every decoder reports one error type whatever the input, and none walks arbitrarily deep structures.
 */
import type { JsonValue } from '../errors/base.ts'
import { MalformedMessageError } from '../errors/p2p.ts'

export type Fields = Record<string, unknown>

export function fail(path: string, expected: string): never {
  throw new MalformedMessageError(`${path}: expected ${expected}`)
}

export function object(value: unknown, path: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'an object')
  return value as Fields
}

export function string(value: unknown, path: string, maxLength: number, minLength = 0): string {
  if (typeof value !== 'string' || value.length < minLength || value.length > maxLength)
    fail(path, `a string of ${minLength}..${maxLength} characters`)
  return value
}

/** `-0` (JSON allows it) reads as `0`, so a decoded number re-encodes to the same value. */
export function integer(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    fail(path, `an integer in ${min}..${max}`)
  return value === 0 ? 0 : value
}

export function finite(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
    fail(path, `a number in ${min}..${max}`)
  return value === 0 ? 0 : value
}

export function array(value: unknown, path: string, maxLength: number, minLength = 0): unknown[] {
  if (!Array.isArray(value) || value.length < minLength || value.length > maxLength)
    fail(path, `an array of ${minLength}..${maxLength} items`)
  return value
}

export function oneOf<T extends string>(value: unknown, path: string, options: readonly T[]): T {
  if (typeof value !== 'string' || !(options as readonly string[]).includes(value))
    fail(path, `one of ${options.join(', ')}`)
  return value as T
}

/** Any JSON value; the caller has already bounded its size (it came out of a size-limited frame). */
export function json(value: unknown, path: string): JsonValue {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint')
    fail(path, 'a JSON value')
  return value as JsonValue
}

export function only(fields: Fields, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(fields)) if (!allowed.includes(key)) fail(`${path}.${key}`, 'no such field')
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

export function decodeJson(bytes: Uint8Array): unknown {
  let text: string
  try {
    text = decoder.decode(bytes)
  } catch (error) {
    throw new MalformedMessageError('not valid UTF-8', error)
  }
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    throw new MalformedMessageError('not valid JSON', error)
  }
}
