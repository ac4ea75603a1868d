/**
 * The consumer's watch for equivocation: every receipt it accepts (and every receipt a verifier hands it) goes into
 * a bounded `EquivocationWatch`; two deterministic receipts of one node signer for one request and model with
 * different outputs are proven on-chain from the consumer's wallet (`proveEquivocation`), which slashes the node's
 * operator and rewards the consumer. Evidence is stored before it is submitted, so a failed submission (chain down)
 * is retried later and survives a restart; one already proven by someone else is kept with the proof that won.
 */
import type { Address, Hash, Hex } from 'viem'
import { proveEquivocation } from '../chain/actions/proveEquivocation.ts'
import type { WalletClient } from '../chain/actions/internal.ts'
import {
  createEquivocationWatch,
  decodeEquivocation,
  encodeEquivocation,
  equivocationKey,
  signedByItsSigner,
  type Equivocation,
} from '../core/equivocation.ts'
import type { JsonValue } from '../core/errors/base.ts'
import { ContractRevertedError, EquivocationProofError } from '../core/errors/chain.ts'
import { keyedQueue } from '../core/keyed-queue.ts'
import { decodeSignedReceipt, encodeSignedReceipt, type SignedReceipt } from '../core/payment.ts'
import type { TypedDataDomainParameters } from '../core/receipt.ts'
import type { Document } from '../store/payments.ts'
import { CLIENT_DEFAULTS } from './constants.ts'

/** A node slashed on the consumer's proof. */
export type SlashReport = {
  operator: Address
  signer: Address
  requestHash: Hex
  modelHash: Hex
  slashed: bigint
  reward: bigint
  transactionHash: Hash
}

/** Evidence held by the consumer and what became of it. */
export type EquivocationRecord = {
  evidence: Equivocation
  status: 'pending' | 'proven' | 'already-proven' | 'rejected'
  /** The slash, when this consumer proved it. */
  report?: SlashReport
  /** The last submission's error message, while pending or after a refusal. */
  error?: string
  foundAt: number
}

type StoredRecord = {
  evidence: JsonValue
  status: EquivocationRecord['status']
  report?: SlashReport
  error?: string
  foundAt: number
}
export const EQUIVOCATION_STATE_KEY = 'consumer-equivocations-v1'

/** Persisted: the receipts verifiers reported (own receipts are in the consumer's payment state) and the evidence. */
export type EquivocationState = { reported: JsonValue[]; records: StoredRecord[] }

export type EquivocationGuardComponents = {
  wallet: WalletClient
  document: Document<EquivocationState>
}

export type EquivocationGuardInit = {
  anchor: Address
  chainId: number
  onSlash?: ((report: SlashReport) => void) | undefined
  now?: () => number
}

export type EquivocationGuard = {
  /** Loads the stored evidence and reported receipts, and looks through `own` (the consumer's accepted receipts). */
  start(own: readonly SignedReceipt[]): Promise<void>
  /** A receipt this consumer accepted (its signature verified): watched; a contradiction is proven in the background. */
  observe(signed: SignedReceipt): void
  /** A receipt from a verifier: kept, watched, and a contradiction proven before this resolves. */
  report(signed: SignedReceipt): Promise<SlashReport | null>
  /** Submits every pending piece of evidence again; resolves with the slashes that went through. */
  retry(): Promise<SlashReport[]>
  records(): EquivocationRecord[]
  /** Waits for submissions in flight. */
  settle(): Promise<void>
}

export function createEquivocationGuard(
  { wallet, document }: EquivocationGuardComponents,
  init: EquivocationGuardInit,
): EquivocationGuard {
  const now = init.now ?? Date.now
  const domain: TypedDataDomainParameters = { chainId: init.chainId, verifyingContract: init.anchor }
  const watch = createEquivocationWatch({ domain })
  const alone = keyedQueue()
  const inFlight = new Set<Promise<unknown>>()
  let state: EquivocationState = { reported: [], records: [] }
  const records = new Map<string, EquivocationRecord>()

  const keyOf = (evidence: Equivocation) => equivocationKey(evidence.a.receipt)

  async function save(): Promise<void> {
    state = {
      reported: state.reported,
      records: [...records.values()].map((r) => ({
        evidence: encodeEquivocation(r.evidence),
        status: r.status,
        foundAt: r.foundAt,
        ...(r.report ? { report: r.report } : {}),
        ...(r.error ? { error: r.error } : {}),
      })),
    }
    await document.save(state)
  }

  /** Records new evidence (once per signer, request and model) and proves it. */
  async function found(evidence: Equivocation): Promise<SlashReport | null> {
    const key = keyOf(evidence)
    if (!records.has(key)) {
      records.set(key, { evidence, status: 'pending', foundAt: now() })
      await save()
    }
    return submit(key)
  }

  function submit(key: string): Promise<SlashReport | null> {
    return alone(key, async () => {
      const record = records.get(key)
      if (!record || record.status !== 'pending') return record?.report ?? null
      const { evidence } = record
      try {
        const proven = await proveEquivocation(wallet, { anchor: init.anchor, a: evidence.a, b: evidence.b })
        const report: SlashReport = {
          operator: proven.operator,
          signer: evidence.signer,
          requestHash: evidence.requestHash,
          modelHash: evidence.modelHash,
          slashed: proven.slashed,
          reward: proven.reward,
          transactionHash: proven.transactionHash,
        }
        records.set(key, { evidence, status: 'proven', report, foundAt: record.foundAt })
        await save()
        init.onSlash?.(report)
        return report
      } catch (cause) {
        const reverted = cause instanceof ContractRevertedError ? cause : null
        const reason =
          reverted?.errorName === 'AlreadyProven' ? 'already-proven' : reverted ? 'rejected' : 'unreachable'
        const details = cause instanceof Error ? cause.message : String(cause)
        const error = new EquivocationProofError({
          reason,
          signer: evidence.signer,
          requestHash: evidence.requestHash,
          details,
          cause,
        })
        records.set(key, {
          ...record,
          status: reason === 'unreachable' ? 'pending' : reason,
          error: error.shortMessage,
        })
        await save().catch(() => {})
        throw error
      }
    })
  }

  function background(work: Promise<unknown>): void {
    const tracked = work.catch(() => {}).finally(() => inFlight.delete(tracked))
    inFlight.add(tracked)
  }

  async function retry(): Promise<SlashReport[]> {
    const reports: SlashReport[] = []
    for (const [key, record] of records) {
      if (record.status !== 'pending') continue
      const report = await submit(key).catch(() => null)
      if (report) reports.push(report)
    }
    return reports
  }

  return {
    async start(own) {
      state = await document.load()
      state.reported ??= []
      state.records ??= []
      for (const stored of state.records) {
        try {
          const evidence = decodeEquivocation(stored.evidence)
          records.set(keyOf(evidence), {
            evidence,
            status: stored.status,
            foundAt: stored.foundAt,
            ...(stored.report ? { report: stored.report } : {}),
            ...(stored.error ? { error: stored.error } : {}),
          })
        } catch {
          // Evidence stored by an older version that no longer decodes proves nothing now.
        }
      }
      for (const wire of state.reported) {
        try {
          await watch.add(decodeSignedReceipt(wire))
        } catch {
          // A stored receipt that no longer decodes is dropped from the watch.
        }
      }
      for (const signed of own.slice(-CLIENT_DEFAULTS.maxWatchedReceipts)) {
        const evidence = await watch.add(signed, { verified: true })
        if (evidence) background(found(evidence))
      }
      if ([...records.values()].some((r) => r.status === 'pending')) background(retry())
    },
    observe(signed) {
      if (!signed.receipt.deterministic) return
      background(watch.add(signed, { verified: true }).then((evidence) => (evidence ? found(evidence) : null)))
    },
    async report(signed) {
      if (!signed.receipt.deterministic || !(await signedByItsSigner(signed, domain))) return null
      state.reported = [...state.reported, encodeSignedReceipt(signed)].slice(-CLIENT_DEFAULTS.maxReportedReceipts)
      await save()
      const evidence = await watch.add(signed)
      if (evidence) return found(evidence)
      // A contradiction already known: its slash, or another try at submitting it while it is pending.
      const key = equivocationKey(signed.receipt)
      const known = records.get(key)
      if (!known) return null
      return known.status === 'pending' ? submit(key) : (known.report ?? null)
    },
    retry,
    records: () => [...records.values()],
    async settle() {
      while (inFlight.size > 0) await Promise.all([...inFlight])
    },
  }
}
