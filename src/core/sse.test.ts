import fc from 'fast-check'
import { expect, test } from 'vitest'
import { encodeSseComment, encodeSseDone, encodeSseEvent, SseDecoder } from './sse.ts'

test('events as OpenAI streams them', () => {
  expect(encodeSseEvent({ a: 1 })).toBe('data: {"a":1}\n\n')
  expect(encodeSseDone()).toBe('data: [DONE]\n\n')
  expect(encodeSseEvent('two\nlines', 'x')).toBe('event: x\ndata: two\ndata: lines\n\n')
  expect(encodeSseComment('keep\nalive')).toBe(': keep alive\n\n')
})

test('the decoder handles any split of the bytes, CRLF, comments and multi-line data', () => {
  const stream = ': hello\r\ndata: {"a":1}\r\n\r\nevent: e\ndata: x\ndata: y\n\ndata: [DONE]\n\n'
  for (let cut = 0; cut <= stream.length; cut++) {
    const decoder = new SseDecoder()
    const events = [...decoder.push(stream.slice(0, cut)), ...decoder.push(stream.slice(cut))]
    expect(events).toEqual([
      { event: 'message', data: '{"a":1}' },
      { event: 'e', data: 'x\ny' },
      { event: 'message', data: '[DONE]' },
    ])
  }
})

test('an event over the limit is refused rather than buffered', () => {
  const decoder = new SseDecoder(100)
  expect(() => decoder.push(`data: ${'x'.repeat(200)}`)).toThrow(/longer than 100/)
})

test('property: whatever is encoded decodes to the same data', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.jsonValue().map((v) => ({ v })),
        { maxLength: 10 },
      ),
      fc.nat({ max: 50 }),
      (values, chunk) => {
        const wire = values.map((v) => encodeSseEvent(v)).join('') + encodeSseDone()
        const decoder = new SseDecoder()
        const events = []
        const size = chunk + 1
        for (let i = 0; i < wire.length; i += size) events.push(...decoder.push(wire.slice(i, i + size)))
        expect(events.map((e) => e.data)).toEqual([...values.map((v) => JSON.stringify(v)), '[DONE]'])
      },
    ),
    { numRuns: 200 },
  )
})
