/**
 * What happened on an OracleRouter in a block range, for a node that watches it from the last block it saw (so it
 * also catches up after downtime): the requests made (`OracleRequested`, rounds of subscriptions included) and the
 * subscriptions created (`SubscriptionCreated`), optionally only for some templates (the event indexes the template).
 */
import type { Address, Client, Hex } from 'viem'
import { getBlockNumber, getContractEvents } from 'viem/actions'
import { oracleRouterAbi } from '../generated.ts'

export type GetOracleActivityParameters = {
  router: Address
  fromBlock: bigint
  toBlock?: bigint
  templateHashes?: readonly Hex[]
}
export type OracleRequestedEvent = {
  requestId: bigint
  requester: Address
  templateHash: Hex
  modelHash: Hex
  input: Hex
  fee: bigint
  k: number
  commitDeadline: bigint
  revealDeadline: bigint
  blockNumber: bigint
}
export type SubscriptionCreatedEvent = {
  subscriptionId: bigint
  owner: Address
  templateHash: Hex
  datasetHash: Hex
  blockNumber: bigint
}
export type GetOracleActivityReturnType = {
  requests: OracleRequestedEvent[]
  subscriptions: SubscriptionCreatedEvent[]
  toBlock: bigint
}

export async function getOracleActivity(
  client: Client,
  { router, fromBlock, toBlock, templateHashes }: GetOracleActivityParameters,
): Promise<GetOracleActivityReturnType> {
  const to = toBlock ?? (await getBlockNumber(client, { cacheTime: 0 }))
  if (fromBlock > to) return { requests: [], subscriptions: [], toBlock: to }
  const args = templateHashes && templateHashes.length > 0 ? { templateHash: [...templateHashes] } : undefined
  const [requested, created] = await Promise.all([
    getContractEvents(client, {
      address: router,
      abi: oracleRouterAbi,
      eventName: 'OracleRequested',
      ...(args ? { args } : {}),
      fromBlock,
      toBlock: to,
      strict: true,
    }),
    getContractEvents(client, {
      address: router,
      abi: oracleRouterAbi,
      eventName: 'SubscriptionCreated',
      ...(args ? { args } : {}),
      fromBlock,
      toBlock: to,
      strict: true,
    }),
  ])
  return {
    requests: requested.map(({ args: a, blockNumber }) => ({
      requestId: a.requestId,
      requester: a.requester,
      templateHash: a.templateHash,
      modelHash: a.modelHash,
      input: a.input,
      fee: a.fee,
      k: a.k,
      commitDeadline: a.commitDeadline,
      revealDeadline: a.revealDeadline,
      blockNumber,
    })),
    subscriptions: created.map(({ args: a, blockNumber }) => ({
      subscriptionId: a.subscriptionId,
      owner: a.owner,
      templateHash: a.templateHash,
      datasetHash: a.params.datasetHash,
      blockNumber,
    })),
    toBlock: to,
  }
}
