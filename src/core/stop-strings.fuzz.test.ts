/**
 * Stop strings as properties: however the output is cut into pieces, what the matcher releases is the whole output
 * cut at its first stop string, and no released prefix ever contains or ends with the start of one that later matched.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createStopMatcher, cutAtStop } from './stop-strings.ts'

// A small alphabet makes stop strings occur, overlap and almost occur often.
const text = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '\n', 'é'), maxLength: 40 })
const stops = fc.array(fc.string({ unit: fc.constantFrom('a', 'b', 'c', '\n', 'é'), minLength: 0, maxLength: 4 }), {
  maxLength: 3,
})
const cuts = fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 12 })

function pieces(whole: string, at: number[]): string[] {
  const points = [...new Set(at.map((i) => Math.min(i, whole.length)))].sort((a, b) => a - b)
  const out: string[] = []
  let from = 0
  for (const p of points) {
    out.push(whole.slice(from, p))
    from = p
  }
  out.push(whole.slice(from))
  return out
}

describe('createStopMatcher', () => {
  it('releases the output cut at its first stop string, whatever the pieces', () => {
    fc.assert(
      fc.property(text, stops, cuts, (whole, stopList, at) => {
        const matcher = createStopMatcher(stopList)
        let released = ''
        let stopped = false
        for (const piece of pieces(whole, at)) {
          const scan = matcher.push(piece)
          released += scan.text
          // What is out can never be taken back: it is always a prefix of the final answer.
          expect(cutAtStop(whole, stopList).text.startsWith(released)).toBe(true)
          if (scan.stopped) {
            stopped = true
            break
          }
        }
        if (!stopped) released += matcher.flush()
        expect({ text: released, stopped }).toEqual(cutAtStop(whole, stopList))
      }),
    )
  })
})
