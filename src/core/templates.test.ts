import { describe, expect, test } from 'vitest'
import { inputTokenBound } from './bounds.ts'
import { deserializeError, serializeError } from './errors/index.ts'
import { InvalidTemplateError, OutputConstraintError, TemplateParameterError } from './errors/templates.ts'
import { parseGbnf } from './gbnf-matcher.ts'
import {
  BUILTIN_TEMPLATES,
  canonicalJson,
  CLASSIFICATION_TEMPLATE,
  CODE_REVIEW_TEMPLATE,
  FIM_TEMPLATE,
  integerRangeGbnf,
  parametersFromForm,
  parseRegex,
  parseTemplate,
  regexToGbnf,
  renderTemplate,
  SENTIMENT_TEMPLATE,
  SUMMARY_TEMPLATE,
  templateGrammar,
  templateId,
  templateTokenBounds,
  validateOutput,
  type PromptTemplate,
} from './templates.ts'

const caught = (run: () => unknown): unknown => {
  try {
    run()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

const withChanges = (changes: Record<string, unknown>): unknown => ({ ...SENTIMENT_TEMPLATE, ...changes })

describe('template identity', () => {
  test('every built-in parses back to itself from its canonical JSON and has a stable id', () => {
    for (const template of BUILTIN_TEMPLATES) {
      const json = canonicalJson(template)
      expect(parseTemplate(json)).toEqual(template)
      expect(templateId(parseTemplate(json))).toBe(templateId(template))
      expect(templateId(template)).toMatch(/^0x[0-9a-f]{64}$/)
    }
    expect(new Set(BUILTIN_TEMPLATES.map(templateId)).size).toBe(BUILTIN_TEMPLATES.length)
  })

  test('canonical JSON sorts keys and has no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 'x', c: null }], e: undefined })).toBe('{"a":[{"c":null,"d":"x"}],"b":1}')
  })

  test('a changed version is another template', () => {
    expect(templateId({ ...SENTIMENT_TEMPLATE, version: '1.0.1' })).not.toBe(templateId(SENTIMENT_TEMPLATE))
  })
})

describe('parseTemplate refuses', () => {
  const cases: [string, unknown, string][] = [
    ['not JSON', '{', '$'],
    ['an unknown field', withChanges({ extra: 1 }), '$.extra'],
    ['a bad version', withChanges({ version: 'v1' }), '$.version'],
    ['a suffix on a chat template', withChanges({ suffix: 'x' }), '$.suffix'],
    ['a system message on a completion', { ...FIM_TEMPLATE, system: 'x' }, '$.system'],
    ['an undeclared slot', withChanges({ text: '{{headline}} {{other}}' }), '$.parameters'],
    ['a parameter no slot uses', withChanges({ text: 'Score:' }), '$.parameters'],
    ['a "{{" that opens no slot', withChanges({ text: '{{headline}} {{ x' }), '$.text'],
    ['a lookahead in a regex', withChanges({ output: { type: 'regex', pattern: '(?=a)b' } }), '$.output.pattern'],
    ['a backreference', withChanges({ output: { type: 'regex', pattern: '(a)\\1' } }), '$.output.pattern'],
    ['a lazy quantifier', withChanges({ output: { type: 'regex', pattern: 'a+?' } }), '$.output.pattern'],
    [
      'a regex over the length limit',
      withChanges({ output: { type: 'regex', pattern: 'a'.repeat(257) } }),
      '$.output.pattern',
    ],
    ['a huge repetition', withChanges({ output: { type: 'regex', pattern: 'a{0,5000}' } }), '$.output.pattern'],
    ['an inverted integer range', withChanges({ output: { type: 'integer', min: 5, max: 1 } }), '$.output.max'],
    ['maxTokens 0', withChanges({ maxTokens: 0 }), '$.maxTokens'],
    [
      'an upper-case model hash',
      withChanges({ models: [{ id: 'm', contentHash: `0x${'A'.repeat(64)}` }] }),
      '$.models[0].contentHash',
    ],
    [
      'a parameter with foreign fields',
      withChanges({ parameters: [{ name: 'headline', type: 'string', maxLength: 5, min: 1 }] }),
      '$.parameters[0].min',
    ],
    [
      'duplicate parameters',
      withChanges({ parameters: [SENTIMENT_TEMPLATE.parameters[0], SENTIMENT_TEMPLATE.parameters[0]] }),
      '$.parameters',
    ],
    [
      'an enum from a missing parameter',
      withChanges({ output: { type: 'enum', fromParameter: 'nope' } }),
      '$.output.fromParameter',
    ],
    [
      'a schema property that is not required by its list',
      withChanges({
        output: { type: 'json', schema: { type: 'object', properties: { a: { type: 'boolean' } }, required: ['b'] } },
      }),
      '$.output.schema.required',
    ],
    [
      'an over-deep schema',
      withChanges({ output: { type: 'json', schema: deepArray(7) } }),
      '$.output.schema.items.items.items.items.items',
    ],
    [
      'more than 32 parameters',
      withChanges({
        parameters: Array.from({ length: 33 }, (_, i) => ({ name: `p${i}`, type: 'string', maxLength: 1 })),
      }),
      '$.parameters',
    ],
    [
      'more bytes than the limit',
      withChanges({
        description: 'x'.repeat(900),
        text: `{{headline}}${'y'.repeat(8_000)}`,
        system: 'z'.repeat(8_000),
      }),
      '$',
    ],
  ]
  test.each(cases)('%s', (_, input, path) => {
    const error = caught(() => parseTemplate(typeof input === 'string' ? input : JSON.stringify(input)))
    expect(error).toBeInstanceOf(InvalidTemplateError)
    expect((error as InvalidTemplateError).path).toBe(path)
  })

  test('JSON text over the byte limit before parsing it', () => {
    expect((caught(() => parseTemplate(' '.repeat(20_000))) as InvalidTemplateError).path).toBe('$')
  })
})

function deepArray(depth: number): unknown {
  return depth === 0 ? { type: 'boolean' } : { type: 'array', items: deepArray(depth - 1) }
}

describe('renderTemplate', () => {
  test('the sentiment request: greedy, seeded, max_tokens from the template, an integer grammar', () => {
    const request = renderTemplate(SENTIMENT_TEMPLATE, { headline: 'Acme beats estimates' })
    expect(request).toMatchObject({ kind: 'chat', model: 'modelex-demo-30m', max_tokens: 5, temperature: 0, seed: 0 })
    if (request.kind !== 'chat') throw new Error('chat expected')
    expect(request.messages).toEqual([
      { role: 'system', content: SENTIMENT_TEMPLATE.system },
      { role: 'user', content: 'Headline: Acme beats estimates\nScore:' },
    ])
    expect(request.response_format?.type).toBe('grammar')
    expect(templateTokenBounds(SENTIMENT_TEMPLATE, request)).toEqual({
      inputTokens: inputTokenBound(request),
      outputTokens: 5,
    })
  })

  test('options choose the model and seed', () => {
    expect(renderTemplate(SENTIMENT_TEMPLATE, { headline: 'x' }, { model: 'other', seed: 7 })).toMatchObject({
      model: 'other',
      seed: 7,
    })
  })

  test('fill-in-the-middle is a completion with a suffix and no grammar; the optional suffix may be left out', () => {
    expect(renderTemplate(FIM_TEMPLATE, { prefix: 'def f(', suffix: '):' })).toMatchObject({
      kind: 'completion',
      prompt: 'def f(',
      suffix: '):',
      max_tokens: 64,
    })
    const bare = renderTemplate(FIM_TEMPLATE, { prefix: 'x = ' })
    expect(bare).toMatchObject({ prompt: 'x = ', suffix: '' })
    expect(bare.response_format).toBeUndefined()
  })

  test('values are inserted literally, never expanded again', () => {
    const request = renderTemplate(SUMMARY_TEMPLATE, { text: '{{sentences}} and {{text}} and $& $1', sentences: 2 })
    if (request.kind !== 'chat') throw new Error('chat expected')
    expect(request.messages[1]?.content).toBe(
      'Summarize the following text in at most 2 sentences.\n\n{{sentences}} and {{text}} and $& $1',
    )
  })

  test.each([
    [{}, 'headline', 'is required'],
    [{ headline: 'x', more: 'y' }, 'more', 'is not a parameter of this template'],
    [{ headline: 'x'.repeat(501) }, 'headline', 'must be at most 500 characters (it has 501)'],
    [{ headline: '' }, 'headline', 'must be at least 1 characters'],
    [{ headline: 5 }, 'headline', 'must be text'],
  ])('bad parameters are TemplateParameterError: %j', (values, parameter, reason) => {
    const error = caught(() => renderTemplate(SENTIMENT_TEMPLATE, values))
    expect(error).toBeInstanceOf(TemplateParameterError)
    expect(error).toMatchObject({ parameter, reason })
  })

  test('integer, enum and label parameters are checked', () => {
    expect(caught(() => renderTemplate(SUMMARY_TEMPLATE, { text: 'x', sentences: 9 }))).toMatchObject({
      parameter: 'sentences',
      reason: 'must be in 1..5',
    })
    expect(caught(() => renderTemplate(SUMMARY_TEMPLATE, { text: 'x', sentences: 1.5 }))).toMatchObject({
      parameter: 'sentences',
      reason: 'must be an integer',
    })
    expect(caught(() => renderTemplate(CODE_REVIEW_TEMPLATE, { language: 'cobol', code: 'x' }))).toMatchObject({
      parameter: 'language',
    })
    expect(caught(() => renderTemplate(CLASSIFICATION_TEMPLATE, { labels: ' , ,', text: 'x' }))).toMatchObject({
      parameter: 'labels',
    })
  })

  test('a template with no tested model needs one named', () => {
    const template = { ...SENTIMENT_TEMPLATE, models: [] }
    expect(caught(() => renderTemplate(template, { headline: 'x' }))).toMatchObject({
      name: 'TemplateParameterError',
      parameter: 'model',
    })
  })

  test('form fields become typed values, strictly', () => {
    expect(parametersFromForm(SUMMARY_TEMPLATE, { text: 'a', sentences: ' 3 ' })).toEqual({ text: 'a', sentences: 3 })
    expect(caught(() => parametersFromForm(SUMMARY_TEMPLATE, { text: 'a', sentences: '3.5' }))).toMatchObject({
      parameter: 'sentences',
      reason: 'must be an integer',
    })
    expect(parametersFromForm(FIM_TEMPLATE, { prefix: 'a', suffix: '' })).toEqual({ prefix: 'a' })
  })
})

describe('validateOutput', () => {
  test('sentiment: an integer in -100..100', () => {
    expect(validateOutput(SENTIMENT_TEMPLATE, '42')).toEqual({ type: 'integer', value: 42 })
    expect(validateOutput(SENTIMENT_TEMPLATE, ' -100\n')).toEqual({ type: 'integer', value: -100 })
    for (const bad of ['101', '-101', 'positive', '4 2', '007', '-0', '', '1e2']) {
      expect(caught(() => validateOutput(SENTIMENT_TEMPLATE, bad))).toBeInstanceOf(OutputConstraintError)
    }
  })

  test('classification: a label of the parameter', () => {
    const values = { labels: 'billing, bug report ,feature', text: 'x' }
    expect(validateOutput(CLASSIFICATION_TEMPLATE, 'bug report', values)).toEqual({ type: 'enum', value: 'bug report' })
    const error = caught(() => validateOutput(CLASSIFICATION_TEMPLATE, 'bug', values)) as OutputConstraintError
    expect(error).toMatchObject({
      name: 'OutputConstraintError',
      constraint: 'enum',
      reason: 'it is not one of billing, bug report, feature',
      output: 'bug',
    })
  })

  test('code review: JSON of the schema, and a typed error for anything else', () => {
    const good = '{"issues":[{"line":3,"severity":"warning","message":"Unused variable."}]}'
    expect(validateOutput(CODE_REVIEW_TEMPLATE, good)).toEqual({ type: 'json', value: JSON.parse(good) })
    const reasons = [
      ['{"issues":[{"line":3,"severity":"warning"', 'it is not JSON (cut short by the token limit?)'],
      ['{"issues":[{"line":0,"severity":"warning","message":"m"}]}', '$.issues[0].line is outside 1..100000'],
      [
        '{"issues":[{"line":1,"severity":"fatal","message":"m"}]}',
        '$.issues[0].severity is not one of info, warning, error',
      ],
      ['{"issues":[{"line":1,"severity":"info"}]}', '$.issues[0].message is missing'],
      ['{"issues":[],"extra":true}', '$.extra is not a property of the schema'],
      ['[]', '$ is not an object'],
    ]
    for (const [text, reason] of reasons)
      expect(caught(() => validateOutput(CODE_REVIEW_TEMPLATE, text as string))).toMatchObject({ reason })
  })

  test('summary: one line of 1..600 characters', () => {
    expect(validateOutput(SUMMARY_TEMPLATE, 'Short.')).toEqual({ type: 'regex', value: 'Short.' })
    expect(caught(() => validateOutput(SUMMARY_TEMPLATE, 'two\nlines'))).toBeInstanceOf(OutputConstraintError)
    expect(caught(() => validateOutput(SUMMARY_TEMPLATE, 'x'.repeat(601)))).toBeInstanceOf(OutputConstraintError)
  })

  test('the errors cross a boundary with their class and facts', () => {
    for (const error of [
      new InvalidTemplateError({ path: '$.x', reason: 'r' }),
      new TemplateParameterError({ parameter: 'p', reason: 'r' }),
      new OutputConstraintError({ constraint: 'enum', reason: 'r', output: 'o' }),
    ]) {
      const back = deserializeError(JSON.parse(JSON.stringify(serializeError(error))))
      expect(back).toBeInstanceOf(error.constructor)
      expect((back as InvalidTemplateError).data).toEqual(error.data)
    }
  })
})

describe('grammars', () => {
  test('the integer range grammar accepts exactly the canonical integers in range', () => {
    for (const [min, max] of [
      [-100, 100],
      [0, 9],
      [7, 7],
      [5, 1234],
      [-1234, -5],
      [-3, 0],
      [10, 99],
      [0, 0],
      [95, 105],
    ] as const) {
      const grammar = parseGbnf(`root ::= ${integerRangeGbnf(min, max)}`)
      for (let n = -1300; n <= 1300; n++)
        expect(grammar.accepts(String(n)), `${n} in ${min}..${max}`).toBe(n >= min && n <= max)
      for (const bad of ['-0', '00', '01', '+1', '', ' 1']) expect(grammar.accepts(bad)).toBe(false)
    }
  })

  test('every built-in grammar parses, and accepts an output that validates', () => {
    const samples: [PromptTemplate, Record<string, string | number>, string][] = [
      [SENTIMENT_TEMPLATE, { headline: 'x' }, '-37'],
      [SUMMARY_TEMPLATE, { text: 'x', sentences: 1 }, 'A short summary.'],
      [CLASSIFICATION_TEMPLATE, { labels: 'a,b "quoted",c\\d', text: 'x' }, 'b "quoted"'],
      [
        CODE_REVIEW_TEMPLATE,
        { language: 'go', code: 'x' },
        '{"issues":[{"line":12,"severity":"error","message":"Off by one: \\"i <= n\\"."},{"line":1,"severity":"info","message":"ü ok"}]}',
      ],
      [CODE_REVIEW_TEMPLATE, { language: 'go', code: 'x' }, '{"issues":[]}'],
    ]
    for (const [template, values, output] of samples) {
      const grammar = templateGrammar(template, values)
      if (grammar === null) throw new Error('a grammar expected')
      expect(parseGbnf(grammar).accepts(output), `${template.name}: ${output}`).toBe(true)
      expect(() => validateOutput(template, output, values)).not.toThrow()
    }
    expect(templateGrammar(FIM_TEMPLATE)).toBeNull()
  })

  test('the JSON grammar refuses whitespace, a missing field and too many items', () => {
    const grammar = parseGbnf(templateGrammar(CODE_REVIEW_TEMPLATE) as string)
    expect(grammar.accepts('{ "issues":[]}')).toBe(false)
    expect(grammar.accepts('{"issues":[{"line":1,"severity":"info"}]}')).toBe(false)
    const issue = '{"line":1,"severity":"info","message":"m"}'
    expect(grammar.accepts(`{"issues":[${Array(10).fill(issue).join(',')}]}`)).toBe(true)
    expect(grammar.accepts(`{"issues":[${Array(11).fill(issue).join(',')}]}`)).toBe(false)
  })

  test('an unbounded repetition of a part that can match nothing is refused (engines can loop on it)', () => {
    expect(() => parseRegex('(a*)+')).toThrow(/empty string/)
    expect(() => parseRegex('(a?b?){2,}')).toThrow(/empty string/)
    expect(() => parseRegex('(a*){1,3}')).not.toThrow()
  })

  test('regex grammars: classes, escapes, groups and quantifiers', () => {
    const accepts = (pattern: string, text: string) =>
      parseGbnf(`root ::= ${regexToGbnf(parseRegex(pattern))}`).accepts(text)
    expect(accepts('^[A-Z]{3}-\\d{2,4}$', 'ABC-123')).toBe(true)
    expect(accepts('[A-Z]{3}-\\d{2,4}', 'ABC-1')).toBe(false)
    expect(accepts('(yes|no)!?', 'no!')).toBe(true)
    expect(accepts('(?:a|bc)+\\.', 'abcbca.')).toBe(true)
    expect(accepts('[^\\n"]+', 'a"b')).toBe(false)
    expect(accepts('\\s*\\w+', ' \u3000word_1')).toBe(true)
    expect(accepts('.', '\n')).toBe(false)
  })
})
