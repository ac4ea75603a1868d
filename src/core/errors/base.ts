/**
 * The one error base of Modelex. Every error we throw on purpose is a `BaseError` subclass with a stable `name`
 * that callers match on (never on `instanceof` alone: errors cross worker and network boundaries), a short
 * message that says what to do, optional details, optional structured `data`, and an optional `cause`.
 *
 * Subclasses keep their own facts in `data` (read back through getters), so they survive serialization.
 *
 * @example
 * throw new WebGpuUnavailableError({ reason: 'no-adapter', details: 'requestAdapter() returned null' })
 */

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [k: string]: JsonValue }

export type BaseErrorParameters = {
  /** Extra text for people: what was seen, what to try. */
  details?: string | undefined
  /** Structured facts for programs (a status code, a retry delay); must survive `structuredClone` and JSON. */
  data?: Readonly<Record<string, JsonValue>> | undefined
  cause?: unknown
}

export class BaseError extends Error {
  override name: string = 'BaseError'
  readonly shortMessage: string
  readonly details: string | undefined
  readonly data: Readonly<Record<string, JsonValue>> | undefined

  constructor(shortMessage: string, parameters: BaseErrorParameters = {}) {
    super(
      composeMessage(shortMessage, parameters.details),
      parameters.cause === undefined ? undefined : { cause: parameters.cause },
    )
    this.shortMessage = shortMessage
    this.details = parameters.details
    this.data = parameters.data
  }

  /**
   * Walks the cause chain and returns the first error for which `predicate` holds, or, without a predicate,
   * the deepest cause.
   */
  walk(predicate?: (error: unknown) => boolean): unknown {
    return walkCauses(this, predicate)
  }
}

export function composeMessage(shortMessage: string, details: string | undefined): string {
  return details ? `${shortMessage}\n\nDetails: ${details}` : shortMessage
}

export function walkCauses(error: unknown, predicate?: (error: unknown) => boolean): unknown {
  let current: unknown = error
  const seen = new Set<unknown>()
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current)
    if (predicate?.(current)) return current
    const next = (current as { cause?: unknown }).cause
    if (next === undefined || next === null) return predicate ? null : current
    current = next
  }
  return predicate ? null : current
}

/** An error as plain data: what crosses a worker boundary or a wire. */
export type SerializedError = {
  name: string
  message: string
  shortMessage?: string
  details?: string
  data?: Readonly<Record<string, JsonValue>>
  stack?: string
  cause?: SerializedError
}

type ErrorClass = abstract new (...args: never[]) => Error

const registry = new Map<string, ErrorClass>()

/**
 * Makes `deserializeError` rebuild errors named `name` as instances of `errorClass`. Each error domain file
 * registers its classes when it is imported, so importing the domain on both sides of a boundary is enough.
 */
export function registerErrorClass(name: string, errorClass: ErrorClass): void {
  const known = registry.get(name)
  if (known && known !== errorClass) throw new Error(`Two error classes are registered as "${name}".`)
  registry.set(name, errorClass)
}

registerErrorClass('BaseError', BaseError)
for (const native of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]) {
  registerErrorClass(native.name, native)
}

const MAX_CAUSE_DEPTH = 16

export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) {
    return { name: 'NonError', message: describeNonError(error) }
  }
  const serialized: SerializedError = { name: error.name, message: error.message }
  if (error.stack !== undefined) serialized.stack = error.stack
  if (error instanceof BaseError) {
    serialized.shortMessage = error.shortMessage
    if (error.details !== undefined) serialized.details = error.details
    if (error.data !== undefined) serialized.data = error.data
  }
  if (error.cause !== undefined && depth < MAX_CAUSE_DEPTH) serialized.cause = serializeError(error.cause, depth + 1)
  return serialized
}

export function deserializeError(serialized: SerializedError): Error {
  const errorClass = registry.get(serialized.name)
  const prototype = errorClass ? (errorClass.prototype as Error) : BaseError.prototype
  const error = Object.create(prototype) as Error & Record<string, unknown>
  // Own properties, as the constructors would have made them; `name` set explicitly so unknown classes keep theirs.
  Object.defineProperties(error, {
    name: {
      value: serialized.name,
      writable: true,
      configurable: true,
      enumerable: prototype instanceof BaseError || prototype === BaseError.prototype,
    },
    message: { value: serialized.message, writable: true, configurable: true },
    stack: {
      value: serialized.stack ?? `${serialized.name}: ${serialized.message}`,
      writable: true,
      configurable: true,
    },
  })
  if (prototype === BaseError.prototype || prototype instanceof BaseError) {
    error['shortMessage'] = serialized.shortMessage ?? serialized.message
    error['details'] = serialized.details
    error['data'] = serialized.data
  }
  if (serialized.cause) {
    Object.defineProperty(error, 'cause', {
      value: deserializeError(serialized.cause),
      writable: true,
      configurable: true,
    })
  }
  return error
}

function describeNonError(value: unknown): string {
  if (typeof value === 'string') return value
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/** What a page or worker hands back across a boundary that cannot carry a thrown error: a value, or the error serialized. */
export type Attempt<T> = { ok: true; value: T } | { ok: false; error: SerializedError }

/** Runs `fn` and returns its value or its serialized error (fixture pages driven from Node answer this way). */
export async function attempt<T>(fn: () => Promise<T>): Promise<Attempt<T>> {
  try {
    return { ok: true, value: await fn() }
  } catch (error) {
    return { ok: false, error: serializeError(error) }
  }
}
