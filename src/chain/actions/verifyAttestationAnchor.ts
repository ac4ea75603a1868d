/**
 * Asks ReceiptAnchor whether an attestation digest is in a batch root the evaluator anchored: the proof is checked
 * off-chain first (a bad proof costs no RPC call), then on-chain, which also requires that this evaluator anchored it.
 */
import type { Address, Client, Hex } from 'viem'
import { readContract } from 'viem/actions'
import { verifyAttestationProof } from '../../core/attestation.ts'
import { receiptAnchorAbi } from '../generated.ts'

/** `evaluator`: the evaluator's operator address (the attestation's `evaluator`), under which it anchored `root`. */
export type VerifyAttestationAnchorParameters = {
  anchor: Address
  evaluator: Address
  root: Hex
  attestationHash: Hex
  proof: readonly Hex[]
}
export type VerifyAttestationAnchorReturnType = boolean

export async function verifyAttestationAnchor(
  client: Client,
  { anchor, evaluator, root, attestationHash, proof }: VerifyAttestationAnchorParameters,
): Promise<VerifyAttestationAnchorReturnType> {
  if (!verifyAttestationProof(root, attestationHash, proof)) return false
  return readContract(client, {
    address: anchor,
    abi: receiptAnchorAbi,
    functionName: 'verifyReceipt',
    args: [evaluator, root, attestationHash, proof],
  })
}
