/**
 * Errors of running a server node (`npm run node`): its command line, its key and state files, its operations
 * endpoints (`/metrics`, GraphQL) and its console. Each says what to do about it.
 */
import { BaseError, registerErrorClass } from './base.ts'

/** A command-line option has a value the server node cannot use; it does not start. */
export class NodeOptionError extends BaseError {
  override name = 'NodeOptionError' as const
  constructor({ option, expected, value }: { option: string; expected: string; value?: string }) {
    super(
      `${option} must be ${expected}${value === undefined ? '' : `, got ${JSON.stringify(value)}`}. Run \`npm run node -- --help\` for the options.`,
      { data: { option, expected } },
    )
  }
  get option(): string {
    return this.data?.['option'] as string
  }
}
registerErrorClass('NodeOptionError', NodeOptionError)

/** A key or token file is missing, malformed, or readable by others than its owner. */
export class SecretFileError extends BaseError {
  override name = 'SecretFileError' as const
  constructor({
    path,
    reason,
    details,
  }: {
    path: string
    reason: 'malformed' | 'permissions' | 'missing'
    details?: string
  }) {
    const what =
      reason === 'permissions'
        ? `${path} is readable by others: it holds a key. Run \`chmod 600 ${path}\` (and check who could have read it).`
        : reason === 'missing'
          ? `${path} does not exist. Create it (mode 0600) or leave the option out.`
          : `${path} does not hold what it should. Move it away to create a new one, or fix it.`
    super(what, { details, data: { path, reason } })
  }
  get reason(): 'malformed' | 'permissions' | 'missing' {
    return this.data?.['reason'] as 'malformed' | 'permissions' | 'missing'
  }
}
registerErrorClass('SecretFileError', SecretFileError)

/** A metric or label name, or a histogram's buckets, that Prometheus' text format cannot carry (a programming error). */
export class MetricFormatError extends BaseError {
  override name = 'MetricFormatError' as const
  constructor(details: string) {
    super('A metric cannot be written in the Prometheus text format.', { details })
  }
}
registerErrorClass('MetricFormatError', MetricFormatError)

/** The console could not talk to a running node, or the node refused the command. */
export class NodeConsoleError extends BaseError {
  override name = 'NodeConsoleError' as const
  constructor({
    reason,
    details,
    cause,
  }: {
    reason: 'not-running' | 'unauthorized' | 'unknown-command' | 'failed' | 'protocol'
    details?: string
    cause?: unknown
  }) {
    const what = {
      'not-running':
        'No server node answers on the console socket. Start one with `npm run node -- --model FILE.gguf …`, and pass the same --state-dir to the console.',
      unauthorized:
        "The node refused the console's token. Run the console with the same --state-dir as the node (it reads ops.token there).",
      'unknown-command': 'Unknown console command. Use one of: status, drain, redeem, withdraw, anchor.',
      failed: 'The node could not carry out the command.',
      protocol: 'The console and the node do not understand each other (a different version?).',
    }[reason]
    super(what, { details, data: { reason }, cause })
  }
  get reason(): string {
    return this.data?.['reason'] as string
  }
}
registerErrorClass('NodeConsoleError', NodeConsoleError)
