/**
 * Reads a node's anchor of a Merkle root: how many receipts, when (operator zero: that node did not anchor it).
 * Anchors are per operator, so a root anchored by some other node says nothing about this one.
 */
import type { Address, Client, Hex } from 'viem'
import { readContract } from 'viem/actions'
import { receiptAnchorAbi } from '../generated.ts'

/** `operator`: the operator address of the node whose anchor is asked for (not its signer). */
export type GetAnchorParameters = { anchor: Address; operator: Address; root: Hex }
export type GetAnchorReturnType = { anchored: boolean; operator: Address; count: bigint; timestamp: number }

export async function getAnchor(
  client: Client,
  { anchor, operator, root }: GetAnchorParameters,
): Promise<GetAnchorReturnType> {
  const a = await readContract(client, {
    address: anchor,
    abi: receiptAnchorAbi,
    functionName: 'getAnchor',
    args: [operator, root],
  })
  return {
    anchored: a.operator !== '0x0000000000000000000000000000000000000000',
    operator: a.operator,
    count: BigInt(a.count),
    timestamp: Number(a.timestamp),
  }
}
