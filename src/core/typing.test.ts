import { expect, test } from 'vitest'
import {
  DEFAULT_RHYTHM,
  latencyQuantile,
  seededRandom,
  sessionDurationMs,
  typingKeys,
  type LatencySample,
} from './typing.ts'

const body = '    for i in range(3):\n        if i:\n            print(i)\n    return None\n'

test("typing a text: one key per character, Enter brings the next line's indentation, seeded delays", () => {
  const keys = typingKeys(body, 7)
  expect(keys.map((k) => k.text).join('')).toBe(body)
  expect(keys.map((k) => k.text).filter((t) => t.startsWith('\n'))).toEqual([
    '\n        ',
    '\n            ',
    '\n    ',
    '\n',
  ])
  expect(keys.every((k) => k.text.length === 1 || k.text.startsWith('\n'))).toBe(true)
  expect(typingKeys(body, 7)).toEqual(keys)
  expect(typingKeys(body, 8)).not.toEqual(keys)
  // The key after a line end waits for the line-end pause too.
  const [minKey, maxKey] = DEFAULT_RHYTHM.keyMs
  const [minLine, maxLine] = DEFAULT_RHYTHM.lineEndMs
  keys.forEach((key, i) => {
    const afterLineEnd = i > 0 && (keys[i - 1] as { text: string }).text.startsWith('\n')
    expect(key.delayMs).toBeGreaterThanOrEqual(minKey + (afterLineEnd ? minLine : 0))
    expect(key.delayMs).toBeLessThanOrEqual(maxKey + (afterLineEnd ? maxLine : 0))
  })
  expect(sessionDurationMs({ keys })).toBe(keys.reduce((s, k) => s + k.delayMs, 0))
})

test('the seeded generator is uniform enough and stays in [0, 1)', () => {
  const random = seededRandom(1)
  const values = Array.from({ length: 10_000 }, random)
  expect(values.every((v) => v >= 0 && v < 1)).toBe(true)
  const mean = values.reduce((s, v) => s + v, 0) / values.length
  expect(Math.abs(mean - 0.5)).toBeLessThan(0.02)
})

test('latency quantiles with cut-off requests (Kaplan–Meier)', () => {
  const seen = (ms: number): LatencySample => ({ ms, observed: true })
  const cut = (ms: number): LatencySample => ({ ms, observed: false })
  expect(latencyQuantile([seen(10), seen(20), seen(30), seen(40)], 0.5)).toBe(20)
  // Two waits cut at 5 ms say nothing about the rest: the median of the others.
  expect(latencyQuantile([cut(5), cut(5), seen(10), seen(20), seen(30), seen(40)], 0.5)).toBe(20)
  // Cut late, they count as slower than everything seen: the median moves up.
  expect(latencyQuantile([seen(10), seen(20), seen(30), seen(40), cut(50), cut(50)], 0.5)).toBe(30)
  // Mostly cut off after the one answer seen: cannot tell (only a quarter is known to be answered by then).
  expect(latencyQuantile([seen(10), cut(20), cut(20), cut(20)], 0.5)).toBeNull()
  // Cut off early, they leave the one seen answer as everything known.
  expect(latencyQuantile([seen(10), cut(5), cut(5), cut(5)], 0.5)).toBe(10)
  expect(latencyQuantile([], 0.5)).toBeNull()
  expect(() => latencyQuantile([seen(1)], 1)).toThrow(RangeError)
})
