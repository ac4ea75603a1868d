/**
 * `/modelex/template/1.0.0`: templates shared by hash. The asker sends one frame `{ hash }`; a node that has the
 * template answers `{ status: 'found', template }` (the template as JSON), else `{ status: 'unknown' }`, and closes.
 * The asker decodes the template strictly (`parseTemplate`, within the frame limit), recomputes its hash and refuses a
 * mismatch (`TemplateHashMismatchError`): a peer can withhold a template, never substitute one.
 *
 * @example
 * const stop = await serveTemplates(node, store)
 * const template = await fetchTemplate(other, providerPeerId, hash) // null when the peer does not have it
 */
import type { PeerId } from '@libp2p/interface'
import type { Hex } from 'viem'
import type { JsonValue } from '../core/errors/base.ts'
import { TemplateHashMismatchError } from '../core/errors/templates.ts'
import { parseTemplate, TEMPLATE_LIMITS, templateId, type PromptTemplate } from '../core/templates.ts'
import { fail, object, oneOf, only, string } from '../core/wire/check.ts'
import type { ModelexNode } from './node.ts'
import { askOneFrame, serveOneFrame } from './one-frame.ts'

export const TEMPLATE_PROTOCOL = '/modelex/template/1.0.0'
/** A template's canonical JSON is at most `TEMPLATE_LIMITS.maxBytes`; its answer frame adds a little (and JSON escapes). */
export const MAX_TEMPLATE_FRAME_BYTES = 2 * TEMPLATE_LIMITS.maxBytes

export type TemplateRequest = { hash: Hex }
export type TemplateAnswer = { status: 'found'; template: PromptTemplate } | { status: 'unknown' }

const HASH = /^0x[0-9a-f]{64}$/

/** A request frame, strictly: `MalformedMessageError` otherwise. */
export function decodeTemplateRequest(value: unknown): TemplateRequest {
  const fields = object(value, 'request')
  only(fields, 'request', ['hash'])
  const hash = string(fields['hash'], 'request.hash', 66, 66)
  if (!HASH.test(hash)) fail('request.hash', 'a lower-case 0x keccak256 hash')
  return { hash: hash as Hex }
}

/**
 * An answer frame for `requested`: `MalformedMessageError` for a shape outside the protocol, `InvalidTemplateError`
 * for a template that does not parse, `TemplateHashMismatchError` for one of another hash.
 */
export function decodeTemplateAnswer(value: unknown, requested: Hex, peer: string): TemplateAnswer {
  const fields = object(value, 'answer')
  const status = oneOf(fields['status'], 'answer.status', ['found', 'unknown'] as const)
  if (status === 'unknown') {
    only(fields, 'answer', ['status'])
    return { status }
  }
  only(fields, 'answer', ['status', 'template'])
  const template = parseTemplate(fields['template'])
  const received = templateId(template)
  if (received !== requested.toLowerCase()) throw new TemplateHashMismatchError({ requested, received, peer })
  return { status, template }
}

/** Where served templates come from: a template store, or anything with its `get`. */
export type TemplateSource = { get(id: Hex): Promise<PromptTemplate | null> }

/** Serves the source's templates until the returned function is called. A malformed request closes its stream, unanswered. */
export function serveTemplates(node: ModelexNode, source: TemplateSource): Promise<() => Promise<void>> {
  return serveOneFrame(
    node,
    TEMPLATE_PROTOCOL,
    MAX_TEMPLATE_FRAME_BYTES,
    async (request) => {
      const template = await source.get(decodeTemplateRequest(request).hash)
      return template ? ({ status: 'found', template } as unknown as JsonValue) : { status: 'unknown' }
    },
    { maxInboundStreams: 32 },
  )
}

/** Asks `peer` for the template of `hash`: the verified template, or null when the peer does not have it. */
export async function fetchTemplate(
  node: ModelexNode,
  peer: PeerId | string,
  hash: Hex,
  timeoutMs = 10_000,
): Promise<PromptTemplate | null> {
  const requested = hash.toLowerCase() as Hex
  const answer = decodeTemplateAnswer(
    await askOneFrame(
      node,
      peer.toString(),
      TEMPLATE_PROTOCOL,
      MAX_TEMPLATE_FRAME_BYTES,
      { hash: requested },
      timeoutMs,
    ),
    requested,
    peer.toString(),
  )
  return answer.status === 'found' ? answer.template : null
}
