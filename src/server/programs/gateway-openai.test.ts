import { expect, test } from 'vitest'
import { completionResponse, parseOpenAiRequest, streamChunk, usageChunk } from './gateway-openai.ts'

const ids = { id: 'cmpl-1', created: 1, model: 'm' }

test('an OpenAI completion with suffix is a fill-in-the-middle request; unknown fields are dropped', () => {
  expect(
    parseOpenAiRequest('completion', {
      model: 'm',
      prompt: 'def f(',
      suffix: '):',
      max_tokens: 8,
      temperature: 0,
      stream: true,
      user: 'x',
      stream_options: { include_usage: true },
    }),
  ).toEqual({
    request: { kind: 'completion', model: 'm', prompt: 'def f(', suffix: '):', max_tokens: 8, temperature: 0 },
    stream: true,
    includeUsage: true,
  })
  expect(parseOpenAiRequest('completion', { model: 'm', prompt: ['one'] }).request).toMatchObject({ prompt: 'one' })
  expect(parseOpenAiRequest('chat', { model: 'm', messages: [{ role: 'user', content: 'hi' }] })).toEqual({
    request: { kind: 'chat', model: 'm', messages: [{ role: 'user', content: 'hi' }] },
    stream: false,
    includeUsage: false,
  })
})

test('bad bodies, bad routing fields included, are 400 with the field named', () => {
  const refused = (kind: 'completion' | 'chat', body: unknown) => {
    try {
      parseOpenAiRequest(kind, body)
    } catch (error) {
      return error as { name: string; status: number; message: string }
    }
    throw new Error('accepted')
  }
  expect(refused('completion', [])).toMatchObject({ name: 'InvalidGatewayRequestError', status: 400 })
  expect(refused('completion', { model: 'm' })).toMatchObject({
    status: 400,
    message: expect.stringContaining('request.prompt'),
  })
  expect(refused('chat', { model: 'm', messages: [] })).toMatchObject({ status: 400 })
  expect(refused('completion', { model: 'm', prompt: 'x', n: 2 })).toMatchObject({ status: 400 })
  expect(refused('completion', { model: 'm', prompt: 'x', temperature: 5 })).toMatchObject({ status: 400 })
  expect(refused('completion', { model: 'm', prompt: 'x', modelex_route: 'elsewhere' })).toMatchObject({
    status: 400,
    message: expect.stringContaining('modelex_route'),
  })
  expect(
    refused('completion', { model: 'm', prompt: 'x', modelex_route: 'network', modelex_node: 'not a peer id' }),
  ).toMatchObject({ status: 400, message: expect.stringContaining('modelex_node') })
})

test('routing fields: the route and the node are read, and never reach the node', () => {
  const peer = '12D3KooWGRYZDHBembyGJQqQ6WgLqJWYNjnECGy2bNRh4bYt2cRN'
  const parsed = parseOpenAiRequest('completion', {
    model: 'm',
    prompt: 'x',
    modelex_route: 'network',
    modelex_node: peer,
  })
  expect(parsed).toMatchObject({ route: 'network', node: peer })
  expect(parsed.request).not.toHaveProperty('modelex_route')
  expect(parsed.request).not.toHaveProperty('modelex_node')
  expect(parseOpenAiRequest('chat', { model: 'm', messages: [{ role: 'user', content: 'hi' }] })).not.toHaveProperty(
    'route',
  )
  const hedged = parseOpenAiRequest('completion', { model: 'm', prompt: 'x', suffix: 'y', modelex_hedge: false })
  expect(hedged).toMatchObject({ hedge: false })
  expect(hedged.request).not.toHaveProperty('modelex_hedge')
  expect(parseOpenAiRequest('completion', { model: 'm', prompt: 'x' })).not.toHaveProperty('hedge')
  expect(() => parseOpenAiRequest('completion', { model: 'm', prompt: 'x', modelex_hedge: 'yes' })).toThrow(
    /modelex_hedge/,
  )
  const fast = parseOpenAiRequest('completion', { model: 'm', prompt: 'x', suffix: 'y', modelex_reproducible: false })
  expect(fast).toMatchObject({ reproducible: false })
  expect(fast.request).not.toHaveProperty('modelex_reproducible')
  expect(parseOpenAiRequest('completion', { model: 'm', prompt: 'x' })).not.toHaveProperty('reproducible')
  expect(() => parseOpenAiRequest('completion', { model: 'm', prompt: 'x', modelex_reproducible: 0 })).toThrow(
    /modelex_reproducible/,
  )
})

test("responses and chunks in OpenAI's shapes", () => {
  const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }
  expect(completionResponse('completion', ids, 'ab', 'length', usage)).toEqual({
    id: 'cmpl-1',
    object: 'text_completion',
    created: 1,
    model: 'm',
    choices: [{ index: 0, text: 'ab', logprobs: null, finish_reason: 'length' }],
    usage,
  })
  expect(completionResponse('chat', ids, 'ab', 'stop', usage).choices[0]).toEqual({
    index: 0,
    message: { role: 'assistant', content: 'ab' },
    logprobs: null,
    finish_reason: 'stop',
  })
  expect((streamChunk('chat', ids, 'a', null, true).choices[0] as { delta: unknown }).delta).toEqual({
    role: 'assistant',
    content: 'a',
  })
  expect(streamChunk('chat', ids, '', 'abort').choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' })
  expect(streamChunk('completion', ids, 'a', null).choices[0]).toEqual({
    index: 0,
    text: 'a',
    logprobs: null,
    finish_reason: null,
  })
  expect(usageChunk('chat', ids, usage)).toMatchObject({ choices: [], usage })
})
