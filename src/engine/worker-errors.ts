/**
 * Keeps errors whole across comlink's worker boundary. Comlink's own `throw` handler sends only message, name
 * and stack, so the main thread would lose the class, details, data and cause. Both sides of every worker call
 * `installErrorTransfer()`; the receiving side rebuilds registered classes (see `registerErrorClass`).
 */
import { transferHandlers, type TransferHandler } from 'comlink'
import { deserializeError, serializeError, type SerializedError } from '../core/errors/index.ts'

type ThrownValue = { value: unknown }
type SerializedThrow = { isError: true; value: SerializedError } | { isError: false; value: unknown }

let installed = false

export function installErrorTransfer(): void {
  if (installed) return
  const original = transferHandlers.get('throw') as TransferHandler<ThrownValue, SerializedThrow> | undefined
  if (!original) throw new Error('comlink has no "throw" transfer handler to replace; is this comlink 4?')
  const handler: TransferHandler<ThrownValue, SerializedThrow> = {
    canHandle: (value): value is ThrownValue => original.canHandle(value),
    serialize: ({ value }) => [
      value instanceof Error ? { isError: true, value: serializeError(value) } : { isError: false, value },
      [],
    ],
    deserialize: (serialized) => {
      throw serialized.isError ? deserializeError(serialized.value) : serialized.value
    },
  }
  transferHandlers.set('throw', handler)
  installed = true
}
