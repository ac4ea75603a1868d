/**
 * Errors of the dashboards' history (`src/core/history.ts`): a time range it cannot be cut into buckets, and a
 * stored or received record that is not what a history record must be.
 */
import { BaseError, registerErrorClass } from './base.ts'

/** A time range or bucket size the history cannot be read with (from after to, not whole ms, too many buckets). */
export class HistoryRangeError extends BaseError {
  override name = 'HistoryRangeError' as const
  constructor({ reason }: { reason: string }) {
    super(`The history cannot be read over this time range: ${reason}.`, { data: { reason } })
  }
  get reason(): string {
    return this.data?.['reason'] as string
  }
}
registerErrorClass('HistoryRangeError', HistoryRangeError)

/** A history record (read back from storage, or received) has a field that is missing or of the wrong kind. */
export class InvalidHistoryRecordError extends BaseError {
  override name = 'InvalidHistoryRecordError' as const
  constructor({ field, reason }: { field: string; reason: string }) {
    super(`A history record is not valid: ${field} is ${reason}. It is left out.`, { data: { field, reason } })
  }
  get field(): string {
    return this.data?.['field'] as string
  }
}
registerErrorClass('InvalidHistoryRecordError', InvalidHistoryRecordError)
