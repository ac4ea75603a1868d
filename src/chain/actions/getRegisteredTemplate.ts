/**
 * A template registered on an OracleRouter, read back from its `TemplateRegistered` event (the event carries the
 * text; the router keeps only the hash and model): parsed strictly as a prompt template and checked against its hash.
 * Null when the hash was never registered or its text is not a prompt template (an older free-text registration).
 */
import { keccak256, toHex, type Address, type Client, type Hex } from 'viem'
import { getContractEvents } from 'viem/actions'
import { parseTemplate, templateId, type PromptTemplate } from '../../core/templates.ts'
import { oracleRouterAbi } from '../generated.ts'

export type GetRegisteredTemplateParameters = { router: Address; templateHash: Hex; fromBlock?: bigint }
export type GetRegisteredTemplateReturnType = { template: PromptTemplate; modelHash: Hex } | null

export async function getRegisteredTemplate(
  client: Client,
  { router, templateHash, fromBlock = 0n }: GetRegisteredTemplateParameters,
): Promise<GetRegisteredTemplateReturnType> {
  const logs = await getContractEvents(client, {
    address: router,
    abi: oracleRouterAbi,
    eventName: 'TemplateRegistered',
    args: { templateHash },
    fromBlock,
    strict: true,
  })
  for (const { args } of logs) {
    if (keccak256(toHex(args.template)) !== templateHash.toLowerCase()) continue
    let template: PromptTemplate
    try {
      template = parseTemplate(JSON.parse(args.template))
    } catch {
      return null
    }
    if (templateId(template) !== templateHash.toLowerCase()) return null
    return { template, modelHash: args.modelHash }
  }
  return null
}
