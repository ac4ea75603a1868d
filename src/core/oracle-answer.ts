/**
 * What a node answers to an OracleRouter request, as pure functions: how a request's input bytes fill the template,
 * how a validated output becomes the `int256` committed on-chain, and how a subscription round's value is defined.
 *
 * - **Plain request input** (`templateValuesFromInput`): the input bytes are UTF-8. A JSON object is the template's
 *   parameter values (`{"headline":"..."}`); any other text is the value of the template's only required string
 *   parameter (SentimentConsumer.requestScore passes `bytes(asset)`, so with the sentiment template the text is the
 *   headline scored). Anything else is `OracleInputError`: the node does not answer.
 * - **Answer value** (`chainValueOf`): an integer output is its value; an enum output is the index of its label in
 *   the template's label list. Other outputs (text, regex, JSON) have no number a median could be taken of: the node
 *   does not answer templates with them.
 * - **Round value** (`roundValue`): the round's items (its data set's window for its asset, `datasets.ts`) are each
 *   scored with the template (the item's headline filling its string parameter); the round's value is the
 *   arithmetic mean of the scores rounded to the nearest integer, halves away from zero (so in the template's range
 *   whenever every score is). An empty window has no value: the node abstains (`EmptyRoundWindowError`).
 */
import type { Hex } from 'viem'
import { hexToBytes } from 'viem'
import { OracleInputError } from './errors/oracle.ts'
import { enumValues, type PromptTemplate, type TemplateOutput, type TemplateParameterValues } from './templates.ts'

/** The largest plain request input read (the router passes any bytes; a template's parameters are far smaller). */
export const MAX_ORACLE_INPUT_BYTES = 64 * 1024

/** The parameter values of a plain request's input (see the module comment). */
export function templateValuesFromInput(
  template: PromptTemplate,
  input: Hex,
  requestId: bigint,
): TemplateParameterValues {
  const fail = (reason: string): never => {
    throw new OracleInputError({ requestId: requestId.toString(), reason })
  }
  const bytes = hexToBytes(input)
  if (bytes.length > MAX_ORACLE_INPUT_BYTES)
    fail(`its input has ${bytes.length} bytes, more than ${MAX_ORACLE_INPUT_BYTES}`)
  let text = ''
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    fail('its input is not UTF-8 text')
  }
  if (text.trimStart().startsWith('{')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      return fail('its input starts like JSON but is not JSON')
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return fail('its JSON input is not an object')
    const values: Record<string, string | number> = {}
    for (const [name, value] of Object.entries(parsed)) {
      if (typeof value !== 'string' && typeof value !== 'number')
        fail(`its parameter "${name}" is neither text nor a number`)
      values[name] = value as string | number
    }
    return values
  }
  return {
    [singleTextParameter(template, () =>
      fail('its input is plain text, and the template has not exactly one required text parameter to take it'),
    )]: text,
  }
}

/** The name of the template's only required string parameter (what a headline or plain text input fills). */
export function singleTextParameter(template: PromptTemplate, otherwise: () => never): string {
  const required = template.parameters.filter((p) => p.required !== false)
  const [only] = required
  if (required.length !== 1 || only === undefined || only.type !== 'string') return otherwise()
  return only.name
}

/** Whether a template's answers are numbers a median can be taken of (integer or enum outputs). */
export function answersOnChain(template: PromptTemplate): boolean {
  return template.output.type === 'integer' || template.output.type === 'enum'
}

/** The int256 a validated output is committed as (see the module comment), or null for outputs without one. */
export function chainValueOf(
  template: PromptTemplate,
  output: TemplateOutput,
  values: TemplateParameterValues = {},
): bigint | null {
  if (output.type === 'integer') return BigInt(output.value)
  if (output.type === 'enum') {
    const index = enumValues(template, values).indexOf(output.value)
    return index < 0 ? null : BigInt(index)
  }
  return null
}

/** The mean of `scores` rounded to the nearest integer, halves away from zero; null for no scores. */
export function roundValue(scores: readonly bigint[]): bigint | null {
  if (scores.length === 0) return null
  const n = BigInt(scores.length)
  const sum = scores.reduce((a, b) => a + b, 0n)
  const magnitude = sum < 0n ? -sum : sum
  // round(|sum| / n) with halves up, then the sign back: halves go away from zero.
  const rounded = (2n * magnitude + n) / (2n * n)
  return sum < 0n ? -rounded : rounded
}

/** The median OracleRouter delivers: the middle value, or the mean of the two middle values rounded toward zero (Solidity's `/`). */
export function medianOf(values: readonly bigint[]): bigint | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const mid = Math.floor(sorted.length / 2)
  if (sorted.length % 2 === 1) return sorted[mid] as bigint
  return ((sorted[mid - 1] as bigint) + (sorted[mid] as bigint)) / 2n
}
