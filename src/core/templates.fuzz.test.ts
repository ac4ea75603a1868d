/**
 * The prompt library's rules as properties: random templates render without leftover slots and with values taken
 * literally; the id does not depend on key order; the grammars compiled from enums, integer ranges and regexes
 * accept exactly their language (checked by the independent GBNF recognizer); the decoder only ever throws
 * `InvalidTemplateError`; validation agrees with the constraint.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidTemplateError, OutputConstraintError } from './errors/templates.ts'
import { parseGbnf } from './gbnf-matcher.ts'
import {
  BUILTIN_TEMPLATES,
  canonicalJson,
  integerRangeGbnf,
  parseRegex,
  parseTemplate,
  regexNullable,
  regexToGbnf,
  regexToJs,
  renderTemplate,
  SENTIMENT_TEMPLATE,
  templateGrammar,
  templateId,
  validateOutput,
  type PromptTemplate,
  type Regex,
} from './templates.ts'

const paramName = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/)
/** Literal text of a template: anything without braces, so a chunk never forms or breaks a slot. */
const literal = fc.string({ maxLength: 12 }).map((s) => s.replace(/[{}]/g, ''))

/** A random template with its text as chunks, so the expected rendering can be built independently. */
const templateWithParts = fc
  .uniqueArray(paramName, { minLength: 1, maxLength: 5 })
  .chain((names) =>
    fc.record({
      names: fc.constant(names),
      parts: fc.array(fc.tuple(literal, fc.constantFrom(...names)), { minLength: 1, maxLength: 8 }),
      tail: literal,
      shape: fc.constantFrom('chat' as const, 'completion' as const),
    }),
  )
  .filter(({ names, parts }) => names.every((n) => parts.some(([, slot]) => slot === n)))

function build({
  names,
  parts,
  tail,
  shape,
}: {
  names: string[]
  parts: [string, string][]
  tail: string
  shape: 'chat' | 'completion'
}): PromptTemplate {
  return {
    name: 't',
    description: '',
    version: '0.1.0',
    shape,
    text: `${parts.map(([text, slot]) => `${text}{{${slot}}}`).join('')}${tail}`,
    parameters: names.map((name) => ({ name, type: 'string' as const, maxLength: 100 })),
    output: { type: 'text' },
    maxTokens: 16,
    models: [{ id: 'm', contentHash: `0x${'ab'.repeat(32)}` }],
  }
}

const renderedText = (template: PromptTemplate, values: Record<string, string>): string => {
  const request = renderTemplate(template, values)
  return request.kind === 'chat' ? (request.messages.at(-1)?.content ?? '') : request.prompt
}

describe('rendering', () => {
  // Values without braces, like the template's literal text: then any "{{" left is a slot that was not filled.
  // (Values that merely lack "{{" can still form one: "{" next to "{", or "{{{" with its first "{{" taken out.
  // Values with braces are the next property's.)
  it('leaves no slot of a declared parameter', () => {
    fc.assert(
      fc.property(
        templateWithParts,
        fc.array(
          fc.string({ maxLength: 20 }).map((s) => s.replace(/[{}]/g, '')),
          { minLength: 5, maxLength: 5 },
        ),
        (spec, raw) => {
          const template = parseTemplate(JSON.stringify(build(spec)))
          const values = Object.fromEntries(spec.names.map((name, i) => [name, raw[i] as string]))
          expect(renderedText(template, values)).not.toContain('{{')
        },
      ),
    )
  })

  it('inserts values literally, even ones that look like slots or replacement patterns', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 20 }),
      paramName.map((n) => `{{${n}}}`),
      fc.constantFrom('$&', '$1', "$'", '$`', '{{', '}}'),
    )
    fc.assert(
      fc.property(templateWithParts, fc.array(value, { minLength: 5, maxLength: 5 }), (spec, raw) => {
        const template = build(spec)
        const values = Object.fromEntries(spec.names.map((name, i) => [name, raw[i] as string]))
        const expected = `${spec.parts.map(([text, slot]) => `${text}${values[slot]}`).join('')}${spec.tail}`
        expect(renderedText(template, values)).toBe(expected)
      }),
    )
  })
})

function shuffleKeys(value: unknown, order: number[]): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, order))
  if (value === null || typeof value !== 'object') return value
  const entries = Object.entries(value)
  const shuffled = entries
    .map((e, i) => [order[i % order.length] ?? 0, e] as const)
    .sort((a, b) => a[0] - b[0])
    .map(([, e]) => e)
  return Object.fromEntries(shuffled.map(([k, v]) => [k, shuffleKeys(v, order)]))
}

describe('identity', () => {
  it('does not depend on key order', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...BUILTIN_TEMPLATES),
        fc.array(fc.integer(), { minLength: 1, maxLength: 12 }),
        (template, order) => {
          const shuffled = shuffleKeys(template, order)
          expect(canonicalJson(shuffled)).toBe(canonicalJson(template))
          expect(templateId(parseTemplate(JSON.stringify(shuffled)))).toBe(templateId(template))
        },
      ),
    )
  })
})

describe('the decoder', () => {
  it('throws only InvalidTemplateError on any JSON, and what it accepts re-encodes to the same id', () => {
    const mutated = fc
      .tuple(
        fc.constantFrom(...BUILTIN_TEMPLATES),
        fc.constantFrom('name', 'text', 'output', 'parameters', 'maxTokens', 'models', 'shape', 'version', 'other'),
        fc.jsonValue({ maxDepth: 3 }),
      )
      .map(([t, key, v]) => ({ ...t, [key]: v }))
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 4 }), mutated), (value) => {
        try {
          const template = parseTemplate(JSON.stringify(value))
          expect(templateId(parseTemplate(canonicalJson(template)))).toBe(templateId(template))
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidTemplateError)
        }
      }),
      { numRuns: 300 },
    )
  })
})

describe('grammars', () => {
  it('an enum grammar accepts exactly its values', () => {
    const label = fc.string({
      minLength: 1,
      maxLength: 6,
      unit: fc.constantFrom('a', 'b', '"', '\\', ' ', 'é', '😀', '\n', '-'),
    })
    fc.assert(
      fc.property(
        fc.uniqueArray(label, { minLength: 1, maxLength: 5 }),
        fc.array(label, { maxLength: 10 }),
        (values, others) => {
          const template: PromptTemplate = { ...SENTIMENT_TEMPLATE, output: { type: 'enum', values } }
          const grammar = parseGbnf(templateGrammar(template) as string)
          for (const candidate of [
            ...values,
            ...others,
            ...values.map((v) => `${v}a`),
            ...values.map((v) => v.slice(1)),
          ]) {
            expect(grammar.accepts(candidate)).toBe(values.includes(candidate))
          }
        },
      ),
    )
  })

  it('an integer grammar accepts exactly the integers in range, and validation agrees', () => {
    const bound = fc.integer({ min: -100_000, max: 100_000 })
    fc.assert(
      fc.property(
        bound,
        bound,
        fc.array(fc.integer({ min: -200_000, max: 200_000 }), { maxLength: 20 }),
        (a, b, samples) => {
          const [min, max] = a <= b ? [a, b] : [b, a]
          const grammar = parseGbnf(`root ::= ${integerRangeGbnf(min, max)}`)
          const template: PromptTemplate = { ...SENTIMENT_TEMPLATE, output: { type: 'integer', min, max } }
          for (const n of [...samples, min, max, min - 1, max + 1, 0]) {
            const inRange = n >= min && n <= max
            expect(grammar.accepts(String(n))).toBe(inRange)
            if (inRange) expect(validateOutput(template, String(n))).toEqual({ type: 'integer', value: n })
            else expect(() => validateOutput(template, String(n))).toThrow(OutputConstraintError)
          }
        },
      ),
    )
  })

  const char = fc.constantFrom('a', 'b', '-', '.', '"', '\\', ' ', '\n')
  const regexAst: fc.Arbitrary<Regex> = fc
    .letrec<{ node: Regex }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        char.map((c): Regex => ({
          t: 'class',
          ranges: [[c.codePointAt(0) as number, c.codePointAt(0) as number]],
          negated: false,
        })),
        fc.tuple(fc.uniqueArray(char, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([cs, negated]): Regex => ({
          t: 'class',
          ranges: cs.map((c) => [c.codePointAt(0) as number, c.codePointAt(0) as number] as const),
          negated,
        })),
        fc.array(tie('node'), { minLength: 2, maxLength: 3 }).map((items): Regex => ({ t: 'seq', items })),
        fc.array(tie('node'), { minLength: 2, maxLength: 3 }).map((options): Regex => ({ t: 'alt', options })),
        fc
          .tuple(tie('node'), fc.integer({ min: 0, max: 2 }), fc.option(fc.integer({ min: 0, max: 2 })))
          .map(([item, min, extra]): Regex => ({ t: 'rep', item, min, max: extra === null ? null : min + extra })),
      ),
    }))
    .node // What the parser accepts: no unbounded repetition of a part that can match the empty string.
    .filter(function accepted(regex: Regex): boolean {
      if (regex.t === 'seq') return regex.items.every(accepted)
      if (regex.t === 'alt') return regex.options.every(accepted)
      if (regex.t === 'rep') return accepted(regex.item) && !(regex.max === null && regexNullable(regex.item))
      return true
    })

  it('a regex grammar and the JavaScript check accept the same strings', () => {
    fc.assert(
      fc.property(
        regexAst,
        fc.array(fc.string({ maxLength: 6, unit: char }), { minLength: 1, maxLength: 15 }),
        (regex, samples) => {
          const grammar = parseGbnf(`root ::= ${regexToGbnf(regex)}`)
          const js = new RegExp(`^(?:${regexToJs(regex)})$`, 'u')
          for (const sample of samples)
            expect(grammar.accepts(sample), `${regexToJs(regex)} on ${JSON.stringify(sample)}`).toBe(js.test(sample))
        },
      ),
      { numRuns: 200 },
    )
  })

  it('a pattern parses to a regex whose JavaScript form matches what the pattern matches', () => {
    const pattern = fc.stringMatching(/^(?:[ab]|\[a-c\]|\\d|\(a\|b\))(?:[?*+]|\{1,2\})?(?:[ab]|\\s)?$/)
    fc.assert(
      fc.property(
        pattern,
        fc.array(fc.string({ maxLength: 4, unit: fc.constantFrom('a', 'b', 'c', '1', ' ') }), { maxLength: 10 }),
        (source, samples) => {
          const ours = new RegExp(`^(?:${regexToJs(parseRegex(source))})$`, 'u')
          const native = new RegExp(`^(?:${source})$`, 'u')
          for (const sample of samples) expect(ours.test(sample)).toBe(native.test(sample))
        },
      ),
    )
  })
})
