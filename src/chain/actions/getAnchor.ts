/** Reads an anchored Merkle root: who anchored it, how many receipts, when (operator zero: not anchored). */
import type { Address, Client, Hex } from 'viem'
import { readContract } from 'viem/actions'
import { receiptAnchorAbi } from '../generated.ts'

export type GetAnchorParameters = { anchor: Address; root: Hex }
export type GetAnchorReturnType = { anchored: boolean; operator: Address; count: bigint; timestamp: number }

export async function getAnchor(client: Client, { anchor, root }: GetAnchorParameters): Promise<GetAnchorReturnType> {
  const a = await readContract(client, { address: anchor, abi: receiptAnchorAbi, functionName: 'getAnchor', args: [root] })
  return { anchored: a.operator !== '0x0000000000000000000000000000000000000000', operator: a.operator, count: BigInt(a.count), timestamp: Number(a.timestamp) }
}
