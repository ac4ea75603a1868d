/**
 * The prompt library: a template is typed data — text with `{{param}}` slots, a parameter schema, an output
 * constraint compiled to a GBNF grammar (llama.cpp's grammar format, which the engines use for constrained
 * decoding), the maximum completion size (so a quote is exact: the input bound comes from the filled text through
 * `inputTokenBound`, the output is `maxTokens`), the chat or completion shape, the models it was tested with, and a
 * version. Its id is its content hash: keccak256 of the UTF-8 bytes of its canonical JSON (object keys sorted by
 * UTF-16 code units, no whitespace, `JSON.stringify` for strings and numbers) — the same bytes
 * `OracleRouter.registerTemplate` hashes when that JSON is registered on-chain.
 *
 * Filling is one pass over the template's text: a parameter's value is inserted as text and never expanded again,
 * so a value containing `{{x}}` stays literal. A template's own text may contain `{{` only as the start of a slot of
 * a declared parameter. Bad parameters are `TemplateParameterError`, an output that does not satisfy the constraint
 * is `OutputConstraintError`, a template that breaks the format or its limits is `InvalidTemplateError`: never a
 * silent default.
 *
 * @example
 * const request = renderTemplate(SENTIMENT_TEMPLATE, { headline: 'Acme beats estimates' }, { model: 'modelex-demo-30m' })
 * const result = await runInference(engine, request)
 * const { value } = validateOutput(SENTIMENT_TEMPLATE, result.text) // an integer in -100..100
 */
import { keccak256, stringToBytes, type Hex } from 'viem'
import { inputTokenBound } from './bounds.ts'
import type { JsonValue } from './errors/base.ts'
import { InvalidTemplateError, OutputConstraintError, TemplateParameterError } from './errors/templates.ts'
import type { InferenceRequest } from './inference.ts'

// ---------------------------------------------------------------------------------------------------------------
// Types

type ParameterBase = { name: string; description?: string; /** Default true. */ required?: boolean }

/** One parameter of a template, with the limits its values must keep. */
export type TemplateParameter = ParameterBase &
  (
    | { type: 'string'; maxLength: number; minLength?: number }
    | { type: 'integer'; min: number; max: number }
    | { type: 'number'; min: number; max: number }
    | { type: 'enum'; values: string[] }
  )

/** The JSON Schema subset a template may constrain output to: every object property is emitted, in order. */
export type OutputSchema =
  | { type: 'object'; properties: { [name: string]: OutputSchema }; required?: string[] }
  | { type: 'array'; items: OutputSchema; minItems?: number; maxItems?: number }
  | { type: 'string'; minLength?: number; maxLength?: number }
  | { type: 'integer'; minimum: number; maximum: number }
  | { type: 'number'; minimum?: number; maximum?: number }
  | { type: 'boolean' }
  | { enum: string[] }

/** What the output must be; `text` leaves it free (up to `maxLength` characters). */
export type OutputConstraint =
  | { type: 'enum'; values: string[] }
  /** The labels come from a string parameter, separated by commas (each trimmed; empty ones dropped). */
  | { type: 'enum'; fromParameter: string }
  | { type: 'integer'; min: number; max: number }
  /** A regular expression of the subset in `parseRegex`, matched against the whole output. */
  | { type: 'regex'; pattern: string }
  | { type: 'json'; schema: OutputSchema }
  | { type: 'text'; maxLength?: number }

export type TemplateModel = { id: string; contentHash: Hex }

export type PromptTemplate = {
  name: string
  description: string
  /** Semver-like: `MAJOR.MINOR.PATCH`, optionally `-prerelease`. */
  version: string
  shape: 'chat' | 'completion'
  /** Chat only: the system message. */
  system?: string
  /** The user message (chat) or the prompt (completion; the prefix of a fill-in-the-middle request). */
  text: string
  /** Completion only: the text after the gap of a fill-in-the-middle request (the model's FIM format is applied by the engine). */
  suffix?: string
  parameters: TemplateParameter[]
  output: OutputConstraint
  /** The maximum completion size in tokens: the request's `max_tokens`, so the quote's output side is exact. */
  maxTokens: number
  /** The models (by weights content hash) the template was tested with; the first is the default. */
  models: TemplateModel[]
}

export type TemplateParameterValues = { readonly [name: string]: string | number }

/** A validated output, typed by the constraint. */
export type TemplateOutput =
  | { type: 'enum'; value: string }
  | { type: 'integer'; value: number }
  | { type: 'regex'; value: string }
  | { type: 'json'; value: JsonValue }
  | { type: 'text'; value: string }

// ---------------------------------------------------------------------------------------------------------------
// Limits

export const TEMPLATE_LIMITS = {
  /** Canonical JSON bytes: also what registering it on-chain costs in calldata. */
  maxBytes: 16_384,
  maxTextLength: 8_192,
  maxNameLength: 80,
  maxDescriptionLength: 1_000,
  maxParameters: 32,
  maxSlots: 64,
  maxStringParameterLength: 65_536,
  maxEnumValues: 64,
  maxEnumValueLength: 200,
  maxRegexLength: 256,
  /** The largest bound of a `{m,n}` regex repetition or a string/array length in a schema. */
  maxRepeat: 1_000,
  maxSchemaDepth: 5,
  maxSchemaProperties: 32,
  maxTokens: 4_096,
  maxModels: 16,
} as const

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/
const VERSION = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})(-[0-9A-Za-z.-]{1,32})?$/
const HASH = /^0x[0-9a-f]{64}$/
const SLOT = /\{\{([A-Za-z_][A-Za-z0-9_]{0,31})\}\}/g

// ---------------------------------------------------------------------------------------------------------------
// Identity

/** The canonical JSON of a value: keys sorted by UTF-16 code units, no whitespace, undefined fields left out. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`
  }
  if (typeof value === 'number' && !Number.isFinite(value))
    throw new InvalidTemplateError({ path: '$', reason: 'numbers must be finite' })
  return JSON.stringify(value)
}

/** The template's id: keccak256 of its canonical JSON (see the module comment). */
export function templateId(template: PromptTemplate): Hex {
  return keccak256(stringToBytes(canonicalJson(template)))
}

// ---------------------------------------------------------------------------------------------------------------
// Strict decoder

type Fields = Record<string, unknown>

function bad(path: string, reason: string): never {
  throw new InvalidTemplateError({ path, reason })
}

function obj(value: unknown, path: string, allowed: readonly string[]): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(path, 'expected an object')
  for (const key of Object.keys(value)) if (!allowed.includes(key)) bad(`${path}.${key}`, 'no such field')
  return value as Fields
}

function str(value: unknown, path: string, max: number, min = 0): string {
  if (typeof value !== 'string' || value.length < min || value.length > max)
    bad(path, `expected a string of ${min}..${max} characters`)
  return value
}

function int(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    bad(path, `expected an integer in ${min}..${max}`)
  return value
}

function num(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) bad(path, 'expected a finite number')
  return value
}

function arr(value: unknown, path: string, max: number, min = 0): unknown[] {
  if (!Array.isArray(value) || value.length < min || value.length > max)
    bad(path, `expected an array of ${min}..${max} items`)
  return value
}

function bool(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') bad(path, 'expected true or false')
  return value
}

function uniqueStrings(value: unknown, path: string, maxItems: number, maxLength: number): string[] {
  const values = arr(value, path, maxItems, 1).map((v, i) => str(v, `${path}[${i}]`, maxLength, 1))
  if (new Set(values).size !== values.length) bad(path, 'values must be unique')
  return values
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER

function parseParameter(value: unknown, path: string): TemplateParameter {
  const fields = obj(value, path, [
    'name',
    'description',
    'required',
    'type',
    'maxLength',
    'minLength',
    'min',
    'max',
    'values',
  ])
  const name = str(fields['name'], `${path}.name`, 32, 1)
  if (!NAME.test(name)) bad(`${path}.name`, 'expected a name of letters, digits and _ (not starting with a digit)')
  const base: ParameterBase = { name }
  if (fields['description'] !== undefined)
    base.description = str(fields['description'], `${path}.description`, TEMPLATE_LIMITS.maxDescriptionLength)
  if (fields['required'] !== undefined) base.required = bool(fields['required'], `${path}.required`)
  const type = fields['type']
  const refuse = (keys: string[]) => {
    for (const key of keys)
      if (fields[key] !== undefined) bad(`${path}.${key}`, `not a field of a ${String(type)} parameter`)
  }
  switch (type) {
    case 'string': {
      refuse(['min', 'max', 'values'])
      const maxLength = int(fields['maxLength'], `${path}.maxLength`, 1, TEMPLATE_LIMITS.maxStringParameterLength)
      const parameter: TemplateParameter = { ...base, type, maxLength }
      if (fields['minLength'] !== undefined)
        parameter.minLength = int(fields['minLength'], `${path}.minLength`, 0, maxLength)
      return parameter
    }
    case 'integer':
    case 'number': {
      refuse(['maxLength', 'minLength', 'values'])
      const min =
        type === 'integer' ? int(fields['min'], `${path}.min`, -MAX_SAFE, MAX_SAFE) : num(fields['min'], `${path}.min`)
      const max =
        type === 'integer' ? int(fields['max'], `${path}.max`, -MAX_SAFE, MAX_SAFE) : num(fields['max'], `${path}.max`)
      if (min > max) bad(`${path}.max`, 'must not be below min')
      return { ...base, type, min, max }
    }
    case 'enum':
      refuse(['maxLength', 'minLength', 'min', 'max'])
      return {
        ...base,
        type,
        values: uniqueStrings(
          fields['values'],
          `${path}.values`,
          TEMPLATE_LIMITS.maxEnumValues,
          TEMPLATE_LIMITS.maxEnumValueLength,
        ),
      }
    default:
      return bad(`${path}.type`, 'expected string, integer, number or enum')
  }
}

function parseSchema(value: unknown, path: string, depth: number): OutputSchema {
  if (depth > TEMPLATE_LIMITS.maxSchemaDepth) bad(path, `schemas nest at most ${TEMPLATE_LIMITS.maxSchemaDepth} deep`)
  const peek = obj(value, path, [
    'type',
    'properties',
    'required',
    'items',
    'minItems',
    'maxItems',
    'minLength',
    'maxLength',
    'minimum',
    'maximum',
    'enum',
  ])
  if (peek['enum'] !== undefined) {
    obj(value, path, ['enum'])
    return {
      enum: uniqueStrings(
        peek['enum'],
        `${path}.enum`,
        TEMPLATE_LIMITS.maxEnumValues,
        TEMPLATE_LIMITS.maxEnumValueLength,
      ),
    }
  }
  const { maxRepeat } = TEMPLATE_LIMITS
  switch (peek['type']) {
    case 'object': {
      const fields = obj(value, path, ['type', 'properties', 'required'])
      const properties = obj(fields['properties'], `${path}.properties`, Object.keys(fields['properties'] ?? {}))
      const names = Object.keys(properties)
      if (names.length < 1 || names.length > TEMPLATE_LIMITS.maxSchemaProperties)
        bad(`${path}.properties`, `expected 1..${TEMPLATE_LIMITS.maxSchemaProperties} properties`)
      const parsed: { [name: string]: OutputSchema } = {}
      for (const name of names) {
        if (!NAME.test(name)) bad(`${path}.properties.${name}`, 'property names are letters, digits and _')
        parsed[name] = parseSchema(properties[name], `${path}.properties.${name}`, depth + 1)
      }
      const schema: OutputSchema = { type: 'object', properties: parsed }
      if (fields['required'] !== undefined) {
        const required = uniqueStrings(fields['required'], `${path}.required`, names.length, 32)
        for (const name of required) if (!names.includes(name)) bad(`${path}.required`, `"${name}" is not a property`)
        schema.required = required
      }
      return schema
    }
    case 'array': {
      const fields = obj(value, path, ['type', 'items', 'minItems', 'maxItems'])
      const schema: OutputSchema = { type: 'array', items: parseSchema(fields['items'], `${path}.items`, depth + 1) }
      if (fields['maxItems'] !== undefined) schema.maxItems = int(fields['maxItems'], `${path}.maxItems`, 0, maxRepeat)
      if (fields['minItems'] !== undefined)
        schema.minItems = int(fields['minItems'], `${path}.minItems`, 0, schema.maxItems ?? maxRepeat)
      return schema
    }
    case 'string': {
      const fields = obj(value, path, ['type', 'minLength', 'maxLength'])
      const schema: OutputSchema = { type: 'string' }
      if (fields['maxLength'] !== undefined)
        schema.maxLength = int(fields['maxLength'], `${path}.maxLength`, 0, maxRepeat)
      if (fields['minLength'] !== undefined)
        schema.minLength = int(fields['minLength'], `${path}.minLength`, 0, schema.maxLength ?? maxRepeat)
      return schema
    }
    case 'integer': {
      const fields = obj(value, path, ['type', 'minimum', 'maximum'])
      const minimum = int(fields['minimum'], `${path}.minimum`, -MAX_SAFE, MAX_SAFE)
      const maximum = int(fields['maximum'], `${path}.maximum`, minimum, MAX_SAFE)
      return { type: 'integer', minimum, maximum }
    }
    case 'number': {
      const fields = obj(value, path, ['type', 'minimum', 'maximum'])
      const schema: OutputSchema = { type: 'number' }
      if (fields['minimum'] !== undefined) schema.minimum = num(fields['minimum'], `${path}.minimum`)
      if (fields['maximum'] !== undefined) schema.maximum = num(fields['maximum'], `${path}.maximum`)
      if (schema.minimum !== undefined && schema.maximum !== undefined && schema.minimum > schema.maximum)
        bad(`${path}.maximum`, 'must not be below minimum')
      return schema
    }
    case 'boolean':
      obj(value, path, ['type'])
      return { type: 'boolean' }
    default:
      return bad(`${path}.type`, 'expected object, array, string, integer, number or boolean (or an enum)')
  }
}

function parseConstraint(value: unknown, path: string): OutputConstraint {
  const fields = obj(value, path, ['type', 'values', 'fromParameter', 'min', 'max', 'pattern', 'schema', 'maxLength'])
  const only = (allowed: string[]) => obj(value, path, ['type', ...allowed])
  switch (fields['type']) {
    case 'enum':
      if (fields['fromParameter'] !== undefined) {
        only(['fromParameter'])
        return { type: 'enum', fromParameter: str(fields['fromParameter'], `${path}.fromParameter`, 32, 1) }
      }
      only(['values'])
      return {
        type: 'enum',
        values: uniqueStrings(
          fields['values'],
          `${path}.values`,
          TEMPLATE_LIMITS.maxEnumValues,
          TEMPLATE_LIMITS.maxEnumValueLength,
        ),
      }
    case 'integer': {
      only(['min', 'max'])
      const min = int(fields['min'], `${path}.min`, -MAX_SAFE, MAX_SAFE)
      return { type: 'integer', min, max: int(fields['max'], `${path}.max`, min, MAX_SAFE) }
    }
    case 'regex': {
      only(['pattern'])
      const pattern = str(fields['pattern'], `${path}.pattern`, TEMPLATE_LIMITS.maxRegexLength, 1)
      try {
        parseRegex(pattern)
      } catch (error) {
        bad(`${path}.pattern`, (error as Error).message)
      }
      return { type: 'regex', pattern }
    }
    case 'json':
      only(['schema'])
      return { type: 'json', schema: parseSchema(fields['schema'], `${path}.schema`, 1) }
    case 'text': {
      only(['maxLength'])
      return fields['maxLength'] === undefined
        ? { type: 'text' }
        : {
            type: 'text',
            maxLength: int(fields['maxLength'], `${path}.maxLength`, 1, TEMPLATE_LIMITS.maxStringParameterLength),
          }
    }
    default:
      return bad(`${path}.type`, 'expected enum, integer, regex, json or text')
  }
}

/** The slots of a text, in order; throws on a `{{` that does not open a well-formed slot. */
function slotsOf(text: string, path: string): string[] {
  const names: string[] = []
  let at = text.indexOf('{{')
  while (at !== -1) {
    SLOT.lastIndex = at
    const match = SLOT.exec(text)
    if (!match || match.index !== at) bad(path, `"{{" at ${at} does not open a slot {{name}}`)
    names.push(match[1] as string)
    at = text.indexOf('{{', at + match[0].length)
  }
  return names
}

/**
 * Decodes a template strictly: JSON text (at most `TEMPLATE_LIMITS.maxBytes` bytes) or a parsed value. Unknown
 * fields, undeclared slots, unused parameters and anything over a limit are `InvalidTemplateError`.
 */
export function parseTemplate(input: unknown): PromptTemplate {
  let value = input
  if (typeof input === 'string') {
    if (stringToBytes(input).length > TEMPLATE_LIMITS.maxBytes) bad('$', `more than ${TEMPLATE_LIMITS.maxBytes} bytes`)
    try {
      value = JSON.parse(input) as unknown
    } catch (error) {
      throw new InvalidTemplateError({ path: '$', reason: 'not valid JSON' }, error)
    }
  }
  const fields = obj(value, '$', [
    'name',
    'description',
    'version',
    'shape',
    'system',
    'text',
    'suffix',
    'parameters',
    'output',
    'maxTokens',
    'models',
  ])
  const { maxTextLength } = TEMPLATE_LIMITS
  const shape = fields['shape']
  if (shape !== 'chat' && shape !== 'completion') bad('$.shape', 'expected chat or completion')
  const version = str(fields['version'], '$.version', 64, 1)
  if (!VERSION.test(version)) bad('$.version', 'expected MAJOR.MINOR.PATCH (optionally -prerelease)')
  const template: PromptTemplate = {
    name: str(fields['name'], '$.name', TEMPLATE_LIMITS.maxNameLength, 1),
    description: str(fields['description'], '$.description', TEMPLATE_LIMITS.maxDescriptionLength),
    version,
    shape,
    text: str(fields['text'], '$.text', maxTextLength, 1),
    parameters: arr(fields['parameters'], '$.parameters', TEMPLATE_LIMITS.maxParameters).map((p, i) =>
      parseParameter(p, `$.parameters[${i}]`),
    ),
    output: parseConstraint(fields['output'], '$.output'),
    maxTokens: int(fields['maxTokens'], '$.maxTokens', 1, TEMPLATE_LIMITS.maxTokens),
    models: arr(fields['models'], '$.models', TEMPLATE_LIMITS.maxModels).map((m, i) => {
      const model = obj(m, `$.models[${i}]`, ['id', 'contentHash'])
      const contentHash = str(model['contentHash'], `$.models[${i}].contentHash`, 66, 66)
      if (!HASH.test(contentHash)) bad(`$.models[${i}].contentHash`, 'expected a lower-case 0x keccak256 hash')
      return { id: str(model['id'], `$.models[${i}].id`, 128, 1), contentHash: contentHash as Hex }
    }),
  }
  if (fields['system'] !== undefined) {
    if (shape !== 'chat') bad('$.system', 'only chat templates have a system message')
    template.system = str(fields['system'], '$.system', maxTextLength, 1)
  }
  if (fields['suffix'] !== undefined) {
    if (shape !== 'completion') bad('$.suffix', 'only completion templates have a suffix')
    template.suffix = str(fields['suffix'], '$.suffix', maxTextLength)
  }
  // Slots and parameters must match both ways: an undeclared slot, or a parameter nothing uses, is a mistake.
  const declared = new Map(template.parameters.map((p) => [p.name, p]))
  if (declared.size !== template.parameters.length) bad('$.parameters', 'parameter names must be unique')
  const slots = [
    ...(template.system === undefined ? [] : slotsOf(template.system, '$.system')),
    ...slotsOf(template.text, '$.text'),
    ...(template.suffix === undefined ? [] : slotsOf(template.suffix, '$.suffix')),
  ]
  if (slots.length > TEMPLATE_LIMITS.maxSlots) bad('$', `more than ${TEMPLATE_LIMITS.maxSlots} slots`)
  for (const slot of slots) if (!declared.has(slot)) bad('$.parameters', `slot {{${slot}}} has no parameter`)
  const used = new Set(slots)
  if (template.output.type === 'enum' && 'fromParameter' in template.output) {
    const source = declared.get(template.output.fromParameter)
    if (source?.type !== 'string') bad('$.output.fromParameter', 'expected the name of a string parameter')
    used.add(source.name)
  }
  for (const name of declared.keys()) if (!used.has(name)) bad('$.parameters', `parameter "${name}" is used by no slot`)
  if (stringToBytes(canonicalJson(template)).length > TEMPLATE_LIMITS.maxBytes)
    bad('$', `more than ${TEMPLATE_LIMITS.maxBytes} bytes`)
  return template
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters and rendering

/** Checks values against the schema; returns them as the text each slot gets. */
export function checkParameters(template: PromptTemplate, values: TemplateParameterValues): Map<string, string> {
  const texts = new Map<string, string>()
  for (const name of Object.keys(values)) {
    if (!template.parameters.some((p) => p.name === name))
      throw new TemplateParameterError({ parameter: name, reason: 'is not a parameter of this template' })
  }
  for (const parameter of template.parameters) {
    const value = Object.hasOwn(values, parameter.name) ? values[parameter.name] : undefined
    const fail = (reason: string): never => {
      throw new TemplateParameterError({ parameter: parameter.name, reason })
    }
    if (value === undefined) {
      if (parameter.required !== false) fail('is required')
      texts.set(parameter.name, '')
      continue
    }
    switch (parameter.type) {
      case 'string':
        if (typeof value !== 'string') fail('must be text')
        else if (value.length > parameter.maxLength)
          fail(`must be at most ${parameter.maxLength} characters (it has ${value.length})`)
        else if (value.length < (parameter.minLength ?? 0)) fail(`must be at least ${parameter.minLength} characters`)
        break
      case 'integer':
        if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail('must be an integer')
        else if (value < parameter.min || value > parameter.max) fail(`must be in ${parameter.min}..${parameter.max}`)
        break
      case 'number':
        if (typeof value !== 'number' || !Number.isFinite(value)) fail('must be a number')
        else if (value < parameter.min || value > parameter.max) fail(`must be in ${parameter.min}..${parameter.max}`)
        break
      case 'enum':
        if (typeof value !== 'string' || !parameter.values.includes(value))
          fail(`must be one of ${parameter.values.join(', ')}`)
        break
    }
    texts.set(parameter.name, String(value))
  }
  return texts
}

/**
 * Parameter values from a form's text fields: integers and numbers parsed strictly, an empty optional field left
 * out. Errors are `TemplateParameterError` (as `checkParameters` would give), so a form can show them per field.
 */
export function parametersFromForm(
  template: PromptTemplate,
  fields: { readonly [name: string]: string },
): Record<string, string | number> {
  const values: Record<string, string | number> = {}
  for (const parameter of template.parameters) {
    const raw = fields[parameter.name] ?? ''
    if (raw === '' && parameter.required === false) continue
    if (parameter.type === 'integer') {
      if (!/^-?\d{1,16}$/.test(raw.trim()))
        throw new TemplateParameterError({ parameter: parameter.name, reason: 'must be an integer' })
      values[parameter.name] = Number(raw.trim())
    } else if (parameter.type === 'number') {
      const n = raw.trim() === '' ? Number.NaN : Number(raw)
      if (!Number.isFinite(n))
        throw new TemplateParameterError({ parameter: parameter.name, reason: 'must be a number' })
      values[parameter.name] = n
    } else values[parameter.name] = raw
  }
  return values
}

/** Fills the slots in one pass: values are never expanded again. */
function fill(text: string, texts: ReadonlyMap<string, string>): string {
  return text.replace(SLOT, (slot, name: string) => texts.get(name) ?? slot)
}

export type RenderOptions = {
  /** The model id of the request; default: the template's first tested model. */
  model?: string
  /** Sampling seed; default 0 (with temperature 0 the request is reproducible). */
  seed?: number
}

/** The inference request for a filled template: greedy, seeded, `max_tokens = maxTokens`, constrained by its grammar. */
export function renderTemplate(
  template: PromptTemplate,
  values: TemplateParameterValues,
  options: RenderOptions = {},
): InferenceRequest {
  const texts = checkParameters(template, values)
  const model = options.model ?? template.models[0]?.id
  if (model === undefined)
    throw new TemplateParameterError({
      parameter: 'model',
      reason: 'must be given: the template names no tested model',
    })
  const grammar = templateGrammar(template, values)
  const sampling = {
    model,
    max_tokens: template.maxTokens,
    temperature: 0,
    seed: options.seed ?? 0,
    ...(grammar === null ? {} : { response_format: { type: 'grammar' as const, grammar } }),
  }
  if (template.shape === 'chat') {
    const messages = [
      ...(template.system === undefined ? [] : [{ role: 'system' as const, content: fill(template.system, texts) }]),
      { role: 'user' as const, content: fill(template.text, texts) },
    ]
    return { kind: 'chat', ...sampling, messages }
  }
  return {
    kind: 'completion',
    ...sampling,
    prompt: fill(template.text, texts),
    ...(template.suffix === undefined ? {} : { suffix: fill(template.suffix, texts) }),
  }
}

/** The exact bounds a quote for a filled template has: input from the filled text, output `maxTokens`. */
export function templateTokenBounds(
  template: PromptTemplate,
  request: InferenceRequest,
): { inputTokens: number; outputTokens: number } {
  return { inputTokens: inputTokenBound(request), outputTokens: template.maxTokens }
}

/** The labels of an enum constraint, from the template or from its parameter (comma-separated). */
export function enumValues(template: PromptTemplate, values: TemplateParameterValues = {}): string[] {
  const output = template.output
  if (output.type !== 'enum') return []
  if ('values' in output) return output.values
  const raw = values[output.fromParameter]
  const labels = [
    ...new Set(
      String(raw ?? '')
        .split(',')
        .map((label) => label.trim())
        .filter((label) => label !== ''),
    ),
  ]
  if (labels.length === 0)
    throw new TemplateParameterError({
      parameter: output.fromParameter,
      reason: 'must list at least one label, separated by commas',
    })
  if (labels.length > TEMPLATE_LIMITS.maxEnumValues)
    throw new TemplateParameterError({
      parameter: output.fromParameter,
      reason: `may list at most ${TEMPLATE_LIMITS.maxEnumValues} labels`,
    })
  return labels
}

// ---------------------------------------------------------------------------------------------------------------
// Regular expressions (a subset that maps one to one onto GBNF)

type CharRange = readonly [number, number]
/** A parsed regular expression. `class` with one one-point range and not negated is a literal character. */
export type Regex =
  | { t: 'class'; ranges: CharRange[]; negated: boolean }
  | { t: 'seq'; items: Regex[] }
  | { t: 'alt'; options: Regex[] }
  | { t: 'rep'; item: Regex; min: number; max: number | null }

const DIGIT: CharRange[] = [[0x30, 0x39]]
const WORD: CharRange[] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
]
// JavaScript's \s: the same set on both sides, so the grammar and the check agree.
const SPACE: CharRange[] = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
]
const LINE_ENDS: CharRange[] = [
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
]
const SYNTAX = new Set([...'^$\\.*+?()[]{}|/-'])
const CONTROL_ESCAPES: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, f: 0x0c, v: 0x0b }
const CLASS_ESCAPES: Record<string, { ranges: CharRange[]; negated: boolean }> = {
  d: { ranges: DIGIT, negated: false },
  D: { ranges: DIGIT, negated: true },
  w: { ranges: WORD, negated: false },
  W: { ranges: WORD, negated: true },
  s: { ranges: SPACE, negated: false },
  S: { ranges: SPACE, negated: true },
}

/**
 * Parses the regex subset templates may use: literals, `.`, classes `[a-z]` / `[^...]`, escapes `\d \w \s` (and
 * their negations), `\n \r \t \f \v`, escaped syntax characters, groups `(...)` / `(?:...)`, alternation, and the
 * quantifiers `? * + {n} {n,} {n,m}` (bounds up to `TEMPLATE_LIMITS.maxRepeat`), with an optional leading `^` and
 * trailing `$` (the whole output is matched anyway). Lookarounds, backreferences, lazy quantifiers, word
 * boundaries and flags are refused. Throws a plain `Error` saying where.
 */
export function parseRegex(pattern: string): Regex {
  let body = [...pattern]
  if (body[0] === '^') body = body.slice(1)
  if (body[body.length - 1] === '$' && body[body.length - 2] !== '\\') body = body.slice(0, -1)
  let at = 0
  const fail = (what: string): never => {
    throw new Error(`${what} at ${at}`)
  }
  const peek = () => body[at]
  const next = () => body[at++] ?? fail('unexpected end')

  const alternation = (): Regex => {
    const options = [sequence()]
    while (peek() === '|') {
      at++
      options.push(sequence())
    }
    return options.length === 1 ? (options[0] as Regex) : { t: 'alt', options }
  }
  const sequence = (): Regex => {
    const items: Regex[] = []
    while (at < body.length && peek() !== '|' && peek() !== ')') items.push(quantified())
    if (items.length === 0) fail('empty alternative')
    return items.length === 1 ? (items[0] as Regex) : { t: 'seq', items }
  }
  const quantified = (): Regex => {
    const item = atom()
    const q = peek()
    let min: number
    let max: number | null
    if (q === '?') [min, max] = [0, 1]
    else if (q === '*') [min, max] = [0, null]
    else if (q === '+') [min, max] = [1, null]
    else if (q === '{') {
      const match = /^\{(\d{1,4})(,(\d{0,4}))?\}/.exec(body.slice(at).join(''))
      if (!match) return fail('a "{" that is no {n}, {n,} or {n,m}')
      min = Number(match[1])
      max = match[2] === undefined ? min : match[3] === '' ? null : Number(match[3])
      if (min > TEMPLATE_LIMITS.maxRepeat || (max !== null && (max > TEMPLATE_LIMITS.maxRepeat || max < min)))
        fail(`a repetition outside 0..${TEMPLATE_LIMITS.maxRepeat}`)
      at += match[0].length - 1
    } else return item
    at++
    if (peek() === '?' || peek() === '+' || peek() === '*' || peek() === '{') fail('a lazy or repeated quantifier')
    // An unbounded repetition of a part that can match nothing is a grammar engines can loop on: refused.
    if (max === null && regexNullable(item)) fail('an unbounded repetition of a part that can match the empty string')
    return { t: 'rep', item, min, max }
  }
  const escape = (inClass: boolean): Regex | number => {
    const c = next()
    const cls = CLASS_ESCAPES[c]
    if (cls) {
      if (inClass && cls.negated) fail(`\\${c} inside a class`)
      return { t: 'class', ranges: cls.ranges, negated: cls.negated }
    }
    const control = CONTROL_ESCAPES[c]
    if (control !== undefined) return control
    if (SYNTAX.has(c)) return c.codePointAt(0) as number
    return fail(`an unsupported escape \\${c}`)
  }
  const charClass = (): Regex => {
    const negated = peek() === '^'
    if (negated) at++
    const ranges: CharRange[] = []
    const point = (): number | CharRange[] => {
      const c = next()
      if (c === '\\') {
        const e = escape(true)
        return typeof e === 'number' ? e : (e as { ranges: CharRange[] }).ranges
      }
      if (c === '[') fail('a nested "["')
      return c.codePointAt(0) as number
    }
    while (peek() !== ']') {
      if (at >= body.length) fail('an unclosed class')
      const lo = point()
      if (typeof lo !== 'number') {
        ranges.push(...lo)
        continue
      }
      if (peek() === '-' && body[at + 1] !== ']' && body[at + 1] !== undefined) {
        at++
        const hi = point()
        if (typeof hi !== 'number' || hi < lo) fail('a bad range')
        ranges.push([lo, hi as number])
      } else ranges.push([lo, lo])
    }
    at++
    if (ranges.length === 0) fail('an empty class')
    return { t: 'class', ranges, negated }
  }
  const atom = (): Regex => {
    const c = next()
    switch (c) {
      case '(': {
        if (peek() === '?') {
          at++
          if (next() !== ':') fail('a lookaround or named group')
        }
        const inner = alternation()
        if (next() !== ')') fail('an unclosed group')
        return inner
      }
      case '[':
        return charClass()
      case '.':
        return { t: 'class', ranges: LINE_ENDS, negated: true }
      case '\\': {
        const e = escape(false)
        return typeof e === 'number' ? { t: 'class', ranges: [[e, e]], negated: false } : e
      }
      case '*':
      case '+':
      case '?':
      case '{':
        return fail('nothing to repeat')
      case ')':
      case ']':
      case '}':
      case '^':
      case '$':
      case '/':
        return fail(`a lone "${c}"`)
      default: {
        const cp = c.codePointAt(0) as number
        return { t: 'class', ranges: [[cp, cp]], negated: false }
      }
    }
  }
  if (body.length === 0) fail('an empty pattern')
  const regex = alternation()
  if (at !== body.length) fail('an unmatched ")"')
  return regex
}

const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0')

function gbnfPoint(cp: number): string {
  if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a))
    return String.fromCodePoint(cp)
  if (cp <= 0xff) return `\\x${hex(cp, 2)}`
  if (cp <= 0xffff) return `\\u${hex(cp, 4)}`
  return `\\U${hex(cp, 8)}`
}

function gbnfClass(ranges: readonly CharRange[], negated: boolean): string {
  return `[${negated ? '^' : ''}${ranges.map(([lo, hi]) => (lo === hi ? gbnfPoint(lo) : `${gbnfPoint(lo)}-${gbnfPoint(hi)}`)).join('')}]`
}

/** A GBNF string literal. */
export function gbnfLiteral(text: string): string {
  return `"${[...text].map((c) => (/[A-Za-z0-9 _.,:;!?'()[\]{}<>=+*#@%&|~^$/-]/.test(c) ? c : gbnfPoint(c.codePointAt(0) as number))).join('')}"`
}

function quantifier(min: number, max: number | null): string {
  if (min === 0 && max === 1) return '?'
  if (min === 0 && max === null) return '*'
  if (min === 1 && max === null) return '+'
  if (max === min) return `{${min}}`
  return `{${min},${max ?? ''}}`
}

const isLiteral = (r: Regex): r is { t: 'class'; ranges: CharRange[]; negated: false } =>
  r.t === 'class' && !r.negated && r.ranges.length === 1 && r.ranges[0]?.[0] === r.ranges[0]?.[1]

/** The GBNF expression of a parsed regex. */
export function regexToGbnf(regex: Regex): string {
  switch (regex.t) {
    case 'class':
      return isLiteral(regex)
        ? gbnfLiteral(String.fromCodePoint(regex.ranges[0]?.[0] as number))
        : gbnfClass(regex.ranges, regex.negated)
    case 'seq': {
      const parts: string[] = []
      let run = ''
      for (const item of regex.items) {
        if (isLiteral(item)) run += String.fromCodePoint(item.ranges[0]?.[0] as number)
        else {
          if (run) parts.push(gbnfLiteral(run))
          run = ''
          parts.push(regexToGbnf(item))
        }
      }
      if (run) parts.push(gbnfLiteral(run))
      return parts.join(' ')
    }
    case 'alt':
      return `(${regex.options.map(regexToGbnf).join(' | ')})`
    case 'rep':
      return `${regex.item.t === 'class' ? regexToGbnf(regex.item) : `(${regexToGbnf(regex.item)})`}${quantifier(regex.min, regex.max)}`
  }
}

const jsPoint = (cp: number) => `\\u{${cp.toString(16)}}`

/** Whether a parsed regex matches the empty string. */
export function regexNullable(regex: Regex): boolean {
  switch (regex.t) {
    case 'class':
      return false
    case 'seq':
      return regex.items.every(regexNullable)
    case 'alt':
      return regex.options.some(regexNullable)
    case 'rep':
      return regex.min === 0 || regexNullable(regex.item)
  }
}

/** The JavaScript regex source (flag `u`) of a parsed regex: the same language as its GBNF. */
export function regexToJs(regex: Regex): string {
  switch (regex.t) {
    case 'class':
      return `[${regex.negated ? '^' : ''}${regex.ranges.map(([lo, hi]) => (lo === hi ? jsPoint(lo) : `${jsPoint(lo)}-${jsPoint(hi)}`)).join('')}]`
    case 'seq':
      return regex.items.map(regexToJs).join('')
    case 'alt':
      return `(?:${regex.options.map(regexToJs).join('|')})`
    case 'rep':
      return `(?:${regexToJs(regex.item)})${quantifier(regex.min, regex.max)}`
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Integer ranges

/** GBNF alternatives for the decimal integers in `lo..hi`, both non-negative: no leading zeros. */
function naturalRange(lo: number, hi: number): string[] {
  const out: string[] = []
  const fixed = (a: string, b: string): string[][] => {
    // Every digit string of a's length from a to b (same length), as sequences of digit classes.
    if (a.length === 0) return [[]]
    const [a0, b0] = [Number(a[0]), Number(b[0])]
    const restA = a.slice(1)
    const restB = b.slice(1)
    if (a0 === b0) return fixed(restA, restB).map((tail) => [String(a0), ...tail])
    const nines = '9'.repeat(restA.length)
    const zeros = '0'.repeat(restA.length)
    const parts: string[][] = []
    const lowFull = restA === zeros
    const highFull = restB === nines
    const from = lowFull ? a0 : a0 + 1
    const to = highFull ? b0 : b0 - 1
    if (!lowFull) parts.push(...fixed(restA, nines).map((tail) => [String(a0), ...tail]))
    if (from <= to)
      parts.push([from === to ? String(from) : `[${from}-${to}]`, ...Array<string>(restA.length).fill('[0-9]')])
    if (!highFull) parts.push(...fixed(zeros, restB).map((tail) => [String(b0), ...tail]))
    return parts
  }
  for (let digits = String(lo).length; digits <= String(hi).length; digits++) {
    const from = Math.max(lo, digits === 1 ? 0 : 10 ** (digits - 1))
    const to = Math.min(hi, 10 ** digits - 1)
    if (from > to) continue
    for (const seq of fixed(String(from), String(to)))
      out.push(seq.map((s) => (s.startsWith('[') ? s : `"${s}"`)).join(' '))
  }
  return out
}

/** A GBNF expression for exactly the decimal integers in `min..max` (canonical form: no `+`, no leading zeros, no `-0`). */
export function integerRangeGbnf(min: number, max: number): string {
  const options: string[] = []
  if (min < 0) options.push(...naturalRange(Math.max(1, -max), -min).map((seq) => `"-" ${seq}`))
  if (max >= 0) options.push(...naturalRange(Math.max(0, min), max))
  return `(${options.join(' | ')})`
}

// ---------------------------------------------------------------------------------------------------------------
// Grammars

const JSON_CHAR_RULE = 'jchar ::= [^"\\\\\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F]{4})'
const JSON_NUMBER = '"-"? ("0" | [1-9] [0-9]{0,14}) ("." [0-9]{1,6})?'

function schemaGbnf(schema: OutputSchema, rules: string[], usesChar: { value: boolean }): string {
  const rule = (body: string) => {
    const name = `s${rules.length}`
    rules.push(`${name} ::= ${body}`)
    return name
  }
  if ('enum' in schema) return `(${schema.enum.map((v) => gbnfLiteral(JSON.stringify(v))).join(' | ')})`
  switch (schema.type) {
    case 'object': {
      const members = Object.entries(schema.properties).map(
        ([name, sub]) => `${gbnfLiteral(`${JSON.stringify(name)}:`)} ${schemaGbnf(sub, rules, usesChar)}`,
      )
      return rule(`"{" ${members.join(' "," ')} "}"`)
    }
    case 'array': {
      const item = schemaGbnf(schema.items, rules, usesChar)
      const min = schema.minItems ?? 0
      const max = schema.maxItems ?? null
      if (max === 0) return '"[" "]"'
      const more = (lo: number) => (max === null ? quantifier(lo, null) : quantifier(lo, max - 1))
      const rest = (lo: number) => (max === 1 ? '' : ` ("," ${item})${more(lo)}`)
      return rule(min === 0 ? `"[" (${item}${rest(0)})? "]"` : `"[" ${item}${rest(min - 1)} "]"`)
    }
    case 'string':
      usesChar.value = true
      return rule(`"\\"" jchar${quantifier(schema.minLength ?? 0, schema.maxLength ?? null)} "\\""`)
    case 'integer':
      return rule(integerRangeGbnf(schema.minimum, schema.maximum))
    case 'number':
      return rule(JSON_NUMBER)
    case 'boolean':
      return '("true" | "false")'
  }
}

/**
 * The GBNF grammar of a template's output constraint (for these parameter values, which an enum may take its
 * labels from), or null for unconstrained text. JSON is compact (no whitespace) and has every object property,
 * in the schema's order: a subset of what the schema accepts, so every constrained output validates.
 */
export function templateGrammar(template: PromptTemplate, values: TemplateParameterValues = {}): string | null {
  const output = template.output
  switch (output.type) {
    case 'text':
      return null
    case 'enum':
      return `root ::= ${enumValues(template, values).map(gbnfLiteral).join(' | ')}`
    case 'integer':
      return `root ::= ${integerRangeGbnf(output.min, output.max)}`
    case 'regex':
      return `root ::= ${regexToGbnf(parseRegex(output.pattern))}`
    case 'json': {
      const rules: string[] = []
      const usesChar = { value: false }
      const root = schemaGbnf(output.schema, rules, usesChar)
      return [`root ::= ${root}`, ...rules, ...(usesChar.value ? [JSON_CHAR_RULE] : [])].join('\n')
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Output validation

const codePoints = (s: string) => [...s].length

function checkSchema(schema: OutputSchema, value: unknown, path: string): string | null {
  const type = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v)
  if ('enum' in schema)
    return typeof value === 'string' && schema.enum.includes(value)
      ? null
      : `${path} is not one of ${schema.enum.join(', ')}`
  switch (schema.type) {
    case 'object': {
      if (type(value) !== 'object') return `${path} is not an object`
      const record = value as Record<string, unknown>
      for (const key of Object.keys(record))
        if (!Object.hasOwn(schema.properties, key)) return `${path}.${key} is not a property of the schema`
      for (const key of schema.required ?? []) if (!Object.hasOwn(record, key)) return `${path}.${key} is missing`
      for (const [key, sub] of Object.entries(schema.properties)) {
        if (!Object.hasOwn(record, key)) continue
        const problem = checkSchema(sub, record[key], `${path}.${key}`)
        if (problem) return problem
      }
      return null
    }
    case 'array': {
      if (!Array.isArray(value)) return `${path} is not an array`
      if (value.length < (schema.minItems ?? 0) || value.length > (schema.maxItems ?? Infinity))
        return `${path} has ${value.length} items`
      for (const [i, item] of value.entries()) {
        const problem = checkSchema(schema.items, item, `${path}[${i}]`)
        if (problem) return problem
      }
      return null
    }
    case 'string':
      if (typeof value !== 'string') return `${path} is not a string`
      return codePoints(value) < (schema.minLength ?? 0) || codePoints(value) > (schema.maxLength ?? Infinity)
        ? `${path} has ${codePoints(value)} characters`
        : null
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return `${path} is not an integer`
      return value < schema.minimum || value > schema.maximum
        ? `${path} is outside ${schema.minimum}..${schema.maximum}`
        : null
    case 'number':
      if (typeof value !== 'number') return `${path} is not a number`
      return value < (schema.minimum ?? -Infinity) || value > (schema.maximum ?? Infinity)
        ? `${path} is out of range`
        : null
    case 'boolean':
      return typeof value === 'boolean' ? null : `${path} is not true or false`
  }
}

/**
 * The typed value of a model's output, or `OutputConstraintError`: an enum label, an integer in range, the text a
 * regex matched, parsed JSON of the schema, or the text. Enum, integer and JSON outputs may carry surrounding
 * whitespace; nothing else is forgiven.
 */
export function validateOutput(
  template: PromptTemplate,
  text: string,
  values: TemplateParameterValues = {},
): TemplateOutput {
  const output = template.output
  const fail = (reason: string): never => {
    throw new OutputConstraintError({ constraint: output.type, reason, output: text })
  }
  switch (output.type) {
    case 'text':
      if (output.maxLength !== undefined && codePoints(text) > output.maxLength)
        fail(`it has ${codePoints(text)} characters, more than ${output.maxLength}`)
      return { type: 'text', value: text }
    case 'enum': {
      const labels = enumValues(template, values)
      const value = text.trim()
      if (!labels.includes(value)) fail(`it is not one of ${labels.join(', ')}`)
      return { type: 'enum', value }
    }
    case 'integer': {
      const value = text.trim()
      if (!/^(0|-?[1-9]\d{0,15})$/.test(value)) fail('it is not an integer')
      const n = Number(value)
      if (!Number.isSafeInteger(n) || n < output.min || n > output.max)
        fail(`${value} is outside ${output.min}..${output.max}`)
      return { type: 'integer', value: n }
    }
    case 'regex':
      if (!new RegExp(`^(?:${regexToJs(parseRegex(output.pattern))})$`, 'u').test(text))
        fail(`it does not match /${output.pattern}/`)
      return { type: 'regex', value: text }
    case 'json': {
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch {
        return fail('it is not JSON (cut short by the token limit?)')
      }
      const problem = checkSchema(output.schema, value, '$')
      if (problem) fail(problem)
      return { type: 'json', value: value as JsonValue }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Built-ins

const DEMO_MODELS_TESTED: TemplateModel[] = [
  { id: 'modelex-demo-30m', contentHash: '0xd334497c60f69fe1fe6f44d90a48c753499e40f430c2d115de467510ab626e09' },
  { id: 'modelex-demo-tiny', contentHash: '0xb7bced5a1f2bf87322d4cdeeeb92d7a9f76dd0dc8fbf8a2fc6f3327c1b2464f4' },
]

/** The sentiment of a financial headline as an integer score from -100 (very negative) to 100 (very positive). */
export const SENTIMENT_TEMPLATE: PromptTemplate = {
  name: 'Headline sentiment',
  description:
    'The sentiment of one financial headline for investors in the company it names, as an integer from -100 (very negative) to 100 (very positive).',
  version: '1.0.0',
  shape: 'chat',
  system:
    'You score the sentiment of financial news for investors in the company it names, from -100 (very negative) through 0 (neutral) to 100 (very positive). Answer with the integer only.',
  text: 'Headline: {{headline}}\nScore:',
  parameters: [{ name: 'headline', description: 'One news headline.', type: 'string', maxLength: 500, minLength: 1 }],
  output: { type: 'integer', min: -100, max: 100 },
  // "-100" is at most four tokens for a byte-level tokenizer; one more for the end of text.
  maxTokens: 5,
  models: DEMO_MODELS_TESTED,
}

export const SUMMARY_TEMPLATE: PromptTemplate = {
  name: 'Summary',
  description: 'A one-paragraph summary of a text, in at most the given number of sentences.',
  version: '1.0.0',
  shape: 'chat',
  system: 'You summarize texts faithfully, in one paragraph, without adding facts.',
  text: 'Summarize the following text in at most {{sentences}} sentences.\n\n{{text}}',
  parameters: [
    { name: 'text', description: 'The text to summarize.', type: 'string', maxLength: 8_000, minLength: 1 },
    { name: 'sentences', description: 'At most this many sentences.', type: 'integer', min: 1, max: 5 },
  ],
  output: { type: 'regex', pattern: '[^\\n]{1,600}' },
  maxTokens: 160,
  models: DEMO_MODELS_TESTED,
}

export const CLASSIFICATION_TEMPLATE: PromptTemplate = {
  name: 'Classification',
  description: 'Exactly one of the given labels for a text.',
  version: '1.0.0',
  shape: 'chat',
  system: 'You classify texts. Answer with exactly one of the given labels and nothing else.',
  text: 'Labels: {{labels}}\nText: {{text}}\nLabel:',
  parameters: [
    { name: 'labels', description: 'The labels, separated by commas.', type: 'string', maxLength: 400, minLength: 1 },
    { name: 'text', description: 'The text to classify.', type: 'string', maxLength: 4_000, minLength: 1 },
  ],
  output: { type: 'enum', fromParameter: 'labels' },
  // A label of the 400 characters at most; byte-level tokens, so a long one could take as many tokens as bytes.
  maxTokens: 48,
  models: DEMO_MODELS_TESTED,
}

export const CODE_REVIEW_TEMPLATE: PromptTemplate = {
  name: 'Code review',
  description: 'Issues found in a piece of code, as JSON: line, severity and message of each.',
  version: '1.0.0',
  shape: 'chat',
  system:
    'You review code for bugs, security problems and unclear parts. Answer with JSON only: {"issues":[{"line":<line number>,"severity":"info"|"warning"|"error","message":"<one sentence>"}]}, at most 10 issues, an empty list when there are none.',
  text: 'Language: {{language}}\n\n{{code}}',
  parameters: [
    { name: 'language', type: 'enum', values: ['python', 'javascript', 'typescript', 'go', 'rust', 'other'] },
    { name: 'code', description: 'The code to review.', type: 'string', maxLength: 8_000, minLength: 1 },
  ],
  output: {
    type: 'json',
    schema: {
      type: 'object',
      properties: {
        issues: {
          type: 'array',
          maxItems: 10,
          items: {
            type: 'object',
            properties: {
              line: { type: 'integer', minimum: 1, maximum: 100_000 },
              severity: { enum: ['info', 'warning', 'error'] },
              message: { type: 'string', minLength: 1, maxLength: 200 },
            },
            required: ['line', 'severity', 'message'],
          },
        },
      },
      required: ['issues'],
    },
  },
  maxTokens: 1_024,
  models: DEMO_MODELS_TESTED,
}

/** Fill-in-the-middle: a completion with a suffix, which the engine lays out in the model's FIM format (`prompts.ts`). */
export const FIM_TEMPLATE: PromptTemplate = {
  name: 'Fill in the middle',
  description: 'The code between a prefix and a suffix, in the model’s fill-in-the-middle format.',
  version: '1.0.0',
  shape: 'completion',
  text: '{{prefix}}',
  suffix: '{{suffix}}',
  parameters: [
    { name: 'prefix', description: 'The code before the gap.', type: 'string', maxLength: 8_000 },
    { name: 'suffix', description: 'The code after the gap.', type: 'string', maxLength: 8_000, required: false },
  ],
  output: { type: 'text' },
  maxTokens: 64,
  models: DEMO_MODELS_TESTED,
}

export const BUILTIN_TEMPLATES: readonly PromptTemplate[] = [
  SENTIMENT_TEMPLATE,
  SUMMARY_TEMPLATE,
  CLASSIFICATION_TEMPLATE,
  CODE_REVIEW_TEMPLATE,
  FIM_TEMPLATE,
]
