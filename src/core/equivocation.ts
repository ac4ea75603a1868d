/**
 * Equivocation: one node signer, one deterministic request on one model, two different outputs. Receipts say
 * `deterministic` only when their node promised reproducible output (see `receiptIsDeterministic`), so two such
 * receipts that disagree prove the node lied in one of them, and `ReceiptAnchor.proveEquivocation` slashes its stake.
 * This module finds such pairs among signed receipts with the contract's own rules (same signer, request hash and
 * model hash; both deterministic; different output hashes; both signatures valid), so evidence it returns is
 * evidence the contract accepts. It also keeps a bounded watch over receipts as they arrive. No I/O.
 */
import { recoverTypedDataAddress, type Address, type Hex } from 'viem'
import { decodeSignedReceipt, encodeSignedReceipt, type SignedReceipt } from './payment.ts'
import { receiptTypedData, type Receipt, type TypedDataDomainParameters } from './receipt.ts'
import { canonicalSignature } from './signature.ts'
import type { JsonValue } from './errors/base.ts'
import { InvalidReceiptError } from './errors/payments.ts'
import { object, only } from './wire/check.ts'

/** Two receipts from one signer for one deterministic request and model, with different outputs: slashable. */
export type Equivocation = { signer: Address; requestHash: Hex; modelHash: Hex; a: SignedReceipt; b: SignedReceipt }

/** What two receipts must share to be compared: the contract keys a proven equivocation the same way. */
export function equivocationKey(receipt: Pick<Receipt, 'nodeSigner' | 'requestHash' | 'modelHash'>): string {
  return `${receipt.nodeSigner}:${receipt.requestHash}:${receipt.modelHash}`.toLowerCase()
}

/** Whether two receipts contradict each other by their fields alone (signatures not checked). */
export function contradicts(a: Receipt, b: Receipt): boolean {
  return (
    equivocationKey(a) === equivocationKey(b) &&
    a.deterministic &&
    b.deterministic &&
    a.outputHash.toLowerCase() !== b.outputHash.toLowerCase()
  )
}

/** Whether the receipt's signature, in the ReceiptAnchor domain `domain`, recovers to its own `nodeSigner`. */
export async function signedByItsSigner(
  signed: Pick<SignedReceipt, 'receipt' | 'signature'>,
  domain: TypedDataDomainParameters,
): Promise<boolean> {
  try {
    const recovered = await recoverTypedDataAddress({
      ...receiptTypedData(signed.receipt, domain),
      signature: canonicalSignature(signed.signature),
    })
    return recovered.toLowerCase() === signed.receipt.nodeSigner.toLowerCase()
  } catch {
    return false
  }
}

/** The equivocation `a` and `b` prove, or null when they prove none (same output, not deterministic, unsigned...). */
export async function findEquivocation(
  a: SignedReceipt,
  b: SignedReceipt,
  domain: TypedDataDomainParameters,
): Promise<Equivocation | null> {
  if (!contradicts(a.receipt, b.receipt)) return null
  if (!(await signedByItsSigner(a, domain)) || !(await signedByItsSigner(b, domain))) return null
  return {
    signer: a.receipt.nodeSigner,
    requestHash: a.receipt.requestHash,
    modelHash: a.receipt.modelHash,
    a: canonical(a),
    b: canonical(b),
  }
}

/** Every equivocation among `receipts`, one per signer, request and model (the contract slashes each once). */
export async function findEquivocations(
  receipts: readonly SignedReceipt[],
  domain: TypedDataDomainParameters,
): Promise<Equivocation[]> {
  const watch = createEquivocationWatch({ domain, maxKeys: receipts.length + 1 })
  const found: Equivocation[] = []
  for (const signed of receipts) {
    const evidence = await watch.add(signed)
    if (evidence) found.push(evidence)
  }
  return found
}

export const EQUIVOCATION_WATCH_DEFAULTS = {
  /** Signer+request+model groups remembered; the oldest group is forgotten first. */
  maxKeys: 10_000,
  /** Distinct outputs kept per group (one would do to catch the next; a few tolerate junk that later fails). */
  perKey: 2,
} as const

export type EquivocationWatch = {
  /**
   * Remembers a deterministic, validly signed receipt and returns the equivocation it completes with one seen
   * before (once per group), or null. Receipts that are not deterministic or not signed by their signer are ignored;
   * `verified`: the caller already checked the signature (a receipt it accepted), so it is not recovered again.
   */
  add(signed: SignedReceipt, options?: { verified?: boolean }): Promise<Equivocation | null>
  /** Groups remembered. */
  readonly size: number
}

/** A bounded memory of deterministic receipts by signer, request and model, that reports the first contradiction. */
export function createEquivocationWatch({
  domain,
  maxKeys = EQUIVOCATION_WATCH_DEFAULTS.maxKeys,
  perKey = EQUIVOCATION_WATCH_DEFAULTS.perKey,
}: {
  domain: TypedDataDomainParameters
  maxKeys?: number
  perKey?: number
}): EquivocationWatch {
  const groups = new Map<string, { receipts: SignedReceipt[]; reported: boolean }>()
  return {
    async add(signed, { verified = false } = {}) {
      if (!signed.receipt.deterministic) return null
      const key = equivocationKey(signed.receipt)
      const group = groups.get(key)
      if (group?.reported) return null
      const output = signed.receipt.outputHash.toLowerCase()
      const other = group?.receipts.find((r) => r.receipt.outputHash.toLowerCase() !== output)
      if (group?.receipts.some((r) => r.receipt.outputHash.toLowerCase() === output) && !other) return null
      if (!verified && !(await signedByItsSigner(signed, domain))) return null
      // Checked again: another add may have run while the signature was recovered.
      const current = groups.get(key) ?? { receipts: [], reported: false }
      if (current.reported) return null
      const contradicting = current.receipts.find((r) => r.receipt.outputHash.toLowerCase() !== output)
      if (contradicting) {
        current.reported = true
        groups.set(key, current)
        return {
          signer: signed.receipt.nodeSigner,
          requestHash: signed.receipt.requestHash,
          modelHash: signed.receipt.modelHash,
          a: canonical(contradicting),
          b: canonical(signed),
        }
      }
      if (
        !current.receipts.some((r) => r.receipt.outputHash.toLowerCase() === output) &&
        current.receipts.length < perKey
      )
        current.receipts.push(signed)
      groups.delete(key)
      groups.set(key, current)
      while (groups.size > maxKeys) groups.delete(groups.keys().next().value as string)
      return null
    },
    get size() {
      return groups.size
    },
  }
}

function canonical(signed: SignedReceipt): SignedReceipt {
  return { ...signed, signature: canonicalSignature(signed.signature) }
}

/** Evidence as JSON (for storage and for handing to another peer): both signed receipts in their wire form. */
export function encodeEquivocation(evidence: Equivocation): JsonValue {
  return { a: encodeSignedReceipt(evidence.a), b: encodeSignedReceipt(evidence.b) }
}

/** Decodes evidence and refuses anything the contract would (by fields; signatures are checked by `findEquivocation`). */
export function decodeEquivocation(value: unknown): Equivocation {
  const fields = object(value, 'equivocation')
  only(fields, 'equivocation', ['a', 'b'])
  const a = decodeSignedReceipt(fields['a'])
  const b = decodeSignedReceipt(fields['b'])
  if (!contradicts(a.receipt, b.receipt))
    throw new InvalidReceiptError({ reason: 'fields', details: 'the two receipts do not contradict each other' })
  return { signer: a.receipt.nodeSigner, requestHash: a.receipt.requestHash, modelHash: a.receipt.modelHash, a, b }
}
