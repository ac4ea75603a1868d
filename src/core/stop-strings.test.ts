import { describe, expect, it } from 'vitest'
import { createStopMatcher, stopStrings } from './stop-strings.ts'

describe('createStopMatcher', () => {
  it('holds back a possible stop string across pieces and cuts before it', () => {
    const matcher = createStopMatcher(['\n\n', 'END'])
    expect(matcher.push('a\n')).toEqual({ text: 'a', stopped: false })
    expect(matcher.push('b E')).toEqual({ text: '\nb ', stopped: false })
    expect(matcher.push('NDx')).toEqual({ text: '', stopped: true })
    expect(matcher.push('more')).toEqual({ text: '', stopped: true })
  })

  it('releases held text at the end when no stop string completed', () => {
    const matcher = createStopMatcher(['</s>'])
    expect(matcher.push('x </')).toEqual({ text: 'x ', stopped: false })
    expect(matcher.flush()).toBe('</')
  })

  it('picks the earliest stop string when several occur', () => {
    expect(createStopMatcher(['c', 'abc']).push('xabc')).toEqual({ text: 'x', stopped: true })
    expect(createStopMatcher(['abc', 'b']).push('xyb abc')).toEqual({ text: 'xy', stopped: true })
  })

  it('normalises the request field and ignores empty strings', () => {
    expect(stopStrings(undefined)).toEqual([])
    expect(stopStrings('x')).toEqual(['x'])
    expect(stopStrings(['', 'y'])).toEqual(['y'])
    expect(createStopMatcher(['']).push('abc')).toEqual({ text: 'abc', stopped: false })
  })
})
