/** fast-check generators of valid infer protocol messages, shared by the round-trip and fuzz tests. */
import fc from 'fast-check'
import type { JsonValue } from '../errors/base.ts'
import { INFER_ERROR_CODES } from '../errors/p2p.ts'
import type { InferRequestMessage, InferResponseMessage } from './infer.ts'

const text = fc.string({ unit: 'binary', maxLength: 40 })
const sampling = fc.record(
  {
    max_tokens: fc.nat({ max: 4096 }),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    top_p: fc.double({ min: 0, max: 1, noNaN: true }),
    seed: fc.nat({ max: 0xfffffffe }),
    stop: fc.oneof(text, fc.array(text, { maxLength: 4 })),
    response_format: fc.oneof(
      fc.constant({ type: 'text' as const }),
      fc.constant({ type: 'json_object' as const }),
      fc.record({
        type: fc.constant('json_object' as const),
        schema: fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 })),
      }),
      fc.record({
        type: fc.constant('grammar' as const),
        grammar: fc.stringMatching(/^[a-z0-9 ]{1,16}$/).map((word) => `root ::= "${word}"+ [0-9]* ("|" root)?`),
      }),
    ),
  },
  { requiredKeys: [] },
)
const model = fc.string({ minLength: 1, maxLength: 30 })
const chat = fc
  .tuple(
    model,
    fc.array(
      fc.record({ role: fc.constantFrom('system' as const, 'user' as const, 'assistant' as const), content: text }),
      { minLength: 1, maxLength: 5 },
    ),
    sampling,
  )
  .map(([m, messages, s]) => ({ kind: 'chat' as const, model: m, messages, ...s }))
const completion = fc
  .tuple(model, text, fc.option(text, { nil: undefined }), sampling)
  .map(([m, prompt, suffix, s]) => ({
    kind: 'completion' as const,
    model: m,
    prompt,
    ...(suffix === undefined ? {} : { suffix }),
    ...s,
  }))

// JSON values that survive a JSON round trip exactly (no -0, which JSON writes as 0).
const jsonValue = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as JsonValue)

export const arbitraryRequestMessage: fc.Arbitrary<InferRequestMessage> = fc
  .tuple(fc.oneof(chat, completion), fc.oneof(fc.constant(null), jsonValue), fc.boolean())
  .map(
    ([request, payment, quoteOnly]) =>
      JSON.parse(
        JSON.stringify({ type: 'request', v: 1, request, payment, ...(quoteOnly ? { quoteOnly: true } : {}) }),
      ) as InferRequestMessage,
  )

const usage = fc
  .tuple(fc.nat({ max: 100_000 }), fc.nat({ max: 100_000 }))
  .map(([p, c]) => ({ prompt_tokens: p, completion_tokens: c, total_tokens: p + c }))
export const arbitraryResponseMessage: fc.Arbitrary<InferResponseMessage> = fc.oneof(
  fc.record({ type: fc.constant('accepted' as const), model, quote: fc.oneof(fc.constant(null), jsonValue) }),
  fc.record({ type: fc.constant('quote' as const), quote: jsonValue.filter((q) => q !== null) }),
  fc.record({ type: fc.constant('delta' as const), text, tokens: fc.nat({ max: 64 }) }),
  fc.record({
    type: fc.constant('done' as const),
    finish_reason: fc.constantFrom('stop' as const, 'length' as const, 'abort' as const),
    usage,
    receipt: fc.oneof(fc.constant(null), jsonValue),
  }),
  fc.record(
    { type: fc.constant('error' as const), code: fc.constantFrom(...INFER_ERROR_CODES), message: text },
    { requiredKeys: ['type', 'code', 'message'] },
  ),
  fc.record({
    type: fc.constant('error' as const),
    code: fc.constant('BUSY' as const),
    message: text,
    retryAfterMs: fc.nat({ max: 60_000 }),
  }),
  fc.record({
    type: fc.constant('error' as const),
    code: fc.constant('PAYMENT_REQUIRED' as const),
    message: text,
    quote: jsonValue.filter((q) => q !== null),
    settlement: jsonValue.filter((q) => q !== null),
  }),
)
