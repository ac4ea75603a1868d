import { describe, expect, test } from 'vitest'
import { MalformedMessageError } from '../core/errors/p2p.ts'
import { InvalidTemplateError, TemplateHashMismatchError } from '../core/errors/templates.ts'
import { FIM_TEMPLATE, SENTIMENT_TEMPLATE, templateId } from '../core/templates.ts'
import { decodeTemplateAnswer, decodeTemplateRequest } from './templates.ts'

const id = templateId(SENTIMENT_TEMPLATE)

describe('template protocol decoders', () => {
  test('a request is exactly { hash } with a lower-case keccak256 hash', () => {
    expect(decodeTemplateRequest({ hash: id })).toEqual({ hash: id })
    for (const bad of [{ hash: id.toUpperCase() }, { hash: id, more: 1 }, { hash: '0x12' }, [], null, 'x'])
      expect(() => decodeTemplateRequest(bad)).toThrow(MalformedMessageError)
  })

  test('an answer is the template of the requested hash, "unknown", or refused', () => {
    expect(decodeTemplateAnswer({ status: 'found', template: SENTIMENT_TEMPLATE }, id, 'peer')).toEqual({
      status: 'found',
      template: SENTIMENT_TEMPLATE,
    })
    expect(decodeTemplateAnswer({ status: 'unknown' }, id, 'peer')).toEqual({ status: 'unknown' })
    expect(() => decodeTemplateAnswer({ status: 'found', template: FIM_TEMPLATE }, id, 'peer')).toThrow(
      TemplateHashMismatchError,
    )
    expect(() =>
      decodeTemplateAnswer({ status: 'found', template: { ...SENTIMENT_TEMPLATE, maxTokens: 1e9 } }, id, 'peer'),
    ).toThrow(InvalidTemplateError)
    expect(() => decodeTemplateAnswer({ status: 'unknown', template: SENTIMENT_TEMPLATE }, id, 'peer')).toThrow(
      MalformedMessageError,
    )
    expect(() => decodeTemplateAnswer({ status: 'maybe' }, id, 'peer')).toThrow(MalformedMessageError)
  })
})
