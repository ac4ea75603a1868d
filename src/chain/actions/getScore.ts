/** Reads the SentimentConsumer's latest score of an asset (null before the first). */
import { keccak256, toHex, type Address, type Client } from 'viem'
import { readContract } from 'viem/actions'
import { sentimentConsumerAbi } from '../generated.ts'

export type GetScoreParameters = { consumer: Address; asset: string }
export type GetScoreReturnType = { value: bigint; updatedAt: bigint; requestId: bigint } | null

export async function getScore(client: Client, { consumer, asset }: GetScoreParameters): Promise<GetScoreReturnType> {
  const score = await readContract(client, {
    address: consumer,
    abi: sentimentConsumerAbi,
    functionName: 'scoreOf',
    args: [keccak256(toHex(asset))],
  })
  return score.requestId === 0n ? null : { value: score.value, updatedAt: score.updatedAt, requestId: score.requestId }
}
