/** Errors of the contracts and of the off-chain hashing that must agree with them. */
import { BaseError, registerErrorClass } from './base.ts'

/** A value given to receipt, voucher or Merkle code that the contracts could not represent or would reject. */
export class InvalidChainValueError extends BaseError {
  override name = 'InvalidChainValueError' as const

  constructor({ field, reason }: { field: string; reason: string }) {
    super(`Invalid ${field}: ${reason}.`, { data: { field, reason } })
  }

  get field(): string {
    return this.data?.['field'] as string
  }
}
registerErrorClass('InvalidChainValueError', InvalidChainValueError)

/** Asked for a Merkle proof of a leaf the tree does not hold. */
export class MerkleLeafNotFoundError extends BaseError {
  override name = 'MerkleLeafNotFoundError' as const

  constructor({ leaf }: { leaf: string }) {
    super('The Merkle tree does not contain this leaf; build the proof from the tree that was anchored.', {
      data: { leaf },
    })
  }

  get leaf(): string {
    return this.data?.['leaf'] as string
  }
}
registerErrorClass('MerkleLeafNotFoundError', MerkleLeafNotFoundError)

/**
 * A contract call reverted with one of the contracts' custom errors (declared in their interfaces). `errorName` is
 * the Solidity error's name, e.g. `StaleVoucher`; `args` its arguments as strings (bigints do not survive JSON).
 */
export class ContractRevertedError extends BaseError {
  override name = 'ContractRevertedError' as const

  constructor({
    contract,
    functionName,
    errorName,
    args,
    cause,
  }: {
    contract: string
    functionName: string
    errorName: string
    args: readonly string[]
    cause?: unknown
  }) {
    super(`${contract}.${functionName} reverted with ${errorName}(${args.join(', ')}).`, {
      data: { contract, functionName, errorName, args: [...args] },
      cause,
    })
  }

  get errorName(): string {
    return this.data?.['errorName'] as string
  }

  get args(): readonly string[] {
    return this.data?.['args'] as readonly string[]
  }
}
registerErrorClass('ContractRevertedError', ContractRevertedError)

/** Building the Foundry project failed (`forge build`). */
export class ContractsBuildError extends BaseError {
  override name = 'ContractsBuildError' as const

  constructor({ output, cause }: { output: string; cause?: unknown }) {
    super('Building the contracts failed. Run `cd contracts && npx forge build` to see the compiler output.', {
      details: output.slice(-4000),
      cause,
    })
  }
}
registerErrorClass('ContractsBuildError', ContractsBuildError)

/** Deploying or wiring the contracts failed. */
export class DeploymentFailedError extends BaseError {
  override name = 'DeploymentFailedError' as const

  constructor({ step, cause }: { step: string; cause?: unknown }) {
    super(`Deploying the contracts failed at: ${step}. Is the chain running and the deployer funded?`, {
      data: { step },
      cause,
    })
  }

  get step(): string {
    return this.data?.['step'] as string
  }
}
registerErrorClass('DeploymentFailedError', DeploymentFailedError)

/**
 * Submitting an equivocation proof failed. `reason`: `already-proven` (someone proved this one first: nothing to
 * retry), `rejected` (the contract refused the evidence, e.g. an unknown signer), `unreachable` (the chain or wallet
 * could not be reached: the evidence is kept and retried).
 */
export class EquivocationProofError extends BaseError {
  override name = 'EquivocationProofError' as const

  constructor({
    reason,
    signer,
    requestHash,
    details,
    cause,
  }: {
    reason: 'already-proven' | 'rejected' | 'unreachable'
    signer: string
    requestHash: string
    details?: string
    cause?: unknown
  }) {
    const what = {
      'already-proven': 'it was already proven',
      rejected: 'the contract refused the evidence',
      unreachable:
        'the chain could not be reached; the evidence is kept and will be submitted again (client.retryEquivocations())',
    }[reason]
    super(`Could not prove that node signer ${signer} equivocated on request ${requestHash}: ${what}.`, {
      data: { reason, signer, requestHash },
      details,
      cause,
    })
  }

  get reason(): 'already-proven' | 'rejected' | 'unreachable' {
    return this.data?.['reason'] as 'already-proven' | 'rejected' | 'unreachable'
  }

  get signer(): string {
    return this.data?.['signer'] as string
  }

  get requestHash(): string {
    return this.data?.['requestHash'] as string
  }
}
registerErrorClass('EquivocationProofError', EquivocationProofError)
