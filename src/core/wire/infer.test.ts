import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { MalformedMessageError, FrameTooLargeError } from '../errors/p2p.ts'
import type { InferenceRequest } from '../inference.ts'
import { FrameDecoder } from './frame.ts'
import {
  decodeRequest,
  decodeResponse,
  encodeRequestFrame,
  encodeResponseFrame,
  MAX_FRAME_BYTES,
  MAX_REQUEST_BYTES,
  parseInferenceRequest,
  type InferRequestMessage,
  type InferResponseMessage,
} from './infer.ts'
import { arbitraryRequestMessage, arbitraryResponseMessage } from './infer.arbitraries.ts'

const payloadOf = (frame: Uint8Array, limit: number) => {
  const frames = new FrameDecoder(limit).push(frame)
  expect(frames).toHaveLength(1)
  return frames[0] as Uint8Array
}

describe('infer protocol messages', () => {
  test('requests round-trip', () => {
    fc.assert(
      fc.property(arbitraryRequestMessage, (message: InferRequestMessage) => {
        expect(decodeRequest(payloadOf(encodeRequestFrame(message), MAX_REQUEST_BYTES))).toEqual(message)
      }),
      { numRuns: 1000 },
    )
  })

  test('responses round-trip', () => {
    fc.assert(
      fc.property(arbitraryResponseMessage, (message: InferResponseMessage) => {
        expect(decodeResponse(payloadOf(encodeResponseFrame(message), MAX_FRAME_BYTES))).toEqual(message)
      }),
      { numRuns: 1000 },
    )
  })

  test('a chat body with OpenAI extras keeps the known fields only', () => {
    const request = parseInferenceRequest({
      kind: 'chat',
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      user: 'x',
      max_tokens: 5,
      temperature: 0,
      seed: 1,
      response_format: { type: 'json_object' },
    })
    expect(request).toEqual({
      kind: 'chat',
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 5,
      temperature: 0,
      seed: 1,
      response_format: { type: 'json_object' },
    })
  })

  test('a seed is a uint32 but for the "random" value 0xFFFFFFFF', () => {
    for (const seed of [0, 1, 0xfffffffe])
      expect(parseInferenceRequest({ kind: 'completion', model: 'm', prompt: 'x', seed })).toMatchObject({ seed })
  })

  test('fill-in-the-middle keeps its suffix', () => {
    const request: InferenceRequest = {
      kind: 'completion',
      model: 'm',
      prompt: 'def f(',
      suffix: '  return x',
      max_tokens: 8,
    }
    expect(parseInferenceRequest(request)).toEqual(request)
  })

  test.each([
    [{ kind: 'chat', model: 'm', messages: [] }, 'request.messages'],
    [{ kind: 'chat', model: '', messages: [{ role: 'user', content: 'x' }] }, 'request.model'],
    [{ kind: 'chat', model: 'm', messages: [{ role: 'tool', content: 'x' }] }, 'request.messages[0].role'],
    [{ kind: 'completion', model: 'm', prompt: 'x', max_tokens: -1 }, 'request.max_tokens'],
    [{ kind: 'completion', model: 'm', prompt: 'x', max_tokens: 1.5 }, 'request.max_tokens'],
    [{ kind: 'completion', model: 'm', prompt: 'x', temperature: 3 }, 'request.temperature'],
    [{ kind: 'completion', model: 'm', prompt: 'x', stop: new Array(17).fill('a') }, 'request.stop'],
    [
      { kind: 'completion', model: 'm', prompt: 'x', response_format: { type: 'grammar' } },
      'request.response_format.grammar',
    ],
    [{ kind: 'embedding', model: 'm' }, 'request.kind'],
    [{ kind: 'completion', model: 'm', prompt: 'x', seed: -1 }, 'request.seed'],
    [{ kind: 'completion', model: 'm', prompt: 'x', seed: 0xffffffff }, 'request.seed'],
    [{ kind: 'completion', model: 'm', prompt: 'x', seed: 2 ** 40 }, 'request.seed'],
    [{ kind: 'completion', model: 'm', prompt: 'x', seed: 1.5 }, 'request.seed'],
  ])('refuses %j at %s', (body, path) => {
    expect(() => parseInferenceRequest(body)).toThrow(MalformedMessageError)
    expect(() => parseInferenceRequest(body)).toThrow(path)
  })

  test('refuses unknown frame fields, wrong versions and inconsistent usage', () => {
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v))
    expect(() => decodeRequest(enc({ type: 'request', v: 2, request: {}, payment: null }))).toThrow(
      MalformedMessageError,
    )
    expect(() =>
      decodeRequest(
        enc({
          type: 'request',
          v: 1,
          request: { kind: 'completion', model: 'm', prompt: '' },
          payment: null,
          extra: 1,
        }),
      ),
    ).toThrow(/no such field/)
    expect(() =>
      decodeResponse(
        enc({
          type: 'done',
          finish_reason: 'stop',
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 3 },
          receipt: null,
        }),
      ),
    ).toThrow(/total_tokens/)
    expect(() => decodeResponse(enc({ type: 'error', code: 'NOPE', message: '' }))).toThrow(/frame.code/)
    expect(() => decodeResponse(new Uint8Array([0xff, 0xfe]))).toThrow(/UTF-8/)
  })

  test('a request above 256 KiB cannot be encoded, and is refused by the decoder from its prefix', () => {
    const huge: InferRequestMessage = {
      type: 'request',
      v: 1,
      request: { kind: 'completion', model: 'm', prompt: 'x'.repeat(MAX_REQUEST_BYTES) },
      payment: null,
    }
    expect(() => encodeRequestFrame(huge)).toThrow(FrameTooLargeError)
    const delta: InferResponseMessage = { type: 'delta', text: 'y'.repeat(MAX_FRAME_BYTES), tokens: 1 }
    expect(() => encodeResponseFrame(delta)).toThrow(FrameTooLargeError)
  })
})
