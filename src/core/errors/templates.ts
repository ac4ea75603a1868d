/**
 * Errors of the prompt library: a template that breaks the format or its limits, parameters that do not fit a
 * template's schema, and a model output that does not satisfy the template's output constraint. None of them is
 * ever turned into a default value: the caller sees which field or which output was wrong.
 */
import { BaseError, registerErrorClass } from './base.ts'

/** A template (JSON or typed data) breaks the template format or one of its limits; `path` names the field. */
export class InvalidTemplateError extends BaseError {
  override name = 'InvalidTemplateError' as const
  constructor({ path, reason }: { path: string; reason: string }, cause?: unknown) {
    super(`The prompt template is not valid at ${path}: ${reason}. Fix the template and try again.`, {
      data: { path, reason },
      cause,
    })
  }
  get path(): string {
    return this.data?.['path'] as string
  }
  get reason(): string {
    return this.data?.['reason'] as string
  }
}
registerErrorClass('InvalidTemplateError', InvalidTemplateError)

/** A parameter value does not fit the template's schema (missing, unknown, wrong type, out of its limits). */
export class TemplateParameterError extends BaseError {
  override name = 'TemplateParameterError' as const
  constructor({ parameter, reason }: { parameter: string; reason: string }) {
    super(`Parameter "${parameter}" ${reason}.`, { data: { parameter, reason } })
  }
  get parameter(): string {
    return this.data?.['parameter'] as string
  }
  get reason(): string {
    return this.data?.['reason'] as string
  }
}
registerErrorClass('TemplateParameterError', TemplateParameterError)

/**
 * A model's output does not satisfy the template's output constraint (not one of the labels, out of range, not
 * JSON of the schema, cut short by the token limit). `output` holds the start of what the model said.
 */
export class OutputConstraintError extends BaseError {
  override name = 'OutputConstraintError' as const
  constructor({ constraint, reason, output }: { constraint: string; reason: string; output: string }) {
    super(`The output does not satisfy the template's ${constraint} constraint: ${reason}.`, {
      details: `The output began: ${JSON.stringify(output.slice(0, 200))}`,
      data: { constraint, reason, output: output.slice(0, 200) },
    })
  }
  get constraint(): string {
    return this.data?.['constraint'] as string
  }
  get reason(): string {
    return this.data?.['reason'] as string
  }
  get output(): string {
    return this.data?.['output'] as string
  }
}
registerErrorClass('OutputConstraintError', OutputConstraintError)

/**
 * A peer answered a request for a template by hash with a template of another hash: it is refused whole (a
 * tampered or wrong template is never used, not even for display).
 */
export class TemplateHashMismatchError extends BaseError {
  override name = 'TemplateHashMismatchError' as const
  constructor({ requested, received, peer }: { requested: string; received: string; peer: string }) {
    super(
      `Peer ${peer} sent a template whose hash ${received} is not the requested ${requested}; it was refused. Ask another peer.`,
      { data: { requested, received, peer } },
    )
  }
  get requested(): string {
    return this.data?.['requested'] as string
  }
  get received(): string {
    return this.data?.['received'] as string
  }
}
registerErrorClass('TemplateHashMismatchError', TemplateHashMismatchError)
